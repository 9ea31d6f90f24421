// Adjust the logits of specific tokens before sampling, one thread per listed token:
//   repetition penalty (HF): l > 0 ? l / r : l * r      (tokens already seen)
//   frequency / presence (OpenAI): l -= f * count + p * (count > 0)
//   logit_bias: l += bias
// The host lists each token id once, with its count and bias.

struct Params {
  entries: u32,
  row_offset: u32,
  repetition: f32,   // 1 = off
  frequency: f32,    // 0 = off
  presence: f32,     // 0 = off
  _pad0: u32,
  _pad1: u32,
  _pad2: u32,
}

struct Entry {
  id: u32,
  count: u32,     // times seen (0: only a bias)
  bias: f32,
  _pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> logits: array<f32>;
@group(0) @binding(2) var<storage, read> entries: array<Entry>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  if (gid.x >= p.entries) { return; }
  let e = entries[gid.x];
  let i = p.row_offset + e.id;
  var l = logits[i];
  if (e.count > 0u) {
    l = select(l * p.repetition, l / p.repetition, l > 0.0);
    l -= p.frequency * f32(e.count) + p.presence;
  }
  logits[i] = l + e.bias;
}
