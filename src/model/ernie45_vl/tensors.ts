// The tensors an ERNIE-4.5-VL checkpoint holds (ERNIE45.md §3.2), derived from the config alone:
// the language stack with dual MoE layers (two transposed routers, a [2, E] bias, text experts
// 0..E-1 and vision experts E..2E-1 of their own width), the vision tower and the resampler.
// Original -PT files name the tower `vision_model.*`, transformers 5 files `model.vision_model.*`.
import { ErnieError } from '../../errors.js';
import { type ErnieVlConfig, isVlMoeLayer, mergedDim } from './config.js';
import { weightNames } from '../ernie45/config.js';

export interface VlTensor {
  name: string;
  shape: number[];
  part: 'text' | 'vision' | 'resampler';
  layer?: number;
  /** checkpoint expert index, for routed experts */
  expert?: number;
}

/** Prefixes under which checkpoints store the vision tower. */
export const VISION_PREFIXES = ['model.vision_model.', 'vision_model.'] as const;
export type VisionPrefix = (typeof VISION_PREFIXES)[number];

export const visionNames = (prefix: VisionPrefix = 'model.vision_model.') => ({
  patchEmbed: `${prefix}patch_embed.proj.weight`,
  finalNorm: { weight: `${prefix}ln.weight`, bias: `${prefix}ln.bias` },
  block: (j: number) => {
    const p = `${prefix}blocks.${j}`;
    const wb = (n: string) => ({ weight: `${p}.${n}.weight`, bias: `${p}.${n}.bias` });
    return { norm1: wb('norm1'), qkv: wb('attn.qkv'), proj: wb('attn.proj'), norm2: wb('norm2'), fc1: wb('mlp.fc1'), fc2: wb('mlp.fc2') };
  },
});

export const resamplerNames = (() => {
  const p = 'model.resampler_model';
  const wb = (n: string) => ({ weight: `${p}.${n}.weight`, bias: `${p}.${n}.bias` });
  return {
    spatial: { fc1: wb('spatial_linear.0'), fc2: wb('spatial_linear.2'), norm: wb('spatial_linear.3') },
    temporal: { fc1: wb('temporal_linear.0'), fc2: wb('temporal_linear.2'), norm: wb('temporal_linear.3') },
    mlp: wb('mlp'),
    afterNorm: `${p}.after_norm.weight`,
  };
})();

/** Names of a dual-MoE layer's VL-only tensors. */
export const vlLayerNames = (i: number) => ({
  /** [hidden, experts], transposed against the text-only model's router */
  textRouter: `model.layers.${i}.mlp.gate.weight`,
  visionRouter: `model.layers.${i}.mlp.gate.weight_1`,
  /** [2, experts]: row 0 text, row 1 vision */
  routerBias: `model.layers.${i}.mlp.moe_statics.e_score_correction_bias`,
});

/** Which prefix a checkpoint uses for the vision tower, from its tensor names. */
export function visionPrefix(names: Iterable<string>, file = 'checkpoint'): VisionPrefix {
  const all = [...names];
  for (const p of VISION_PREFIXES) if (all.includes(visionNames(p).patchEmbed)) return p;
  throw new ErnieError('MISSING_TENSOR', `${file}: no vision tower: neither ${VISION_PREFIXES.map((p) => visionNames(p).patchEmbed).join(' nor ')} is present`);
}

/** Every tensor of the model with its shape, in a canonical order. */
export function expectedVlTensors(cfg: ErnieVlConfig, prefix: VisionPrefix = 'model.vision_model.'): VlTensor[] {
  const out: VlTensor[] = [];
  const t = cfg.text, H = t.hiddenSize, moe = t.moe!;
  const push = (part: VlTensor['part'], name: string, shape: number[], extra: Partial<VlTensor> = {}) => out.push({ name, shape, part, ...extra });
  push('text', weightNames.embed, [t.vocabSize, H]);
  if (!t.tieWordEmbeddings) push('text', weightNames.lmHead, [t.vocabSize, H]);
  const qDim = t.numHeads * t.headDim, kvDim = t.numKvHeads * t.headDim;
  for (let l = 0; l < t.numLayers; l++) {
    const n = weightNames.layer(l), layer = { layer: l };
    push('text', n.inputNorm, [H], layer);
    push('text', n.q, [qDim, H], layer); push('text', n.k, [kvDim, H], layer); push('text', n.v, [kvDim, H], layer); push('text', n.o, [H, qDim], layer);
    push('text', n.postNorm, [H], layer);
    if (!isVlMoeLayer(cfg, l)) {
      const I = t.intermediateSize;
      push('text', n.gate, [I, H], layer); push('text', n.up, [I, H], layer); push('text', n.down, [H, I], layer);
      continue;
    }
    const v = vlLayerNames(l), E = moe.numExperts, Ev = cfg.visionExperts.numExperts;
    push('text', v.textRouter, [H, E], layer);
    push('text', v.visionRouter, [H, Ev], layer);
    push('text', v.routerBias, [2, E], layer);
    const S = moe.sharedIntermediateSize;
    if (S > 0) { push('text', n.sharedGate, [S, H], layer); push('text', n.sharedUp, [S, H], layer); push('text', n.sharedDown, [H, S], layer); }
    for (let e = 0; e < E + Ev; e++) {
      const I = e < E ? moe.expertIntermediateSize : cfg.visionExperts.intermediateSize;
      const x = { layer: l, expert: e };
      push('text', n.expertGate(e), [I, H], x); push('text', n.expertUp(e), [I, H], x); push('text', n.expertDown(e), [H, I], x);
    }
  }
  push('text', weightNames.finalNorm, [H]);

  const vc = cfg.vision, D = vc.hiddenSize, vn = visionNames(prefix);
  push('vision', vn.patchEmbed, [D, vc.inChannels * vc.patchSize * vc.patchSize]);
  for (let j = 0; j < vc.depth; j++) {
    const b = vn.block(j), layer = { layer: j };
    const wb = (x: { weight: string; bias: string }, w: number[], bias: number) => { push('vision', x.weight, w, layer); push('vision', x.bias, [bias], layer); };
    wb(b.norm1, [D], D); wb(b.qkv, [3 * D, D], 3 * D); wb(b.proj, [D, D], D);
    wb(b.norm2, [D], D); wb(b.fc1, [vc.intermediateSize, D], vc.intermediateSize); wb(b.fc2, [D, vc.intermediateSize], D);
  }
  push('vision', vn.finalNorm.weight, [D]); push('vision', vn.finalNorm.bias, [D]);

  const M = mergedDim(cfg), r = resamplerNames;
  const wb = (x: { weight: string; bias: string }, w: number[]) => { push('resampler', x.weight, w); push('resampler', x.bias, [w[0]]); };
  wb(r.spatial.fc1, [M, M]); wb(r.spatial.fc2, [M, M]); wb(r.spatial.norm, [M]);
  wb(r.temporal.fc1, [M, M * vc.temporalMergeSize]); wb(r.temporal.fc2, [M, M]); wb(r.temporal.norm, [M]);
  wb(r.mlp, [H, M]);
  push('resampler', r.afterNorm, [H]);
  return out;
}
