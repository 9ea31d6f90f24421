// Quantized matrix-vector: y[t, n] (+)= sum_k x[t, k] * dequant(W)[n, k], W in one of the block
// layouts of src/quant/layouts.ts, decoded in registers (no dequantized copy in memory).
// Rows are walked in 32-value units: decode_unit (the layout include) turns one unit into 32
// f32 weights in registers, which are dotted with every token's x before the next unit is
// decoded, so each weight byte is read once per 8 tokens. Each thread (or subgroup) owns two
// adjacent rows, so each unit of x it loads serves both. The host binds one of two lane includes:
//  - q_lanes_single: one thread per row pair, 128 rows per workgroup (portable; software
//    rasterisers such as SwiftShader run this barrier-free loop as plain SIMD code);
//  - q_lanes_subgroup: one subgroup per row pair, lanes taking units in turn, subgroupAdd at the end.
// Workgroups: x/y blocks of rows (rebuilt as one index), z blocks of 8 tokens (prefill runs
// ceil(tokens / 8) of them side by side; each re-reads the weights).
#include "q_lanes"

struct Params {
  tokens: u32,
  K: u32,
  N: u32,
  accumulate: u32,   // 1: y += x·Wᵀ (fused residual add), 0: y = x·Wᵀ
  row_bytes: u32,    // bytes of one quantized row
  units: u32,        // ceil(K / 32)
}

@group(0) @binding(0) var<uniform> p: Params;
#include "q_common"
#include "q_layout"
#include "q_x"
#include "q_dot"
@group(0) @binding(3) var<storage, read_write> y: array<f32>;      // [tokens, N]

const WG = 64u;
const TOKENS = 8u;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, ids: Ids) {
  let lanes = lane_count(ids);
  let lane = lane_index(ids);
  // rows n0 and n0 + 1 (ROWS = 2: each unit of x is read once for both)
  let n0 = ((wg.x + wg.y * nwg.x) * (WG / lanes) + ids.lid / lanes) * 2u;
  let t0 = wg.z * TOKENS;
  let nt = min(TOKENS, p.tokens - t0);
  var acc0 = Acc8();
  var acc1 = Acc8();
  if (n0 < p.N) {
    let row0 = n0 * p.row_bytes;
    let row1 = min(n0 + 1u, p.N - 1u) * p.row_bytes;   // past the end: row n0 again, not stored
    let x0 = t0 * p.K;
    let full = p.K / 32u;
    for (var u = lane; u < full; u += lanes) {
      decode_unit(row0, u);
      let w0 = wq;
      decode_unit(row1, u);
      for (var t = 0u; t < nt; t++) {
        load_x(x0 + t * p.K + 32u * u);
        acc_add(&acc0, t, dot_unit(w0));
        acc_add(&acc1, t, dot_unit(wq));
      }
    }
    // the partial last unit, if any, on the lane whose turn it is (a loop of at most one pass)
    for (var u = select(p.units, full, full % lanes == lane); u < p.units; u += lanes) {
      decode_unit(row0, u);
      let w0 = wq;
      decode_unit(row1, u);
      for (var t = 0u; t < nt; t++) {
        load_x_partial(x0 + t * p.K + 32u * u, p.K - 32u * u);
        acc_add(&acc0, t, dot_unit(w0));
        acc_add(&acc1, t, dot_unit(wq));
      }
    }
  }
  // lane_sum may be subgroupAdd: reached by the whole subgroup, so no early return above.
  for (var t = 0u; t < nt; t++) {
    let s0 = lane_sum(acc_get(acc0, t));
    let s1 = lane_sum(acc_get(acc1, t));
    let o = (t0 + t) * p.N + n0;
    if (lane == 0u && n0 < p.N) { y[o] = select(0.0, y[o], p.accumulate == 1u) + s0; }
    if (lane == 0u && n0 + 1u < p.N) { y[o + 1u] = select(0.0, y[o + 1u], p.accumulate == 1u) + s1; }
  }
}
