// Plain TypeScript reference ops, accumulating in f64: the oracle every WGSL kernel is tested
// against. Matrices are row-major flat arrays; weights use the checkpoint layout [out, in].
type Arr = ArrayLike<number>;

/** out[t, :] = table[ids[t], :] */
export function embedding(table: Arr, hidden: number, ids: number[]): Float64Array {
  const out = new Float64Array(ids.length * hidden);
  ids.forEach((id, t) => {
    for (let j = 0; j < hidden; j++) out[t * hidden + j] = table[id * hidden + j];
  });
  return out;
}

/** y = w * x / sqrt(mean(x^2) + eps), per row. */
export function rmsnorm(x: Arr, w: Arr, rows: number, cols: number, eps: number): Float64Array {
  const out = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    let ss = 0;
    for (let j = 0; j < cols; j++) ss += x[r * cols + j] * x[r * cols + j];
    const inv = 1 / Math.sqrt(ss / cols + eps);
    for (let j = 0; j < cols; j++) out[r * cols + j] = w[j] * x[r * cols + j] * inv;
  }
  return out;
}

/** y[t, n] = sum_k x[t, k] * W[n, k]   (x: [T, K], W: [N, K]) */
export function matmul(x: Arr, w: Arr, T: number, K: number, N: number): Float64Array {
  const out = new Float64Array(T * N);
  for (let t = 0; t < T; t++)
    for (let n = 0; n < N; n++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += x[t * K + k] * w[n * K + k];
      out[t * N + n] = s;
    }
  return out;
}

/** Interleaved (GPT-J) RoPE on [T, heads, headDim]: pair (2i, 2i+1) rotated by pos * theta^(-2i/d). */
export function rope(x: Arr, T: number, heads: number, headDim: number, positions: number[], theta: number): Float64Array {
  const out = Float64Array.from(x as ArrayLike<number>);
  for (let t = 0; t < T; t++)
    for (let h = 0; h < heads; h++)
      for (let i = 0; i < headDim / 2; i++) {
        const angle = positions[t] * Math.pow(theta, (-2 * i) / headDim);
        const c = Math.cos(angle), s = Math.sin(angle);
        const base = (t * heads + h) * headDim + 2 * i;
        const a = x[base], b = x[base + 1];
        out[base] = a * c - b * s;
        out[base + 1] = b * c + a * s;
      }
  return out;
}

/**
 * Causal GQA attention. q: [T, H, D] for positions start..start+T-1; k, v: [S, KVH, D] for
 * positions 0..S-1 (S >= start + T). Query t sees keys 0..start+t.
 */
export function attention(q: Arr, k: Arr, v: Arr, T: number, start: number, H: number, KVH: number, D: number): Float64Array {
  const out = new Float64Array(T * H * D);
  const scale = 1 / Math.sqrt(D);
  const group = H / KVH;
  for (let t = 0; t < T; t++)
    for (let h = 0; h < H; h++) {
      const kvh = Math.floor(h / group);
      const last = start + t;
      const scores = new Float64Array(last + 1);
      let max = -Infinity;
      for (let s = 0; s <= last; s++) {
        let dot = 0;
        for (let d = 0; d < D; d++) dot += q[(t * H + h) * D + d] * k[(s * KVH + kvh) * D + d];
        scores[s] = dot * scale;
        max = Math.max(max, scores[s]);
      }
      let sum = 0;
      for (let s = 0; s <= last; s++) sum += (scores[s] = Math.exp(scores[s] - max));
      for (let d = 0; d < D; d++) {
        let acc = 0;
        for (let s = 0; s <= last; s++) acc += scores[s] * v[(s * KVH + kvh) * D + d];
        out[(t * H + h) * D + d] = acc / sum;
      }
    }
  return out;
}

export const silu = (x: number) => x / (1 + Math.exp(-x));

/** SwiGLU MLP on [T, hidden]: down(silu(gate(x)) * up(x)). */
export function swiglu(x: Arr, gate: Arr, up: Arr, down: Arr, T: number, hidden: number, inter: number): Float64Array {
  const g = matmul(x, gate, T, hidden, inter);
  const u = matmul(x, up, T, hidden, inter);
  for (let i = 0; i < g.length; i++) g[i] = silu(g[i]) * u[i];
  return matmul(g, down, T, inter, hidden);
}

export interface Routing {
  /** [T, k] chosen expert ids, in the order chosen (descending biased score). */
  ids: Int32Array;
  /** [T, k] renormalised unbiased softmax weights. */
  weights: Float64Array;
}

/** ERNIE routing: softmax over logits; top-k of (softmax + bias); weights = chosen softmax / their sum. */
export function route(logits: Arr, bias: Arr | null, T: number, E: number, k: number, normMin: number): Routing {
  const ids = new Int32Array(T * k);
  const weights = new Float64Array(T * k);
  for (let t = 0; t < T; t++) {
    let max = -Infinity;
    for (let e = 0; e < E; e++) max = Math.max(max, logits[t * E + e]);
    const p = new Float64Array(E);
    let sum = 0;
    for (let e = 0; e < E; e++) sum += (p[e] = Math.exp(logits[t * E + e] - max));
    for (let e = 0; e < E; e++) p[e] /= sum;
    const order = [...p.keys()].sort((a, b) => p[b] + (bias?.[b] ?? 0) - (p[a] + (bias?.[a] ?? 0)) || a - b);
    let chosen = 0;
    for (let j = 0; j < k; j++) chosen += p[order[j]];
    chosen = Math.max(chosen, normMin);
    for (let j = 0; j < k; j++) {
      ids[t * k + j] = order[j];
      weights[t * k + j] = p[order[j]] / chosen;
    }
  }
  return { ids, weights };
}

export function softmax(x: Arr): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < x.length; i++) max = Math.max(max, x[i]);
  const out = new Float64Array(x.length);
  let sum = 0;
  for (let i = 0; i < x.length; i++) sum += (out[i] = Math.exp(x[i] - max));
  for (let i = 0; i < x.length; i++) out[i] /= sum;
  return out;
}

export function maxAbsDiff(a: Arr, b: Arr): number {
  if (a.length !== b.length) throw new Error(`length mismatch ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= m)) m = Number.isNaN(d) ? Infinity : d;
  }
  return m;
}
