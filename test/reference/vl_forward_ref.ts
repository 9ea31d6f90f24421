// Reference forward of ERNIE-4.5-VL in f64, straight from ERNIE45.md §3: vision tower ->
// resampler -> image features scattered at the placeholders -> decoder layers with 3D RoPE and
// modality-isolated MoE. Slow and plain on purpose: the oracle for the GPU VL forward.
import { weightNames } from '../../src/model/ernie45/config.js';
import { type ErnieVlConfig, mergedDim } from '../../src/model/ernie45_vl/config.js';
import { type Grid, type PromptLayout, mergedTokens, patchPositions, promptLayout, visionSegments } from '../../src/model/ernie45_vl/positions3d.js';
import { type VisionPrefix, resamplerNames, visionNames, vlLayerNames } from '../../src/model/ernie45_vl/tensors.js';
import { type RefKvCache, type RefOutput, type WeightLookup, referenceHead, referenceLayer } from './forward_ref.js';
import * as ops from './ops.js';
import * as vl from './vl_ops.js';

export interface RefImage {
  /** [patches, C * p * p] in the processor's window order */
  pixelValues: ArrayLike<number>;
  grid: Grid;
}

/** ViT over all images at once (attention restricted to each frame): [patches, visionHidden]. */
export function referenceVisionTower(cfg: ErnieVlConfig, w: WeightLookup, prefix: VisionPrefix, images: RefImage[]): Float64Array {
  const vc = cfg.vision, D = vc.hiddenSize, heads = vc.numHeads, hd = vc.headDim, I = vc.intermediateSize;
  const grids = images.map((im) => im.grid);
  const N = grids.reduce((s, g) => s + g.t * g.h * g.w, 0);
  const P = vc.inChannels * vc.patchSize * vc.patchSize;
  const pixels = new Float64Array(N * P);
  let off = 0;
  for (const im of images) { pixels.set(im.pixelValues as ArrayLike<number>, off); off += im.pixelValues.length; }
  const names = visionNames(prefix);
  const h = vl.linear(pixels, w(names.patchEmbed), null, N, P, D);
  const { row, col } = patchPositions(grids, vc.spatialMergeSize);
  const segments = visionSegments(grids);
  for (let j = 0; j < vc.depth; j++) {
    const b = names.block(j);
    const a = vl.layerNorm(h, w(b.norm1.weight), w(b.norm1.bias), N, D, vc.layerNormEps);
    const qkv = vl.linear(a, w(b.qkv.weight), w(b.qkv.bias), N, D, 3 * D);
    // rows of qkv are [q (heads x hd) | k | v]
    const q = new Float64Array(N * D), k = new Float64Array(N * D), v = new Float64Array(N * D);
    for (let n = 0; n < N; n++) {
      q.set(qkv.subarray(n * 3 * D, n * 3 * D + D), n * D);
      k.set(qkv.subarray(n * 3 * D + D, n * 3 * D + 2 * D), n * D);
      v.set(qkv.subarray(n * 3 * D + 2 * D, n * 3 * D + 3 * D), n * D);
    }
    const qr = vl.rope2d(q, N, heads, hd, row, col, vc.ropeTheta), kr = vl.rope2d(k, N, heads, hd, row, col, vc.ropeTheta);
    const att = vl.segmentAttention(qr, kr, v, N, heads, hd, segments);
    const o = vl.linear(att, w(b.proj.weight), w(b.proj.bias), N, D, D);
    for (let i = 0; i < h.length; i++) h[i] += o[i];
    const m = vl.layerNorm(h, w(b.norm2.weight), w(b.norm2.bias), N, D, vc.layerNormEps);
    const f1 = vl.linear(m, w(b.fc1.weight), w(b.fc1.bias), N, D, I);
    for (let i = 0; i < f1.length; i++) f1[i] = vl.quickGelu(f1[i]);
    const f2 = vl.linear(f1, w(b.fc2.weight), w(b.fc2.bias), N, I, D);
    for (let i = 0; i < h.length; i++) h[i] += f2[i];
  }
  return vl.layerNorm(h, w(names.finalNorm.weight), w(names.finalNorm.bias), N, D, vc.layerNormEps);
}

/** Resampler: ViT rows [patches, D] -> one LM embedding per merged window [tokens, hidden]. */
export function referenceResampler(cfg: ErnieVlConfig, w: WeightLookup, x: Float64Array, grids: Grid[]): Float64Array {
  const m = cfg.vision.spatialMergeSize, M = mergedDim(cfg), H = cfg.text.hiddenSize, eps = cfg.vision.layerNormEps;
  const r = resamplerNames;
  // spatial merge: 4 consecutive window-ordered patch rows are one row of width 4D (a reshape)
  const rows = x.length / M;
  const mlp = (input: Float64Array, n: number, inDim: number, p: typeof r.spatial) => {
    const a = vl.linear(input, w(p.fc1.weight), w(p.fc1.bias), n, inDim, M);
    for (let i = 0; i < a.length; i++) a[i] = vl.geluErf(a[i]);
    const b = vl.linear(a, w(p.fc2.weight), w(p.fc2.bias), n, M, M);
    return vl.layerNorm(b, w(p.norm.weight), w(p.norm.bias), n, M, eps);
  };
  const s = mlp(x, rows, M, r.spatial);
  const paired = vl.temporalPairs(s, M, grids.map((g) => ({ frames: g.t, perFrame: (g.h * g.w) / (m * m) })));
  const tokens = paired.length / (2 * M);
  const t = mlp(paired, tokens, 2 * M, r.temporal);
  const out = vl.linear(t, w(r.mlp.weight), w(r.mlp.bias), tokens, M, H);
  return ops.rmsnorm(out, w(r.afterNorm), tokens, H, cfg.text.rmsNormEps);
}

export interface VlRefOutput extends RefOutput {
  layout: PromptLayout;
}

/** Prefill of a whole prompt: ids with one placeholder per merged patch of each image, in order. */
export function referenceVlForward(cfg: ErnieVlConfig, w: WeightLookup, prefix: VisionPrefix, ids: number[], images: RefImage[], kv?: RefKvCache): VlRefOutput {
  const t = cfg.text, T = ids.length, Hd = t.hiddenSize;
  const grids = images.map((im) => im.grid);
  const layout = promptLayout(ids, cfg.tokens, grids, cfg.vision.spatialMergeSize);
  const h = ops.embedding(w(weightNames.embed), Hd, ids);
  if (images.length > 0) {
    const features = referenceResampler(cfg, w, referenceVisionTower(cfg, w, prefix, images), grids);
    let f = 0;
    grids.forEach((g, k) => {
      const start = layout.imageStarts[k];
      for (let j = 0; j < mergedTokens(g, cfg.vision.spatialMergeSize); j++, f++) h.set(features.subarray(f * Hd, (f + 1) * Hd), (start + j) * Hd);
    });
  }
  const hidden: Float64Array[] = [Float64Array.from(h)];
  for (let l = 0; l < t.numLayers; l++) {
    referenceVlLayer(cfg, w, l, h, T, 0, layout, kv);
    if (l < t.numLayers - 1) hidden.push(Float64Array.from(h));
  }
  const { hn, logits } = referenceHead(t, w, h, T);
  hidden.push(hn);
  return { logits, hidden, layout };
}

/** Positions and modality of the tokens start..start+T-1 within `layout` (or generated text after it). */
function slice(layout: PromptLayout, start: number, T: number): { t: number[]; h: number[]; w: number[]; vision: number[] } {
  const n = layout.t.length, out = { t: [] as number[], h: [] as number[], w: [] as number[], vision: [] as number[] };
  for (let i = start; i < start + T; i++) {
    if (i < n) { out.t.push(layout.t[i]); out.h.push(layout.h[i]); out.w.push(layout.w[i]); out.vision.push(layout.vision[i]); }
    else { const p = i + layout.ropeDelta; out.t.push(p); out.h.push(p); out.w.push(p); out.vision.push(0); }
  }
  return out;
}

/** Decoder layer l in place on h ([T, hidden]) for tokens start..start+T-1 of the prompt `layout`: the text layer with 3D RoPE and the dual MoE. */
export function referenceVlLayer(cfg: ErnieVlConfig, w: WeightLookup, l: number, h: Float64Array, T: number, start: number, layout: PromptLayout, kv?: RefKvCache): void {
  const t = cfg.text, pos = slice(layout, start, T);
  referenceLayer(t, w, l, h, T, start, kv, {
    rope: (x, rows, heads) => vl.rope3d(x, rows, heads, t.headDim, pos, cfg.mropeSection, t.ropeTheta),
    moe: (x, rows) => dualMoe(cfg, w, l, x, rows, pos.vision),
  });
}

/** Text tokens: text router (row 0 bias) over text experts; vision tokens: vision router over vision experts; shared for all. */
function dualMoe(cfg: ErnieVlConfig, w: WeightLookup, l: number, x: Float64Array, T: number, vision: number[]): Float64Array {
  const moe = cfg.text.moe!, Hd = cfg.text.hiddenSize, n = weightNames.layer(l), vn = vlLayerNames(l);
  const E = moe.numExperts;
  const out = moe.sharedIntermediateSize > 0
    ? ops.swiglu(x, w(n.sharedGate), w(n.sharedUp), w(n.sharedDown), T, Hd, moe.sharedIntermediateSize)
    : new Float64Array(T * Hd);
  const bias = w(vn.routerBias);
  for (let i = 0; i < T; i++) {
    const isVision = vision[i] === 1;
    const router = w(isVision ? vn.visionRouter : vn.textRouter); // [hidden, E]
    const xt = x.subarray(i * Hd, (i + 1) * Hd);
    const logits = new Float64Array(E);
    for (let e = 0; e < E; e++) {
      let s = 0;
      for (let k = 0; k < Hd; k++) s += xt[k] * router[k * E + e];
      logits[e] = s;
    }
    const rowBias = Array.from({ length: E }, (_, e) => bias[(isVision ? 1 : 0) * E + e]);
    const { ids, weights } = ops.route(logits, rowBias, 1, E, moe.topK, moe.normMin);
    const inter = isVision ? cfg.visionExperts.intermediateSize : moe.expertIntermediateSize;
    for (let j = 0; j < moe.topK; j++) {
      const e = ids[j] + (isVision ? E : 0);
      const y = ops.swiglu(xt, w(n.expertGate(e)), w(n.expertUp(e)), w(n.expertDown(e)), 1, Hd, inter);
      for (let c = 0; c < Hd; c++) out[i * Hd + c] += weights[j] * y[c];
    }
  }
  return out;
}

/** Greedy continuation: prefill through a KV cache, then one token per step (generated tokens are text). */
export function referenceVlGreedy(cfg: ErnieVlConfig, w: WeightLookup, prefix: VisionPrefix, ids: number[], images: RefImage[], steps: number): number[] {
  const t = cfg.text, kvDim = t.numKvHeads * t.headDim, cap = ids.length + steps;
  const kv: RefKvCache = { keys: [], values: [] };
  for (let l = 0; l < t.numLayers; l++) { kv.keys.push(new Float64Array(cap * kvDim)); kv.values.push(new Float64Array(cap * kvDim)); }
  const prefill = referenceVlForward(cfg, w, prefix, ids, images, kv);
  const argmax = (row: Float64Array) => row.reduce((best, v, i) => (v > row[best] ? i : best), 0);
  const V = t.vocabSize, out: number[] = [];
  let next = argmax(prefill.logits.subarray((ids.length - 1) * V, ids.length * V));
  for (let s = 0; s < steps; s++) {
    out.push(next);
    if (s === steps - 1) break;
    const pos = ids.length + s;
    const h = ops.embedding(w(weightNames.embed), t.hiddenSize, [next]);
    for (let l = 0; l < t.numLayers; l++) referenceVlLayer(cfg, w, l, h, 1, pos, prefill.layout, kv);
    next = argmax(referenceHead(t, w, h, 1).logits);
  }
  return out;
}
