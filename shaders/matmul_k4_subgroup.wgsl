// matmul_k4.wgsl with the inputs shared through the subgroup: y[t, n] (+)= sum_k x[t, k] * W[n, k].
// The barrier-free 'blocked' variant where the adapter offers subgroups (SwiftShader does): each
// thread keeps 8 tokens x 4 rows in eight vec4 registers and walks K four columns a step. Its 4
// weight rows are its own (4 vec4 loads); the 8 inputs are the same for every thread of the
// workgroup, so each is loaded once per subgroup: lane c (mod 4) loads column 4k + c and all
// lanes take the four by subgroupBroadcast (subgroups have at least 4 lanes). On SwiftShader,
// where each storage load is a per-lane gather, that is 24 loads per 128 multiply-adds instead
// of matmul_k4.wgsl's 32 per 64. Edge blocks clamp their loads and store only what exists.
enable subgroups;

#include "matmul_io"

const WG = 64u;

#include "matmul_store4"

// x[row + 4k .. row + 4k + 3], each lane loading one of the four
fn x4(row: u32, k: u32, c: u32) -> vec4f {
  let v = x[row + 4u * k + c];
  return vec4f(subgroupBroadcast(v, 0u), subgroupBroadcast(v, 1u), subgroupBroadcast(v, 2u), subgroupBroadcast(v, 3u));
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32, @builtin(subgroup_invocation_id) lane: u32) {
  // x: blocks of 4 rows of N; y: blocks of 8 tokens
  let n0 = (wg.x * WG + lid) * 4u;
  let t0 = wg.y * 8u;
  // no early exit: the broadcasts need every lane (threads past N compute on clamped rows)
  let K4 = p.K / 4u;
  let c = lane & 3u;
  let w0 = min(n0, p.N - 1u) * K4;
  let w1 = min(n0 + 1u, p.N - 1u) * K4;
  let w2 = min(n0 + 2u, p.N - 1u) * K4;
  let w3 = min(n0 + 3u, p.N - 1u) * K4;
  let x0 = min(t0, p.T - 1u) * p.K;
  let x1 = min(t0 + 1u, p.T - 1u) * p.K;
  let x2 = min(t0 + 2u, p.T - 1u) * p.K;
  let x3 = min(t0 + 3u, p.T - 1u) * p.K;
  let x4_ = min(t0 + 4u, p.T - 1u) * p.K;
  let x5 = min(t0 + 5u, p.T - 1u) * p.K;
  let x6 = min(t0 + 6u, p.T - 1u) * p.K;
  let x7 = min(t0 + 7u, p.T - 1u) * p.K;
  var a0 = vec4f(0.0);   // a_i[j]: token t0+i, row n0+j
  var a1 = vec4f(0.0);
  var a2 = vec4f(0.0);
  var a3 = vec4f(0.0);
  var a4 = vec4f(0.0);
  var a5 = vec4f(0.0);
  var a6 = vec4f(0.0);
  var a7 = vec4f(0.0);
  for (var k = 0u; k < K4; k++) {
    // column j of wm: row n0+j at columns 4k..4k+3, so (x_i * wm)[j] = dot(x_i, row j)
    let wm = mat4x4f(w_at4(w0 + k), w_at4(w1 + k), w_at4(w2 + k), w_at4(w3 + k));
    a0 += x4(x0, k, c) * wm;
    a1 += x4(x1, k, c) * wm;
    a2 += x4(x2, k, c) * wm;
    a3 += x4(x3, k, c) * wm;
    a4 += x4(x4_, k, c) * wm;
    a5 += x4(x5, k, c) * wm;
    a6 += x4(x6, k, c) * wm;
    a7 += x4(x7, k, c) * wm;
  }
  if (n0 >= p.N) { return; }
  store4(t0, n0, a0);
  store4(t0 + 1u, n0, a1);
  store4(t0 + 2u, n0, a2);
  store4(t0 + 3u, n0, a3);
  store4(t0 + 4u, n0, a4);
  store4(t0 + 5u, n0, a5);
  store4(t0 + 6u, n0, a6);
  store4(t0 + 7u, n0, a7);
}
