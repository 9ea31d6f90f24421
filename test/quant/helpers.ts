// Shared helpers for the quantization and package tests.

/** n values ~ N(0, sd²) from a seeded generator (deterministic across runs). */
export function gaussian(n: number, seed: number, sd: number): Float32Array {
  let s = (seed * 2654435761) >>> 0 || 1;
  const next = () => {
    // xorshift32
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    return (s + 0.5) / 4294967296;
  };
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const r = Math.sqrt(-2 * Math.log(next())), t = 2 * Math.PI * next();
    out[i] = sd * r * Math.cos(t);
    if (i + 1 < n) out[i + 1] = sd * r * Math.sin(t);
  }
  return out;
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
