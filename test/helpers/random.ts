// Deterministic test data: the same seed gives the same inputs on every run. The numbers come
// from the project's one seeded generator (src/sampling/rng.ts, the sampler's).
import { Rng } from '../../src/sampling/rng.js';

/** Uniform numbers in [0, 1) (24-bit steps) from `seed`, any safe integer. */
export function rng(seed: number): () => number {
  const r = new Rng(seed);
  return () => r.uniform();
}

/** n normal samples (Box-Muller) times `scale`. */
export function randn(r: () => number, n: number, scale = 1): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = Math.max(r(), 1e-12), v = r();
    out[i] = scale * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
  return out;
}
