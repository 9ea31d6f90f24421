// Matrix-vector for decode (and small batches): y[t, n] (+)= sum_k x[t, k] * W[n, k].
// One thread per output row n, looping over k for all `tokens` inputs at once, so each
// weight is read once per step. No workgroup memory and no barriers: software rasterisers
// (SwiftShader) run barrier-free kernels as plain SIMD loops, many times faster.

struct Params {
  tokens: u32,       // <= MAX_TOKENS
  K: u32,
  N: u32,
  accumulate: u32,   // 1: y += x·Wᵀ (fused residual add), 0: y = x·Wᵀ
}

@group(0) @binding(0) var<uniform> p: Params;
#include "weights"
@group(0) @binding(2) var<storage, read> x: array<f32>;            // [tokens, K]
@group(0) @binding(3) var<storage, read_write> y: array<f32>;      // [tokens, N]

const WG = 64u;
const MAX_TOKENS = 8u;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32, @builtin(num_workgroups) nwg: vec3u) {
  let n = (wg.x + wg.y * nwg.x) * WG + lid;
  if (n >= p.N) { return; }
  var acc: array<f32, MAX_TOKENS>;
  let row = n * p.K;
  for (var k = 0u; k < p.K; k++) {
    let wv = w_at(row + k);
    for (var t = 0u; t < p.tokens; t++) {
      acc[t] += wv * x[t * p.K + k];
    }
  }
  for (var t = 0u; t < p.tokens; t++) {
    let o = t * p.N + n;
    y[o] = select(0.0, y[o], p.accumulate == 1u) + acc[t];
  }
}
