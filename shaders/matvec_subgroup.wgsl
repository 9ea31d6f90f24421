// Matrix-vector with subgroups: y[t, n] (+)= sum_k x[t, k] * W[n, k] for up to 8 tokens.
// Each subgroup owns one output row; its lanes walk the row in vec4 steps side by side, so
// neighbouring lanes read neighbouring memory, and subgroupAdd sums their partials: no
// workgroup memory, no barriers. Needs K % 4 == 0. A workgroup of 64 holds 64/subgroup_size
// rows; the host dispatches for the largest subgroup size and extra workgroups exit.
enable subgroups;

struct Params {
  tokens: u32,
  K: u32,
  N: u32,
  accumulate: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
#include "weights"
@group(0) @binding(2) var<storage, read> x: array<vec4f>;          // [tokens, K/4]
@group(0) @binding(3) var<storage, read_write> y: array<f32>;      // [tokens, N]

const WG = 64u;
const MAX_TOKENS = 8u;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32, @builtin(num_workgroups) nwg: vec3u,
        @builtin(subgroup_size) sg: u32, @builtin(subgroup_invocation_id) lane: u32) {
  let n = (wg.x + wg.y * nwg.x) * (WG / sg) + lid / sg;
  let K4 = p.K / 4u;
  let row = n * K4;
  var acc: array<f32, MAX_TOKENS>;
  if (n < p.N) {
    for (var q = lane; q < K4; q += sg) {
      let wv = w_at4(row + q);
      for (var t = 0u; t < p.tokens; t++) { acc[t] += dot(wv, x[t * K4 + q]); }
    }
  }
  // subgroupAdd must be reached by the whole subgroup: no early return above.
  for (var t = 0u; t < p.tokens; t++) {
    let s = subgroupAdd(acc[t]);
    if (lane == 0u && n < p.N) {
      let o = t * p.N + n;
      y[o] = select(0.0, y[o], p.accumulate == 1u) + s;
    }
  }
}
