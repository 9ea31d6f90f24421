// Shared helpers for the quantization and package tests.
import { randn, rng } from '../helpers/random.js';

/** n values ~ N(0, sd²) from a seeded generator (deterministic across runs). */
export function gaussian(n: number, seed: number, sd: number): Float32Array {
  return randn(rng(seed), n, sd);
}

/** Σ(x - y)² / Σx². */
export function relMse(x: ArrayLike<number>, y: ArrayLike<number>): number {
  let e = 0, s = 0;
  for (let i = 0; i < x.length; i++) {
    e += (x[i]! - y[i]!) ** 2;
    s += x[i]! ** 2;
  }
  return e / s;
}
