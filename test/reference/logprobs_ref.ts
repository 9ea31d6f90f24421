// CPU reference of shaders/logprobs.wgsl in f64: log-softmax of a row and its top-k
// (logit descending, lowest id first on ties).
export function logSoftmax(logits: ArrayLike<number>, vocab = logits.length): Float64Array {
  let mx = -Infinity;
  for (let i = 0; i < vocab; i++) mx = Math.max(mx, logits[i]!);
  let s = 0;
  for (let i = 0; i < vocab; i++) s += Math.exp(logits[i]! - mx);
  const logZ = Math.log(s);
  const out = new Float64Array(vocab);
  for (let i = 0; i < vocab; i++) out[i] = logits[i]! - mx - logZ;
  return out;
}

export function topLogprobs(logits: ArrayLike<number>, top: number, vocab = logits.length): { id: number; logprob: number }[] {
  const lp = logSoftmax(logits, vocab);
  const ids = [...lp.keys()].sort((a, b) => lp[b]! - lp[a]! || a - b);
  return ids.slice(0, top).map((id) => ({ id, logprob: lp[id]! }));
}
