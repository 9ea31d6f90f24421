// The LM's 3D RoPE as a cos/sin table for the ordinary interleaved rope kernel (ERNIE45.md §3.6):
// frequency j keeps its own theta^(-2j/headDim) but takes its position from h (j < h+w, j even),
// w (j < h+w, j odd) or t (j >= h+w). With t = h = w it is exactly ropeTable's 1D table.
export interface Positions3d {
  t: ArrayLike<number>;
  h: ArrayLike<number>;
  w: ArrayLike<number>;
}

/** [T, headDim/2, 2] (cos, sin), computed in f64 and stored f32. */
export function mropeTable(pos: Positions3d, headDim: number, theta: number, section: [number, number, number]): Float32Array {
  const half = headDim / 2, hw = section[0] + section[1], T = pos.t.length;
  const out = new Float32Array(T * half * 2);
  for (let j = 0; j < half; j++) {
    const invFreq = Math.pow(theta, (-2 * j) / headDim);
    const src = j >= hw ? pos.t : j % 2 === 0 ? pos.h : pos.w;
    for (let i = 0; i < T; i++) {
      const angle = src[i] * invFreq;
      out[(i * half + j) * 2] = Math.cos(angle);
      out[(i * half + j) * 2 + 1] = Math.sin(angle);
    }
  }
  return out;
}
