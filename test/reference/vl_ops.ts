// Plain f64 reference ops of the ERNIE-4.5-VL vision tower, resampler and 3D RoPE: the oracle
// for the VL kernels. Row-major flat arrays; weights in the checkpoint layout [out, in].
type Arr = ArrayLike<number>;

/** y = (x - mean) / sqrt(var + eps) * w + b per row (biased variance, as torch.nn.LayerNorm). */
export function layerNorm(x: Arr, w: Arr, b: Arr, rows: number, cols: number, eps: number): Float64Array {
  const out = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    let mean = 0;
    for (let j = 0; j < cols; j++) mean += x[r * cols + j];
    mean /= cols;
    let v = 0;
    for (let j = 0; j < cols; j++) v += (x[r * cols + j] - mean) ** 2;
    const inv = 1 / Math.sqrt(v / cols + eps);
    for (let j = 0; j < cols; j++) out[r * cols + j] = (x[r * cols + j] - mean) * inv * w[j] + b[j];
  }
  return out;
}

/** y[t, n] = sum_k x[t, k] W[n, k] + bias[n] */
export function linear(x: Arr, w: Arr, bias: Arr | null, T: number, K: number, N: number): Float64Array {
  const out = new Float64Array(T * N);
  for (let t = 0; t < T; t++)
    for (let n = 0; n < N; n++) {
      let s = bias ? bias[n] : 0;
      for (let k = 0; k < K; k++) s += x[t * K + k] * w[n * K + k];
      out[t * N + n] = s;
    }
  return out;
}

export const quickGelu = (x: number) => x / (1 + Math.exp(-1.702 * x));

/** erf to ~1e-15: Maclaurin series near 0, Lentz continued fraction for erfc in the tails. */
export function erf(x: number): number {
  const ax = Math.abs(x);
  if (ax < 3) {
    let term = ax, sum = ax;
    for (let n = 1; n < 200; n++) {
      term *= (-ax * ax) / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * sum;
  }
  if (ax > 27) return Math.sign(x);
  // erfc(x) = exp(-x^2)/sqrt(pi) * 1/(x + 1/2/(x + 1/(x + 3/2/(x + ...))))
  let f = ax, c = ax, d = 0;
  for (let n = 1; n < 300; n++) {
    const a = n / 2;
    d = ax + a * d; d = 1 / d;
    c = ax + a / c;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  const erfc = Math.exp(-ax * ax) / Math.sqrt(Math.PI) / f;
  return Math.sign(x) * (1 - erfc);
}

/** Exact GELU: x * Phi(x) = x/2 * (1 + erf(x / sqrt 2)). */
export const geluErf = (x: number) => 0.5 * x * (1 + erf(x / Math.SQRT2));

/** inv_freq of the vision 2D RoPE: theta^(-2i / (headDim/2)), i < headDim/4. */
export function visionInvFreq(headDim: number, theta: number): Float64Array {
  const spatial = headDim / 2;
  return Float64Array.from({ length: spatial / 2 }, (_, i) => Math.pow(theta, (-2 * i) / spatial));
}

/**
 * Rotate-half 2D RoPE on [N, heads, D]: dims d and d + D/2 are rotated together by angle
 * row * f[d] (d < D/4) or col * f[d - D/4] (D/4 <= d < D/2).
 */
export function rope2d(x: Arr, N: number, heads: number, D: number, row: ArrayLike<number>, col: ArrayLike<number>, theta: number): Float64Array {
  const f = visionInvFreq(D, theta), q = D / 4, half = D / 2;
  const out = Float64Array.from(x as ArrayLike<number>);
  for (let n = 0; n < N; n++)
    for (let hd = 0; hd < heads; hd++)
      for (let d = 0; d < half; d++) {
        const angle = d < q ? row[n] * f[d] : col[n] * f[d - q];
        const c = Math.cos(angle), s = Math.sin(angle);
        const base = (n * heads + hd) * D;
        const a = x[base + d], b = x[base + d + half];
        out[base + d] = a * c - b * s;
        out[base + d + half] = b * c + a * s;
      }
  return out;
}

/**
 * Bidirectional multi-head attention restricted to segments: token i attends to every token of
 * its own segment [seg[k], seg[k+1]). q, k, v, out: [N, heads, D].
 */
export function segmentAttention(q: Arr, k: Arr, v: Arr, N: number, heads: number, D: number, segments: number[]): Float64Array {
  const out = new Float64Array(N * heads * D);
  const scale = 1 / Math.sqrt(D);
  for (let s = 0; s + 1 < segments.length; s++) {
    const a = segments[s], b = segments[s + 1];
    const scores = new Float64Array(b - a);
    for (let i = a; i < b; i++)
      for (let hd = 0; hd < heads; hd++) {
        let max = -Infinity;
        for (let j = a; j < b; j++) {
          let dot = 0;
          for (let d = 0; d < D; d++) dot += q[(i * heads + hd) * D + d] * k[(j * heads + hd) * D + d];
          scores[j - a] = dot * scale;
          max = Math.max(max, scores[j - a]);
        }
        let sum = 0;
        for (let j = 0; j < b - a; j++) sum += (scores[j] = Math.exp(scores[j] - max));
        for (let d = 0; d < D; d++) {
          let acc = 0;
          for (let j = a; j < b; j++) acc += scores[j - a] * v[(j * heads + hd) * D + d];
          out[(i * heads + hd) * D + d] = acc / sum;
        }
      }
  }
  return out;
}

/**
 * The resampler's temporal slicing (temporal merge 2): per item of `frames` frames of `perFrame`
 * merged rows, pair frames (0,1), (2,3), ... side by side; a still image (1 frame) pairs with itself.
 * x: [rows, C] -> [rows / 2 (videos) or rows (images), 2C].
 */
export function temporalPairs(x: Arr, C: number, items: Array<{ frames: number; perFrame: number }>): Float64Array {
  const pieces: Array<[number, number]> = [];
  let offset = 0;
  for (const it of items) {
    for (let f = 0; f < it.frames; f += 2) {
      const second = it.frames > 1 ? f + 1 : f;
      for (let r = 0; r < it.perFrame; r++) pieces.push([offset + f * it.perFrame + r, offset + second * it.perFrame + r]);
    }
    offset += it.frames * it.perFrame;
  }
  const out = new Float64Array(pieces.length * 2 * C);
  pieces.forEach(([a, b], i) => {
    for (let c = 0; c < C; c++) {
      out[i * 2 * C + c] = x[a * C + c];
      out[i * 2 * C + C + c] = x[b * C + c];
    }
  });
  return out;
}

/**
 * Interleaved 3D RoPE on [T, heads, D]: pair (2j, 2j+1) rotated by theta^(-2j/D) times the
 * token's h position (j < h+w, j even), w position (j < h+w, j odd) or t position (j >= h+w).
 */
export function rope3d(x: Arr, T: number, heads: number, D: number, pos: { t: ArrayLike<number>; h: ArrayLike<number>; w: ArrayLike<number> }, section: [number, number, number], theta: number): Float64Array {
  const out = Float64Array.from(x as ArrayLike<number>);
  const hw = section[0] + section[1];
  for (let i = 0; i < T; i++)
    for (let hd = 0; hd < heads; hd++)
      for (let j = 0; j < D / 2; j++) {
        const p = j >= hw ? pos.t[i] : j % 2 === 0 ? pos.h[i] : pos.w[i];
        const angle = p * Math.pow(theta, (-2 * j) / D);
        const c = Math.cos(angle), s = Math.sin(angle);
        const base = (i * heads + hd) * D + 2 * j;
        const a = x[base], b = x[base + 1];
        out[base] = a * c - b * s;
        out[base + 1] = b * c + a * s;
      }
  return out;
}

/** [rows, cols] -> [cols, rows] */
export function transpose(x: Arr, rows: number, cols: number): Float64Array {
  const out = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = x[r * cols + c];
  return out;
}
