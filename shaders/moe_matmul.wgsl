// Grouped expert matmul: for every assignment a routed to expert e,
//   y[a, n] = sum_k x[row(a), k] * W[e, n, k]
// with W the experts' stacked weights [experts, N, K]. row(a) = a / k_per_token when the
// input is per token (gate/up projections), or a when it is per assignment (down projection).
// Workgroups (x: blocks of 64 output rows, y: active group g); one thread per output row n
// reads the expert's weight row once for up to 8 of that expert's assignments at a time.
// Barrier-free, like matvec.wgsl.

struct Params {
  N: u32,
  K: u32,
  experts: u32,
  input_div: u32,     // k (per-token input) or 1 (per-assignment input)
  expert_start: u32,  // W holds experts expert_start..expert_end-1 (a block of a split stack)
  expert_end: u32,
  _pad0: u32,
  _pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
#include "weights"
@group(0) @binding(2) var<storage, read> x: array<f32>;            // [rows, K]
@group(0) @binding(3) var<storage, read> groups: array<u32>;       // from moe_group
@group(0) @binding(4) var<storage, read> order: array<u32>;        // from moe_group
@group(0) @binding(5) var<storage, read_write> y: array<f32>;      // [assignments, N]

const WG = 64u;
const BATCH = 8u;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let n = wg.x * WG + lid;
  let g = wg.y;
  if (n >= p.N || g >= groups[0]) { return; }
  let e = groups[1u + g];
  if (e < p.expert_start || e >= p.expert_end) { return; }   // another block's expert
  let start = groups[1u + p.experts + g];
  let count = groups[1u + 2u * p.experts + g];
  let w_row = ((e - p.expert_start) * p.N + n) * p.K;
  for (var b0 = 0u; b0 < count; b0 += BATCH) {
    let nb = min(BATCH, count - b0);
    var rows: array<u32, BATCH>;
    for (var b = 0u; b < nb; b++) { rows[b] = order[start + b0 + b] / p.input_div * p.K; }
    // Explicit zero: WGSL says a loop-body `var` restarts at zero each iteration, but Dawn on
    // SwiftShader (and naga, wgpu#9489) keep the previous batch's sums without an initializer.
    var acc = array<f32, BATCH>();
    for (var k = 0u; k < p.K; k++) {
      let wv = w_at(w_row + k);
      for (var b = 0u; b < nb; b++) { acc[b] += wv * x[rows[b] + k]; }
    }
    for (var b = 0u; b < nb; b++) { y[order[start + b0 + b] * p.N + n] = acc[b]; }
  }
}
