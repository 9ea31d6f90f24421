// The meaning of a SampleStep (src/sampling/params.ts), written out on the CPU: the
// reference a GPU sampler is checked against, and what CPU models (tests) use.
//
// Order: logit_bias is added; penalties are applied over `penaltyTokens` (repetition: HF's
// divide-positive / multiply-negative; frequency: minus count * f; presence: minus p once);
// ids outside `allowedTokens` and ids >= vocab are removed. Then temperature 0 = argmax (lowest
// id on ties); otherwise p_i = exp((l_i - max) / T), the kept set is every token with
// p_i >= tau, tau being the largest threshold that keeps top_k tokens and the largest that keeps
// top_p of the mass (the stricter of the two), and at least min_p (p_max is 1); the token is
// drawn in id order with `u` over the kept mass. This is what shaders/sample.wgsl computes.

import { penalised, type SampleStep } from './params';

/** Logits after bias, penalties and masks (masked ids are -Infinity). */
export function processLogits(logits: ArrayLike<number>, vocab: number, p: SampleStep): Float64Array {
  const out = new Float64Array(vocab).fill(-Infinity);
  const allowed = p.allowedTokens;
  if (allowed) {
    for (const id of allowed) if (id < vocab) out[id] = logits[id]!;
  } else {
    for (let i = 0; i < vocab; i++) out[i] = logits[i]!;
  }
  const mask = p.allowedMask;
  if (mask) for (let i = 0; i < vocab; i++) if (!maskHas(mask, i)) out[i] = -Infinity;
  for (const [id, bias] of p.logitBias) if (id < vocab && out[id] !== -Infinity) out[id] += bias;
  const penalize = penalised(p);
  if (penalize && p.penaltyTokens.length > 0) {
    const counts = new Map<number, number>();
    for (const id of p.penaltyTokens) counts.set(id, (counts.get(id) ?? 0) + 1);
    for (const [id, n] of counts) {
      if (id >= vocab || out[id] === -Infinity) continue;
      let l = out[id]!;
      if (p.repetitionPenalty !== 1) l = l > 0 ? l / p.repetitionPenalty : l * p.repetitionPenalty;
      l -= n * p.frequencyPenalty + p.presencePenalty;
      out[id] = l;
    }
  }
  return out;
}

/** Chooses a token from processed logits. Returns -1 when every id is masked. */
export function sampleProcessed(l: Float64Array, p: SampleStep): number {
  let best = -1;
  let mx = -Infinity;
  for (let i = 0; i < l.length; i++) {
    if (l[i]! > mx) {
      mx = l[i]!;
      best = i;
    }
  }
  if (best < 0 || p.temperature <= 0) return best;
  const probs = new Float64Array(l.length);
  let total = 0;
  for (let i = 0; i < l.length; i++) total += probs[i] = Math.exp((l[i]! - mx) / p.temperature);
  const sorted = Float64Array.from(probs).sort().reverse();
  let tau = 0;
  if (p.topK > 0 && p.topK < l.length) tau = Math.max(tau, sorted[p.topK - 1]!);
  if (p.topP < 1) {
    let mass = 0;
    for (const q of sorted) {
      mass += q;
      if (mass >= p.topP * total) {
        tau = Math.max(tau, q);
        break;
      }
    }
  }
  tau = Math.max(tau, p.minP);
  let kept = 0;
  for (const q of probs) if (q >= tau && q > 0) kept += q;
  const target = p.u * kept;
  let run = 0;
  let last = best;
  for (let i = 0; i < probs.length; i++) {
    const q = probs[i]!;
    if (q < tau || q <= 0) continue;
    last = i;
    run += q;
    if (run > target) return i;
  }
  return last;
}

/** processLogits + sampleProcessed. */
export function sampleLogits(logits: ArrayLike<number>, vocab: number, p: SampleStep): number {
  return sampleProcessed(processLogits(logits, vocab, p), p);
}

/** Whether bit `id` of a token bitmask (SampleStep.allowedMask) is set. */
export function maskHas(mask: Uint32Array, id: number): boolean {
  return id >>> 5 < mask.length && (mask[id >>> 5]! & (1 << (id & 31))) !== 0;
}
