// Embedding gather: out[t, :] = table[ids[t], :]
// One thread per output element; table rows may be f32 or f16 (see common/weights_*).

struct Params {
  tokens: u32,
  hidden: u32,
  vocab: u32,
  _pad: u32,
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
  let id = min(ids[t], p.vocab - 1u);
  out[i] = w_at(id * p.hidden + j);
}
