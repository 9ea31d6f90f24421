// Matrix-vector for decode (and small batches): y[t, n] (+)= sum_k x[t, k] * W[n, k].
// One workgroup per output row n; its threads split k, so each weight row is read once
// for all `tokens` inputs. Weights f32 or f16 (see common/weights_*).

struct Params {
  tokens: u32,
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
var<workgroup> partial: array<array<f32, WG>, MAX_TOKENS>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32, @builtin(num_workgroups) nwg: vec3u) {
  let n = wg.x + wg.y * nwg.x;
  if (n >= p.N) { return; }   // uniform per workgroup: safe before barriers
  var acc: array<f32, MAX_TOKENS>;
  let row = n * p.K;
  for (var k = lid; k < p.K; k += WG) {
    let wv = w_at(row + k);
    for (var t = 0u; t < p.tokens; t++) {
      acc[t] += wv * x[t * p.K + k];
    }
  }
  for (var t = 0u; t < p.tokens; t++) { partial[t][lid] = acc[t]; }
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) {
      for (var t = 0u; t < p.tokens; t++) { partial[t][lid] += partial[t][lid + s]; }
    }
    workgroupBarrier();
  }
  if (lid < p.tokens) {
    let o = lid * p.N + n;
    y[o] = select(0.0, y[o], p.accumulate == 1u) + partial[lid][0];
  }
}
