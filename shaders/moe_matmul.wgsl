// Grouped expert matmul: for every assignment a routed to expert e,
//   y[a, n] = sum_k x[row(a), k] * W[e, n, k]
// with W the experts' stacked weights [experts, N, K]. row(a) = a / k_per_token when the
// input is per token (gate/up projections), or a when it is per assignment (down projection).
// Workgroup (n, g): output row n of active group g; the expert's weight row is read once
// and reused for all of that expert's assignments (up to 8 at a time).

struct Params {
  N: u32,
  K: u32,
  experts: u32,
  input_div: u32,     // k (per-token input) or 1 (per-assignment input)
}

@group(0) @binding(0) var<uniform> p: Params;
#include "weights"
@group(0) @binding(2) var<storage, read> x: array<f32>;            // [rows, K]
@group(0) @binding(3) var<storage, read> groups: array<u32>;       // from moe_group
@group(0) @binding(4) var<storage, read> order: array<u32>;        // from moe_group
@group(0) @binding(5) var<storage, read_write> y: array<f32>;      // [assignments, N]

const WG = 64u;
const BATCH = 8u;
var<workgroup> partial: array<array<f32, WG>, BATCH>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let n = wg.x;
  let g = wg.y;
  if (g >= groups[0]) { return; }    // uniform per workgroup
  let e = groups[1u + g];
  let start = groups[1u + p.experts + g];
  let count = groups[1u + 2u * p.experts + g];
  let w_row = (e * p.N + n) * p.K;
  for (var b0 = 0u; b0 < count; b0 += BATCH) {
    let nb = min(BATCH, count - b0);
    var acc: array<f32, BATCH>;
    for (var k = lid; k < p.K; k += WG) {
      let wv = w_at(w_row + k);
      for (var b = 0u; b < nb; b++) {
        let row = order[start + b0 + b] / p.input_div;
        acc[b] += wv * x[row * p.K + k];
      }
    }
    for (var b = 0u; b < BATCH; b++) { partial[b][lid] = acc[b]; }
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s >>= 1u) {
      if (lid < s) {
        for (var b = 0u; b < BATCH; b++) { partial[b][lid] += partial[b][lid + s]; }
      }
      workgroupBarrier();
    }
    if (lid < nb) { y[order[start + b0 + lid] * p.N + n] = partial[lid][0]; }
    workgroupBarrier();
  }
}
