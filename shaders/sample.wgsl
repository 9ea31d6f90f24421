// Picks the next token from logits on the GPU, so a step reads back 4 bytes, not the vocab.
//   temperature == 0: argmax (lowest id on ties).
//   otherwise: p_i = exp((l_i - max) / temperature); keep tokens with p_i >= tau, where tau is
//   the largest threshold that still keeps top_k tokens or top_p of the mass, and at least
//   min_p (relative to the best token); then draw with the host's uniform number u.
// tau is found by bisection over (0, 1]: each step counts the kept tokens and their mass in
// one pass over the vocabulary, so no sort is needed. One workgroup does everything.
// A NaN or +inf logit anywhere in the row writes NON_FINITE (0xffffffff, never a token id)
// instead of a token; the host turns it into a typed error. NaN is found from the bits, since
// WGSL lets compilers assume floats are finite. -inf is a masked token, as is a row with no
// finite logit at all (then no token can be drawn, and the result is NON_FINITE too).

struct Params {
  vocab: u32,          // logits to consider (ids >= vocab are padding rows, masked)
  top_k: u32,          // 0 = off
  temperature: f32,
  top_p: f32,          // 1 = off
  min_p: f32,          // 0 = off
  u: f32,              // uniform random in [0, 1)
  row_offset: u32,     // which row of logits (in floats) to sample from
  _pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read_write> result: array<u32>;   // [1] token id

const WG = 256u;
var<workgroup> red_f: array<f32, WG>;
var<workgroup> red_u: array<u32, WG>;
var<workgroup> red_c: array<u32, WG>;

const NON_FINITE = 0xffffffffu;

fn logit(i: u32) -> f32 { return logits[p.row_offset + i]; }

// NaN or +inf. -inf is a masked token (it can never be drawn), not an error.
fn is_bad(v: f32) -> bool {
  let b = bitcast<u32>(v);
  return (b & 0x7fffffffu) > 0x7f800000u || b == 0x7f800000u;
}

// Max over the row (ties resolved to the lowest id) and, in y, 1 if any logit is NaN or +inf.
fn argmax(lid: u32) -> vec2u {
  var best = -3.4e38;
  var best_i = 0xffffffffu;
  var bad = 0u;
  for (var i = lid; i < p.vocab; i += WG) {
    let v = logit(i);
    if (is_bad(v)) { bad = 1u; }
    if (v > best) { best = v; best_i = i; }
  }
  red_f[lid] = best;
  red_u[lid] = best_i;
  red_c[lid] = bad;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) {
      let a = red_f[lid];
      let b = red_f[lid + s];
      if (b > a || (b == a && red_u[lid + s] < red_u[lid])) {
        red_f[lid] = b;
        red_u[lid] = red_u[lid + s];
      }
      red_c[lid] = red_c[lid] | red_c[lid + s];
    }
    workgroupBarrier();
  }
  let r = vec2u(red_u[0], red_c[0]);
  workgroupBarrier();
  return r;
}

fn prob(i: u32, mx: f32) -> f32 { return exp((logit(i) - mx) / p.temperature); }

// (count, mass) of tokens with prob >= tau, reduced over the workgroup.
fn kept(lid: u32, mx: f32, tau: f32) -> vec2f {
  var c = 0u;
  var m = 0.0;
  for (var i = lid; i < p.vocab; i += WG) {
    let q = prob(i, mx);
    if (q >= tau) { c++; m += q; }
  }
  red_f[lid] = m;
  red_c[lid] = c;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { red_f[lid] += red_f[lid + s]; red_c[lid] += red_c[lid + s]; }
    workgroupBarrier();
  }
  let r = vec2f(f32(red_c[0]), red_f[0]);
  workgroupBarrier();
  return r;
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32) {
  let am = argmax(lid);
  let best = am.x;
  let non_finite = am.y != 0u;
  if (p.temperature <= 0.0) {
    if (lid == 0u) { result[0] = select(best, NON_FINITE, non_finite); }
    return;
  }
  let mx = logit(best);
  let total = kept(lid, mx, 0.0).y;
  let k = select(p.vocab, min(p.top_k, p.vocab), p.top_k > 0u);
  // Largest tau keeping >= k tokens or >= top_p of the mass; bisection on (lo, hi].
  var lo = 0.0;
  var hi = 1.0;
  for (var it = 0u; it < 40u; it++) {
    let mid = 0.5 * (lo + hi);
    let r = kept(lid, mx, mid);
    let ok = r.x >= f32(k) || r.y >= p.top_p * total;
    if (ok) { lo = mid; } else { hi = mid; }
  }
  // lo keeps enough; it must be at least the best token's probability floor.
  let tau = max(lo, p.min_p);
  let kept_mass = kept(lid, mx, tau).y;
  let goal = p.u * kept_mass;

  // Each thread owns a contiguous slice of the vocabulary; a prefix sum over slices finds
  // the slice holding the goal, and its thread walks it.
  let per = (p.vocab + WG - 1u) / WG;
  let lo_i = lid * per;
  let hi_i = min(lo_i + per, p.vocab);
  var m = 0.0;
  for (var i = lo_i; i < hi_i; i++) {
    let q = prob(i, mx);
    if (q >= tau) { m += q; }
  }
  red_f[lid] = m;
  workgroupBarrier();
  if (lid == 0u) {
    var run = 0.0;
    var last_nonempty = 0u;
    var found = false;
    for (var j = 0u; j < WG; j++) {
      if (red_f[j] > 0.0) { last_nonempty = j; }
      if (!found && red_f[j] > 0.0 && run + red_f[j] > goal) { red_u[0] = j; found = true; }
      if (!found) { run += red_f[j]; }
    }
    // Rounding can leave the goal just past the end: take the last slice with mass.
    if (!found) { red_u[0] = last_nonempty; run -= red_f[last_nonempty]; }
    red_f[0] = run;   // mass before the chosen slice
  }
  workgroupBarrier();
  if (lid == red_u[0]) {
    var run = red_f[0];
    var pick = best;
    var last = best;
    for (var i = lo_i; i < hi_i; i++) {
      let q = prob(i, mx);
      if (q >= tau) {
        last = i;
        run += q;
        if (run > goal) { pick = i; break; }
      }
    }
    if (run <= goal) { pick = last; }
    result[0] = select(pick, NON_FINITE, non_finite);
  }
}
