// The workgroup tile of the *_wg_tiled kernels: 64 weight rows and 32 inputs (tokens, or expert
// assignments) over 32 columns of K, in vec4 groups, so that each thread's block of 4 inputs x 4
// rows reads one vec4 of each per column. 12 KiB of workgroup memory.
var<workgroup> ws: array<vec4f, 512>;   // ws[k * 16 + r]: rows 4r..4r+3 at column k
var<workgroup> xs: array<vec4f, 256>;   // xs[k * 8 + c]: inputs 4c..4c+3 at column k

// Row r's values at columns k..k+3.
fn store_w4(r: u32, k: u32, v: vec4f) {
  ws[k * 16u + r / 4u][r % 4u] = v.x;
  ws[(k + 1u) * 16u + r / 4u][r % 4u] = v.y;
  ws[(k + 2u) * 16u + r / 4u][r % 4u] = v.z;
  ws[(k + 3u) * 16u + r / 4u][r % 4u] = v.w;
}

// Input c's values at columns k..k+3.
fn store_x4(c: u32, k: u32, v: vec4f) {
  xs[k * 8u + c / 4u][c % 4u] = v.x;
  xs[(k + 1u) * 8u + c / 4u][c % 4u] = v.y;
  xs[(k + 2u) * 8u + c / 4u][c % 4u] = v.z;
  xs[(k + 3u) * 8u + c / 4u][c % 4u] = v.w;
}

// acc[i][j] += input 4cg+i x row 4rg+j, summed over the tile's 32 columns: after a barrier (the
// whole workgroup's stores to ws/xs are done) and before another (no thread stores the next
// columns while others still read these). Call it from uniform control flow.
fn tile_accumulate(acc: ptr<function, array<vec4f, 4>>, rg: u32, cg: u32) {
  workgroupBarrier();
  for (var kk = 0u; kk < 32u; kk++) {
    let wv = ws[kk * 16u + rg];
    let xv = xs[kk * 8u + cg];
    (*acc)[0] += xv.x * wv;
    (*acc)[1] += xv.y * wv;
    (*acc)[2] += xv.z * wv;
    (*acc)[3] += xv.w * wv;
  }
  workgroupBarrier();
}

// Hands this thread's block to the kernel's store_out(c, n, acc[i][j]): input c = c_base + 4cg + i
// while c < c_end, row n = n_base + 4rg + j while n < N.
fn tile_store(acc: ptr<function, array<vec4f, 4>>, rg: u32, cg: u32, n_base: u32, N: u32, c_base: u32, c_end: u32) {
  for (var i = 0u; i < 4u; i++) {
    let c = c_base + 4u * cg + i;
    for (var j = 0u; j < 4u; j++) {
      let n = n_base + 4u * rg + j;
      if (c < c_end && n < N) { store_out(c, n, (*acc)[i][j]); }
    }
  }
}
