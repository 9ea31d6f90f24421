// The acceptance check the quantized matmul tests share: a kernel's output against x·Wᵀ (+ base)
// computed in f64 from the dequantized weights.

/** Checks got against x·Wᵀ (+ base) computed in f64: the brief's bound and the per-output f32 summation bound. */
export function checkMatmul(got: Float32Array, x: Float32Array, w: Float32Array, T: number, K: number, N: number, base: Float32Array | null, label: string): void {
  const want = new Float64Array(T * N), mag = new Float64Array(T * N);
  let scale = 1e-30;
  for (let t = 0; t < T; t++) {
    for (let n = 0; n < N; n++) {
      let s = base ? base[t * N + n]! : 0, m = Math.abs(s);
      for (let k = 0; k < K; k++) {
        const p = x[t * K + k]! * w[n * K + k]!;
        s += p;
        m += Math.abs(p);
      }
      want[t * N + n] = s;
      mag[t * N + n] = m;
      scale = Math.max(scale, Math.abs(s));
    }
  }
  let worst = 0, worstI = -1, bad = -1;
  for (let i = 0; i < want.length; i++) {
    const e = Math.abs(got[i]! - want[i]!);
    if (!(e <= worst)) (worst = e), (worstI = i);
    if (bad < 0 && !(e <= (K + 2) * 2 ** -23 * mag[i]! + 1e-30)) bad = i;
  }
  const rel = worst / scale;
  if (!(rel < 1e-5) || bad >= 0) {
    const i = bad >= 0 ? bad : worstI;
    throw new Error(`${label}: relative error ${rel.toExponential(2)}; output ${i} (token ${Math.floor(i / N)}, row ${i % N}) got ${got[i]}, want ${want[i]} (Σ|xw| ${mag[i]})`);
  }
}
