// Bidirectional multi-head attention restricted to segments (the vision tower: each image, or
// each video frame, attends only to itself). Queries come in chunks: q holds queries
// q0..q0+Tq-1 of the n tokens, so big images keep every binding under the storage limit.
// A query at global index g sees the keys of its segment [s, min(s + seg_len, n)), s = g - g % seg_len.
// One workgroup per (head, query); keys are visited in tiles of 64 with an online softmax
// (running max m, running sum l), so a segment of any length needs fixed workgroup memory.

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

const WG = 64u;
const MAX_DIM = 256u;
const PER_THREAD = MAX_DIM / WG;
var<workgroup> q_s: array<f32, MAX_DIM>;
var<workgroup> prob: array<f32, WG>;
var<workgroup> red: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32, @builtin(num_workgroups) nwg: vec3u) {
  let h = wg.x;
  let t = wg.y + wg.z * nwg.y;
  if (t >= p.Tq) { return; }   // uniform per workgroup
  let D = p.head_dim;
  let stride = p.heads * D;
  let g = p.q0 + t;
  let first = g - g % p.seg_len;
  let last = min(first + p.seg_len, p.n);
  for (var d = lid; d < D; d += WG) { q_s[d] = q[(t * p.heads + h) * D + d] * p.scale; }
  workgroupBarrier();

  var m = -3.0e38;
  var l = 0.0;
  var acc: array<f32, PER_THREAD>;
  for (var s0 = first; s0 < last; s0 += WG) {
    let s = s0 + lid;
    var score = -3.0e38;
    if (s < last) {
      let kb = s * stride + h * D;
      var dot = 0.0;
      for (var d = 0u; d < D; d++) { dot += q_s[d] * k[kb + d]; }
      score = dot;
    }
    red[lid] = score;
    workgroupBarrier();
    for (var r = WG / 2u; r > 0u; r >>= 1u) {
      if (lid < r) { red[lid] = max(red[lid], red[lid + r]); }
      workgroupBarrier();
    }
    let m_new = max(m, red[0]);
    workgroupBarrier();
    let pr = select(0.0, exp(score - m_new), s < last);
    prob[lid] = pr;
    red[lid] = pr;
    workgroupBarrier();
    for (var r = WG / 2u; r > 0u; r >>= 1u) {
      if (lid < r) { red[lid] += red[lid + r]; }
      workgroupBarrier();
    }
    let correction = exp(m - m_new);
    l = l * correction + red[0];
    m = m_new;
    let n_tile = min(WG, last - s0);
    for (var j = 0u; j < PER_THREAD; j++) {
      let d = lid + j * WG;
      if (d < D) {
        var a = acc[j] * correction;
        for (var c = 0u; c < n_tile; c++) { a += prob[c] * v[(s0 + c) * stride + h * D + d]; }
        acc[j] = a;
      }
    }
    workgroupBarrier();
  }
  for (var j = 0u; j < PER_THREAD; j++) {
    let d = lid + j * WG;
    if (d < D) { out[(t * p.heads + h) * D + d] = acc[j] / l; }
  }
}
