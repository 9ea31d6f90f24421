// Reference forward of ERNIE 4.5 (MoE or dense) in f64, straight from ERNIE45.md §1.7.
// Slow and simple on purpose: it is the oracle for the GPU forward on geometries no fixture has.
import { type ErnieConfig, isMoeLayer, weightNames } from '../../src/model/ernie45/config.js';
import * as ops from './ops.js';

export type WeightLookup = (name: string) => ArrayLike<number>;

export interface RefOutput {
  /** [T, vocab] */
  logits: Float64Array;
  /** hidden[l]: l = 0 embeddings, 1..L-1 outputs of layers 0..L-2, L: final-normed output. */
  hidden: Float64Array[];
}

export function referenceForward(cfg: ErnieConfig, w: WeightLookup, ids: number[]): RefOutput {
  const T = ids.length, Hd = cfg.hiddenSize;
  const h = ops.embedding(w(weightNames.embed), Hd, ids);
  const hidden: Float64Array[] = [Float64Array.from(h)];
  for (let l = 0; l < cfg.numLayers; l++) {
    referenceLayer(cfg, w, l, h, T, 0);
    if (l < cfg.numLayers - 1) hidden.push(Float64Array.from(h));
  }
  const { hn, logits } = referenceHead(cfg, w, h, T);
  hidden.push(hn);
  return { logits, hidden };
}

/** Final RMSNorm and the output matrix (lm_head, or the tied embedding) over T rows of h. */
export function referenceHead(cfg: ErnieConfig, w: WeightLookup, h: Float64Array, T: number): { hn: Float64Array; logits: Float64Array } {
  const hn = ops.rmsnorm(h, w(weightNames.finalNorm), T, cfg.hiddenSize, cfg.rmsNormEps);
  const head = cfg.tieWordEmbeddings ? w(weightNames.embed) : w(weightNames.lmHead);
  return { hn, logits: ops.matmul(hn, head, T, cfg.hiddenSize, cfg.vocabSize) };
}

/** What another model family (ERNIE-4.5-VL) changes in the decoder layer. */
export interface LayerHooks {
  /** RoPE on [T, heads, headDim] rows (default: 1D RoPE at positions start..start+T-1). */
  rope?: (x: Float64Array, T: number, heads: number) => Float64Array;
  /** An MoE layer's routed + shared experts on its post-attention-normed rows (default: the text MoE). */
  moe?: (x: Float64Array, T: number) => Float64Array;
}

/** Per layer, keys (after RoPE) and values of every cached position: [capacity, kvHeads, headDim]. */
export interface RefKvCache {
  keys: Float64Array[];
  values: Float64Array[];
}

/**
 * Decoder layer l in place on the residual stream h ([T, hidden]) of tokens at positions
 * start..start+T-1. With `kv`, their keys/values are stored there and attention sees positions
 * 0..start+T-1 of the cache (incremental decoding); without it, only these T tokens (start 0).
 */
export function referenceLayer(cfg: ErnieConfig, w: WeightLookup, l: number, h: Float64Array, T: number, start: number, kv?: RefKvCache, hooks: LayerHooks = {}): void {
  const Hd = cfg.hiddenSize, H = cfg.numHeads, KVH = cfg.numKvHeads, D = cfg.headDim;
  const positions = Array.from({ length: T }, (_, i) => start + i);
  const rope = hooks.rope ?? ((x: Float64Array, rows: number, heads: number) => ops.rope(x, rows, heads, D, positions, cfg.ropeTheta));
  const n = weightNames.layer(l);
  const a = ops.rmsnorm(h, w(n.inputNorm), T, Hd, cfg.rmsNormEps);
  const q = rope(ops.matmul(a, w(n.q), T, Hd, H * D), T, H);
  let k = rope(ops.matmul(a, w(n.k), T, Hd, KVH * D), T, KVH);
  let v = ops.matmul(a, w(n.v), T, Hd, KVH * D);
  if (kv) {
    kv.keys[l].set(k, start * KVH * D);
    kv.values[l].set(v, start * KVH * D);
    k = kv.keys[l].subarray(0, (start + T) * KVH * D);
    v = kv.values[l].subarray(0, (start + T) * KVH * D);
  }
  const att = ops.attention(q, k, v, T, start, H, KVH, D);
  const o = ops.matmul(att, w(n.o), T, H * D, Hd);
  for (let i = 0; i < h.length; i++) h[i] += o[i];
  const m = ops.rmsnorm(h, w(n.postNorm), T, Hd, cfg.rmsNormEps);
  const f = isMoeLayer(cfg, l) ? (hooks.moe ?? ((x, rows) => moe(cfg, w, l, x, rows)))(m, T) : ops.swiglu(m, w(n.gate), w(n.up), w(n.down), T, Hd, cfg.intermediateSize);
  for (let i = 0; i < h.length; i++) h[i] += f[i];
}

/** The router bias is optional (checkpoints without aux-free balancing have none). */
function optionalWeight(w: WeightLookup, name: string): ArrayLike<number> | null {
  try {
    return w(name) ?? null;
  } catch {
    return null;
  }
}

function moe(cfg: ErnieConfig, w: WeightLookup, l: number, x: Float64Array, T: number): Float64Array {
  const m = cfg.moe!, Hd = cfg.hiddenSize, n = weightNames.layer(l);
  const logits = ops.matmul(x, w(n.router), T, Hd, m.numExperts);
  const { ids, weights } = ops.route(logits, optionalWeight(w, n.routerBias), T, m.numExperts, m.topK, m.normMin);
  const out = m.sharedIntermediateSize > 0
    ? ops.swiglu(x, w(n.sharedGate), w(n.sharedUp), w(n.sharedDown), T, Hd, m.sharedIntermediateSize)
    : new Float64Array(T * Hd);
  for (let t = 0; t < T; t++) {
    const xt = x.subarray(t * Hd, (t + 1) * Hd);
    for (let j = 0; j < m.topK; j++) {
      const e = ids[t * m.topK + j];
      const y = ops.swiglu(xt, w(n.expertGate(e)), w(n.expertUp(e)), w(n.expertDown(e)), 1, Hd, m.expertIntermediateSize);
      for (let i = 0; i < Hd; i++) out[t * Hd + i] += weights[t * m.topK + j] * y[i];
    }
  }
  return out;
}
