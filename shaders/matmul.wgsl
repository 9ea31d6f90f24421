// Matrix-matrix for prefill: y[t, n] (+)= sum_k x[t, k] * W[n, k].
// Each thread computes a 4x4 block (4 tokens x 4 output rows) in registers, reading x and W
// straight from memory (caches serve the reuse). Barrier-free like matvec.wgsl; any T, K, N.

#include "matmul_io"

const WG = 64u;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32) {
  // x: blocks of 4 rows of N; y: blocks of 4 tokens
  let n0 = (wg.x * WG + lid) * 4u;
  let t0 = wg.y * 4u;
  if (n0 >= p.N) { return; }
  var acc: array<vec4f, 4>;   // acc[i][j]: token t0+i, row n0+j
  let nt = min(4u, p.T - t0);
  let nn = min(4u, p.N - n0);
  for (var k = 0u; k < p.K; k++) {
    var wv = vec4f(0.0);
    for (var j = 0u; j < nn; j++) { wv[j] = w_at((n0 + j) * p.K + k); }
    for (var i = 0u; i < nt; i++) { acc[i] += x[(t0 + i) * p.K + k] * wv; }
  }
  for (var i = 0u; i < nt; i++) {
    for (var j = 0u; j < nn; j++) {
      let o = (t0 + i) * p.N + n0 + j;
      y[o] = select(0.0, y[o], p.accumulate == 1u) + acc[i][j];
    }
  }
}
