// Grouped expert matmul on quantized weights: for every assignment a routed to an expert held
// in cache slot s,
//   y[a, n] = sum_k x[row(a), k] * dequant(W[s])[n, k]
// with W a buffer of expert slots (slot s - slot_start at byte (s - slot_start) * slot_stride,
// [N, K] quantized row by row in one block layout). groups and
// order come from moe_group and are read exactly as moe_matmul.wgsl reads them; row(a) = a / k
// for per-token input (gate/up), a for per-assignment input (down). Workgroups: x blocks of
// output rows, y the active group g. Each row's 32-value units are decoded in registers (as in
// matvec_q.wgsl) once per batch of up to 8 of the expert's assignments. Lane includes as in
// matvec_q.wgsl (one thread, or one subgroup, per pair of rows).
#include "q_lanes"

#include "moe_q_params"

@group(0) @binding(0) var<uniform> p: Params;
#include "q_common"
#include "q_layout"
#include "q_x"
#include "q_dot"
@group(0) @binding(3) var<storage, read> groups: array<u32>;       // from moe_group
@group(0) @binding(4) var<storage, read> order: array<u32>;        // from moe_group
@group(0) @binding(5) var<storage, read_write> y: array<f32>;      // [assignments, N]

const WG = 64u;
const BATCH = 8u;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3u, ids: Ids) {
  let lanes = lane_count(ids);
  let lane = lane_index(ids);
  // rows n0 and n0 + 1 of the expert (two per thread or subgroup, as in matvec_q.wgsl)
  let n0 = (wg.x * (WG / lanes) + ids.lid / lanes) * 2u;
  let g = wg.y;
  if (g >= groups[0]) { return; }
  let s = groups[1u + g];
  if (s < p.slot_start || s >= p.slot_end) { return; }   // in another buffer, or not resident
  let start = groups[1u + p.experts + g];
  let count = groups[1u + 2u * p.experts + g];
  let base = (s - p.slot_start) * p.slot_stride;
  let row0 = base + min(n0, p.N - 1u) * p.row_bytes;
  let row1 = base + min(n0 + 1u, p.N - 1u) * p.row_bytes;
  let full = p.K / 32u;
  for (var b0 = 0u; b0 < count; b0 += BATCH) {
    let nb = min(BATCH, count - b0);
    // x offsets of the batch's inputs 0..3 and 4..7 (entries past nb are never read)
    var x_lo = vec4u(0u);
    var x_hi = vec4u(0u);
    for (var b = 0u; b < nb; b++) {
      let xo = order[start + b0 + b] / p.input_div * p.K;
      x_lo = select(x_lo, vec4u(xo), vec4u(b) == vec4u(0u, 1u, 2u, 3u));
      x_hi = select(x_hi, vec4u(xo), vec4u(b) == vec4u(4u, 5u, 6u, 7u));
    }
    // Explicit zeros (see moe_matmul.wgsl: some compilers keep a loop-body var's old value).
    var acc0 = Acc8();
    var acc1 = Acc8();
    if (n0 < p.N) {
      for (var u = lane; u < full; u += lanes) {
        decode_unit(row0, u);
        let w0 = wq;
        decode_unit(row1, u);
        for (var b = 0u; b < nb; b++) {
          load_x(x_at(x_lo, x_hi, b) + 32u * u);
          acc_add(&acc0, b, dot_unit(w0));
          acc_add(&acc1, b, dot_unit(wq));
        }
      }
      // the partial last unit, if any, on the lane whose turn it is (a loop of at most one pass)
      for (var u = select(p.units, full, full % lanes == lane); u < p.units; u += lanes) {
        decode_unit(row0, u);
        let w0 = wq;
        decode_unit(row1, u);
        for (var b = 0u; b < nb; b++) {
          load_x_partial(x_at(x_lo, x_hi, b) + 32u * u, p.K - 32u * u);
          acc_add(&acc0, b, dot_unit(w0));
          acc_add(&acc1, b, dot_unit(wq));
        }
      }
    }
    // lane_sum may be subgroupAdd: reached by the whole subgroup, so no early return for n.
    for (var b = 0u; b < nb; b++) {
      let s0 = lane_sum(acc_get(acc0, b));
      let s1 = lane_sum(acc_get(acc1, b));
      let o = order[start + b0 + b] * p.N + n0;
      if (lane == 0u && n0 < p.N) { y[o] = s0; }
      if (lane == 0u && n0 + 1u < p.N) { y[o + 1u] = s1; }
    }
  }
}

/** Entry b (0..7) of the offset pair. */
fn x_at(lo: vec4u, hi: vec4u, b: u32) -> u32 {
  return select(hi[b & 3u], lo[b & 3u], b < 4u);
}
