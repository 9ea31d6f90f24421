// Grouped expert matmul: for every assignment a routed to an expert held in cache slot s,
//   y[a, n] = sum_k x[row(a), k] * W[s, n, k]
// with W a buffer of expert slots (slot s - slot_start at element (s - slot_start) * slot_stride,
// [N, K] row-major). moe_group put each group's slot there through the layer's slot table, so
// the experts of a layer may sit in any slots in any order. row(a) = a / k_per_token when the
// input is per token (gate/up projections), or a when it is per assignment (down projection).
// Workgroups (x: blocks of 64 output rows, y: active group g); one thread per output row n
// reads the expert's weight row once for up to 8 of that expert's assignments at a time.
// Barrier-free, like matvec.wgsl.

struct Params {
  N: u32,
  K: u32,
  experts: u32,
  input_div: u32,     // k (per-token input) or 1 (per-assignment input)
  slot_start: u32,    // W holds slots slot_start..slot_end-1 (one buffer of the cache)
  slot_end: u32,
  slot_stride: u32,   // elements from one slot to the next (>= N*K)
  _pad0: u32,
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
  let s = groups[1u + g];
  if (s < p.slot_start || s >= p.slot_end) { return; }   // in another buffer, or not resident
  let start = groups[1u + p.experts + g];
  let count = groups[1u + 2u * p.experts + g];
  let w_row = (s - p.slot_start) * p.slot_stride + n * p.K;
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
