// Log-probabilities of one logits row on the GPU, written next to the sampled id so one
// readback returns both. log p_i = (l_i - max) - log(sum_j exp(l_j - max)) over the first
// `vocab` logits (temperature 1). Writes, into `result` (u32 words, f32 as bits):
//   [1] log p of the token id already in result[0] (NaN bits when that id is not < vocab),
//   [2 + 2r], [3 + 2r] for r < top: the r-th most likely id and its log p, ordered by
//   logit descending, lowest id first on ties.
// Top-k without a sort: round r takes the best element strictly after round r-1's (value,
// id) in that order, one workgroup reduction per round (top <= 20). NaN and +inf logits are
// skipped (sample() has already reported the row as non-finite).

struct Params {
  vocab: u32,
  row_offset: u32,   // which row of logits (in floats)
  top: u32,          // 0..20 alternatives
  _pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read_write> result: array<u32>;

const WG = 256u;
const NONE = 0xffffffffu;
var<workgroup> red_f: array<f32, WG>;
var<workgroup> red_u: array<u32, WG>;

fn logit(i: u32) -> f32 { return logits[p.row_offset + i]; }

fn is_bad(v: f32) -> bool {
  let b = bitcast<u32>(v);
  return (b & 0x7fffffffu) > 0x7f800000u || b == 0x7f800000u;
}

// (a, ai) ranks before (b, bi): larger value, or equal value and lower id.
fn before(a: f32, ai: u32, b: f32, bi: u32) -> bool {
  return bi == NONE || (ai != NONE && (a > b || (a == b && ai < bi)));
}

// The best (value, id) ranked strictly after (pv, pi) (pi == NONE: no bound).
fn best_after(lid: u32, pv: f32, pi: u32) -> vec2u {
  var bv = -3.4e38;
  var bi = NONE;
  for (var i = lid; i < p.vocab; i += WG) {
    let v = logit(i);
    if (is_bad(v)) { continue; }
    let after = pi == NONE || v < pv || (v == pv && i > pi);
    if (after && before(v, i, bv, bi)) { bv = v; bi = i; }
  }
  red_f[lid] = bv;
  red_u[lid] = bi;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s && before(red_f[lid + s], red_u[lid + s], red_f[lid], red_u[lid])) {
      red_f[lid] = red_f[lid + s];
      red_u[lid] = red_u[lid + s];
    }
    workgroupBarrier();
  }
  let r = vec2u(bitcast<u32>(red_f[0]), red_u[0]);
  workgroupBarrier();
  return r;
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32) {
  let top1 = best_after(lid, 0.0, NONE);
  let mx = bitcast<f32>(top1.x);
  var s = 0.0;
  for (var i = lid; i < p.vocab; i += WG) {
    let v = logit(i);
    if (!is_bad(v)) { s += exp(v - mx); }
  }
  red_f[lid] = s;
  workgroupBarrier();
  for (var k = WG / 2u; k > 0u; k >>= 1u) {
    if (lid < k) { red_f[lid] += red_f[lid + k]; }
    workgroupBarrier();
  }
  let log_z = log(red_f[0]);
  workgroupBarrier();
  if (lid == 0u) {
    let id = result[0];
    result[1] = select(0x7fc00000u, bitcast<u32>((logit(min(id, p.vocab - 1u)) - mx) - log_z), id < p.vocab);
  }
  var prev = top1;
  for (var r = 0u; r < p.top; r++) {
    if (r > 0u) { prev = best_after(lid, bitcast<f32>(prev.x), prev.y); }
    if (lid == 0u) {
      result[2u + 2u * r] = prev.y;
      result[3u + 2u * r] = bitcast<u32>((bitcast<f32>(prev.x) - mx) - log_z);
    }
  }
}
