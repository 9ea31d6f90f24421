// Constrained decoding: tokens whose bit is clear in `allowed` get the lowest logit, so the
// sampler can never pick them. allowed: one bit per token id, 32 per word.

struct Params {
  vocab: u32,
  row_offset: u32,
  _pad0: u32,
  _pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> logits: array<f32>;
@group(0) @binding(2) var<storage, read> allowed: array<u32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32, @builtin(num_workgroups) nwg: vec3u) {
  let i = (wg.x + wg.y * nwg.x) * 256u + lid;
  if (i >= p.vocab) { return; }
  if ((allowed[i >> 5u] & (1u << (i & 31u))) == 0u) {
    logits[p.row_offset + i] = -3.4e38;
  }
}
