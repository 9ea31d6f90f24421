// Bidirectional multi-head attention restricted to segments (the vision tower: each image, or
// each video frame, attends only to itself). Queries come in chunks: q holds queries
// q0..q0+Tq-1 of the n tokens, so big images keep every binding under the storage limit.
// A query at global index g sees the keys of its segment [s, min(s + seg_len, n)), s = g - g % seg_len.
// One thread per (query, head) with an online softmax over its segment's keys (running max m,
// running sum l): no workgroup memory and no barriers (the slowest thing on software adapters),
// fixed memory per thread whatever the segment length. Neighbouring threads read the same keys.

struct Params {
  Tq: u32,
  q0: u32,
  n: u32,
  heads: u32,
  head_dim: u32,
  seg_len: u32,
  scale: f32,
  _pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> q: array<f32>;            // [Tq, heads, head_dim]
@group(0) @binding(2) var<storage, read> k: array<f32>;            // [n, heads, head_dim]
@group(0) @binding(3) var<storage, read> v: array<f32>;            // [n, heads, head_dim]
@group(0) @binding(4) var<storage, read_write> out: array<f32>;    // [Tq, heads, head_dim]

const MAX_DIM = 128u;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32, @builtin(num_workgroups) nwg: vec3u) {
  let i = (wg.x + wg.y * nwg.x) * 64u + lid;     // (query t, head h) with h fastest
  if (i >= p.Tq * p.heads) { return; }
  let h = i % p.heads;
  let t = i / p.heads;
  let D = p.head_dim;
  let stride = p.heads * D;
  let g = p.q0 + t;
  let first = g - g % p.seg_len;
  let last = min(first + p.seg_len, p.n);
  var qv: array<f32, MAX_DIM>;
  var acc: array<f32, MAX_DIM>;
  for (var d = 0u; d < D; d++) { qv[d] = q[(t * p.heads + h) * D + d] * p.scale; acc[d] = 0.0; }
  var m = -3.0e38;
  var l = 0.0;
  for (var s = first; s < last; s++) {
    let kb = s * stride + h * D;
    var score = 0.0;
    for (var d = 0u; d < D; d++) { score += qv[d] * k[kb + d]; }
    let m_new = max(m, score);
    let correction = exp(m - m_new);
    let w = exp(score - m_new);
    l = l * correction + w;
    for (var d = 0u; d < D; d++) { acc[d] = acc[d] * correction + w * v[kb + d]; }
    m = m_new;
  }
  let ob = (t * p.heads + h) * D;
  for (var d = 0u; d < D; d++) { out[ob + d] = acc[d] / l; }
}
