// Matrix-matrix for prefill on GPUs, tiled in workgroup memory: y[t, n] (+)= sum_k x[t, k] * W[n, k].
// A workgroup of 128 threads computes a tile of 64 output rows (n) x 32 tokens (t). The K axis
// is walked 32 columns at a time: the threads copy the tile's 64 x 32 weights and 32 x 32
// inputs into workgroup memory (reads of consecutive k by consecutive threads), wait at a
// barrier, and each thread accumulates a 4 rows x 4 tokens block from workgroup memory: every
// weight read from memory serves 32 tokens, every input 64 rows. 12 KiB of workgroup memory
// (WebGPU's default limit is 16 KiB). Any T, K, N: values past the edges read as 0 and are not stored.
// The barrier-free matmul.wgsl is the variant for software rasterisers (src/kernels/variants.ts).

#include "matmul_io"

const WG = 128u;
const TILE_N = 64u;
const TILE_T = 32u;
const TILE_K = 32u;

#include "tile_4x4"

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let n_base = wg.x * TILE_N;
  let t_base = wg.y * TILE_T;
  let rg = lid % 16u;   // this thread's rows: n_base + 4rg .. +3
  let tg = lid / 16u;   // its tokens: t_base + 4tg .. +3
  var acc: array<vec4f, 4>;   // acc[i][j]: token 4tg+i, row 4rg+j
  for (var k0 = 0u; k0 < p.K; k0 += TILE_K) {
    // weights: 2048 values, 16 per thread; thread lid takes column lid % 32 of rows lid / 32 + 4i
    for (var i = 0u; i < 16u; i++) {
      let e = lid + i * WG;
      let r = e / TILE_K;
      let kk = e % TILE_K;
      let n = n_base + r;
      let k = k0 + kk;
      var v = 0.0;
      if (n < p.N && k < p.K) { v = w_at(n * p.K + k); }
      ws[kk * 16u + r / 4u][r % 4u] = v;
    }
    // inputs: 1024 values, 8 per thread
    for (var i = 0u; i < 8u; i++) {
      let e = lid + i * WG;
      let t = e / TILE_K;
      let kk = e % TILE_K;
      let tt = t_base + t;
      let k = k0 + kk;
      var v = 0.0;
      if (tt < p.T && k < p.K) { v = x[tt * p.K + k]; }
      xs[kk * 8u + t / 4u][t % 4u] = v;
    }
    tile_accumulate(&acc, rg, tg);
  }
  tile_store(&acc, rg, tg, n_base, p.N, t_base, p.T);
}

// y[t, n]: added to what is there (accumulate) or replacing it
fn store_out(t: u32, n: u32, v: f32) {
  let o = t * p.N + n;
  y[o] = select(0.0, y[o], p.accumulate == 1u) + v;
}
