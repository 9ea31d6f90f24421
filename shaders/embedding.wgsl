// Embedding gather: out[t, :] = table[ids[t] - row_start, :] for the ids this table holds.
// A vocabulary too big for one storage binding is split into row blocks, one dispatch each;
// a thread whose id lies in another block writes nothing. Rows may be f32 or f16.

struct Params {
  tokens: u32,
  hidden: u32,
  rows: u32,        // rows in this table (block)
  row_start: u32,   // token id of its first row
}

@group(0) @binding(0) var<uniform> p: Params;
#include "weights"
@group(0) @binding(2) var<storage, read> ids: array<u32>;          // [tokens]
@group(0) @binding(3) var<storage, read_write> out: array<f32>;    // [tokens, hidden]

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32, @builtin(num_workgroups) nwg: vec3u) {
  let i = (wg.x + wg.y * nwg.x) * 256u + lid;
  if (i >= p.tokens * p.hidden) { return; }
  let t = i / p.hidden;
  let j = i % p.hidden;
  let r = ids[t] - p.row_start;   // wraps to a huge value below row_start
  if (r >= p.rows) { return; }
  out[i] = w_at(r * p.hidden + j);
}
