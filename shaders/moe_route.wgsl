// ERNIE 4.5 expert router, one thread per token:
//   probs = softmax(logits)                       (f32)
//   chosen = top-k of (probs + correction_bias)   (the bias only picks experts)
//   weights = probs[chosen] / max(sum(probs[chosen]), norm_min)
// Ties go to the lower expert id, like a stable sort.

struct Params {
  T: u32,
  experts: u32,
  k: u32,
  norm_min: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> logits: array<f32>;          // [T, experts]
@group(0) @binding(2) var<storage, read> bias: array<f32>;            // [experts]
@group(0) @binding(3) var<storage, read_write> ids: array<u32>;       // [T, k]
@group(0) @binding(4) var<storage, read_write> weights: array<f32>;   // [T, k]

const MAX_EXPERTS = 256u;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let t = gid.x;
  if (t >= p.T) { return; }
  let base = t * p.experts;
  var mx = -3.0e38;
  for (var e = 0u; e < p.experts; e++) { mx = max(mx, logits[base + e]); }
  var probs: array<f32, MAX_EXPERTS>;
  var taken: array<bool, MAX_EXPERTS>;
  var sum = 0.0;
  for (var e = 0u; e < p.experts; e++) {
    probs[e] = exp(logits[base + e] - mx);
    sum += probs[e];
  }
  var chosen_sum = 0.0;
  for (var j = 0u; j < p.k; j++) {
    var best = 0u;
    var best_score = -3.0e38;
    for (var e = 0u; e < p.experts; e++) {
      let score = probs[e] / sum + bias[e];
      if (!taken[e] && score > best_score) { best = e; best_score = score; }
    }
    taken[best] = true;
    ids[t * p.k + j] = best;
    weights[t * p.k + j] = probs[best] / sum;
    chosen_sum += probs[best] / sum;
  }
  let denom = max(chosen_sum, p.norm_min);
  for (var j = 0u; j < p.k; j++) { weights[t * p.k + j] /= denom; }
}
