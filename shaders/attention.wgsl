// Causal GQA attention over the KV cache, for prefill (T queries) and decode (T = 1).
// One workgroup per (query t, head h). Keys are visited in chunks of 64 with an online
// softmax (running max m and sum l), so any context length works with fixed memory.
// Query t sits at position start + t and sees keys 0..start+t.

struct Params {
  T: u32,
  start: u32,
  heads: u32,
  kv_heads: u32,
  head_dim: u32,
  scale: f32,
  _pad0: u32,
  _pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> q: array<f32>;            // [T, heads, head_dim]
@group(0) @binding(2) var<storage, read> k_cache: array<f32>;      // [capacity, kv_heads, head_dim]
@group(0) @binding(3) var<storage, read> v_cache: array<f32>;      // [capacity, kv_heads, head_dim]
@group(0) @binding(4) var<storage, read_write> out: array<f32>;    // [T, heads, head_dim]

const WG = 64u;
const MAX_DIM = 256u;
const PER_THREAD = MAX_DIM / WG;    // output dims each thread owns
var<workgroup> q_s: array<f32, MAX_DIM>;
var<workgroup> prob: array<f32, WG>;
var<workgroup> red: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let h = wg.x;
  let t = wg.y;
  let D = p.head_dim;
  let kvh = h / (p.heads / p.kv_heads);
  let kv_stride = p.kv_heads * D;
  for (var d = lid; d < D; d += WG) { q_s[d] = q[(t * p.heads + h) * D + d] * p.scale; }
  workgroupBarrier();

  let n_keys = p.start + t + 1u;
  var m = -3.0e38;       // running max of scores
  var l = 0.0;           // running sum of exp(score - m)
  var acc: array<f32, PER_THREAD>;
  for (var s0 = 0u; s0 < n_keys; s0 += WG) {
    // 1) each thread scores one key of the chunk
    let s = s0 + lid;
    var score = -3.0e38;
    if (s < n_keys) {
      let kb = s * kv_stride + kvh * D;
      var dot = 0.0;
      for (var d = 0u; d < D; d++) { dot += q_s[d] * k_cache[kb + d]; }
      score = dot;
    }
    // 2) chunk max
    red[lid] = score;
    workgroupBarrier();
    for (var r = WG / 2u; r > 0u; r >>= 1u) {
      if (lid < r) { red[lid] = max(red[lid], red[lid + r]); }
      workgroupBarrier();
    }
    let m_new = max(m, red[0]);
    workgroupBarrier();
    let pr = select(0.0, exp(score - m_new), s < n_keys);
    prob[lid] = pr;
    red[lid] = pr;
    workgroupBarrier();
    for (var r = WG / 2u; r > 0u; r >>= 1u) {
      if (lid < r) { red[lid] += red[lid + r]; }
      workgroupBarrier();
    }
    // 3) rescale what we had and add this chunk's weighted values
    let correction = exp(m - m_new);
    l = l * correction + red[0];
    m = m_new;
    let n_chunk = min(WG, n_keys - s0);
    for (var j = 0u; j < PER_THREAD; j++) {
      let d = lid + j * WG;
      if (d < D) {
        var a = acc[j] * correction;
        for (var c = 0u; c < n_chunk; c++) {
          a += prob[c] * v_cache[(s0 + c) * kv_stride + kvh * D + d];
        }
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
