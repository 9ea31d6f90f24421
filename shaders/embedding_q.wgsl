// Embedding gather from a quantized table: out[t, :] = dequant(table)[ids[t] - row_start, :] for
// the ids this table (row block, see embedding.wgsl) holds.
// One thread per 32-value unit of an output row: decode_unit (the layout include) decodes the
// unit in registers, exactly as the quantized matmul does, and the thread writes it out.

struct Params {
  tokens: u32,
  cols: u32,         // hidden size
  rows: u32,         // rows in this table (block)
  row_bytes: u32,    // bytes of one quantized row
  units: u32,        // ceil(cols / 32)
  row_start: u32,    // token id of its first row
  _pad1: u32,
  _pad2: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
#include "q_common"
#include "q_layout"
@group(0) @binding(2) var<storage, read> ids: array<u32>;          // [tokens]
@group(0) @binding(3) var<storage, read_write> out: array<f32>;    // [tokens, cols]

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32, @builtin(num_workgroups) nwg: vec3u) {
  let i = (wg.x + wg.y * nwg.x) * 64u + lid;
  if (i >= p.tokens * p.units) { return; }
  let t = i / p.units;
  let u = i % p.units;
  let r = ids[t] - p.row_start;
  if (r >= p.rows) { return; }
  decode_unit(r * p.row_bytes, u);
  let n = min(32u, p.cols - 32u * u);
  for (var j = 0u; j < n; j++) {
    out[t * p.cols + 32u * u + j] = wq[j / 4u][j % 4u];
  }
}
