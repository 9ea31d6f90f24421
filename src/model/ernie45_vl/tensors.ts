// The tensors an ERNIE-4.5-VL checkpoint holds (ERNIE45.md §3.2), derived from the config alone:
// the language stack with dual MoE layers (two transposed routers, a [2, E] bias, text experts
// 0..E-1 and vision experts E..2E-1 of their own width), the vision tower and the resampler.
// Original -PT files name the tower `vision_model.*`, transformers 5 files `model.vision_model.*`.
import { ErnieError } from '../../errors.js';
import { type ErnieVlConfig, mergedDim } from './config.js';
import { weightNames } from '../ernie45/config.js';
import { type ExpectedTensor, expectedTensors } from '../../package/tensors.js';

/** A tensor of the VL model: the package's ExpectedTensor (name, shape, role) plus which part holds it. */
export interface VlTensor extends ExpectedTensor {
  part: 'text' | 'vision' | 'resampler';
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

/**
 * Every tensor of the model with its shape and package role, in the package's canonical order: the
 * text model's list (expectedTensors of the language stack) with each dual-MoE layer's routers
 * transposed ([H, E] text, [H, Ev] vision after it), its bias [2, E] and, after the text experts,
 * the vision experts E..E+Ev-1 of their own width; then the vision tower and the resampler.
 */
export function expectedVlTensors(cfg: ErnieVlConfig, prefix: VisionPrefix = 'model.vision_model.'): VlTensor[] {
  const out: VlTensor[] = [];
  const t = cfg.text, H = t.hiddenSize, moe = t.moe!, E = moe.numExperts, Ev = cfg.visionExperts.numExperts, Iv = cfg.visionExperts.intermediateSize;
  for (const x of expectedTensors(t)) {
    const l = x.layer!;
    if (x.role === 'router') {
      out.push({ ...x, shape: [H, E], part: 'text' });
      out.push({ name: vlLayerNames(l).visionRouter, shape: [H, Ev], role: 'router', layer: l, part: 'text' });
      continue;
    }
    if (x.role === 'router_bias') { out.push({ ...x, shape: [2, E], part: 'text' }); continue; }
    out.push({ ...x, part: 'text' });
    // after the last text expert's down_proj: the vision experts
    if (x.role === 'expert' && x.expert === E - 1 && x.proj === 'down') {
      const n = weightNames.layer(l);
      for (let e = E; e < E + Ev; e++) {
        const v = { role: 'expert' as const, layer: l, expert: e, modality: 'vision' as const, part: 'text' as const };
        out.push({ ...v, name: n.expertGate(e), shape: [Iv, H], proj: 'gate', inputNorm: n.postNorm });
        out.push({ ...v, name: n.expertUp(e), shape: [Iv, H], proj: 'up', inputNorm: n.postNorm });
        out.push({ ...v, name: n.expertDown(e), shape: [H, Iv], proj: 'down' });
      }
    }
  }

  const vc = cfg.vision, D = vc.hiddenSize, vn = visionNames(prefix);
  const matrix = (part: VlTensor['part'], name: string, shape: number[], layer?: number) => out.push({ name, shape, role: 'vision_matrix', part, ...(layer !== undefined ? { layer } : {}) });
  const vector = (part: VlTensor['part'], name: string, n: number, role: 'norm' | 'bias', layer?: number) => out.push({ name, shape: [n], role, part, ...(layer !== undefined ? { layer } : {}) });
  matrix('vision', vn.patchEmbed, [D, vc.inChannels * vc.patchSize * vc.patchSize]);
  for (let j = 0; j < vc.depth; j++) {
    const b = vn.block(j);
    const affine = (x: { weight: string; bias: string }, w: number[]) => { matrix('vision', x.weight, w, j); vector('vision', x.bias, w[0], 'bias', j); };
    const norm = (x: { weight: string; bias: string }) => { vector('vision', x.weight, D, 'norm', j); vector('vision', x.bias, D, 'bias', j); };
    norm(b.norm1); affine(b.qkv, [3 * D, D]); affine(b.proj, [D, D]);
    norm(b.norm2); affine(b.fc1, [vc.intermediateSize, D]); affine(b.fc2, [D, vc.intermediateSize]);
  }
  vector('vision', vn.finalNorm.weight, D, 'norm'); vector('vision', vn.finalNorm.bias, D, 'bias');

  const M = mergedDim(cfg), r = resamplerNames;
  const affine = (x: { weight: string; bias: string }, w: number[]) => { matrix('resampler', x.weight, w); vector('resampler', x.bias, w[0], 'bias'); };
  const norm = (x: { weight: string; bias: string }, n: number) => { vector('resampler', x.weight, n, 'norm'); vector('resampler', x.bias, n, 'bias'); };
  affine(r.spatial.fc1, [M, M]); affine(r.spatial.fc2, [M, M]); norm(r.spatial.norm, M);
  affine(r.temporal.fc1, [M, M * vc.temporalMergeSize]); affine(r.temporal.fc2, [M, M]); norm(r.temporal.norm, M);
  affine(r.mlp, [H, M]);
  vector('resampler', r.afterNorm, H, 'norm');
  return out;
}

/** The package's tensor names use the transformers 5 prefix; `checkpointName` maps one to a checkpoint using `prefix`. */
export function checkpointName(name: string, prefix: VisionPrefix): string {
  return prefix !== 'model.vision_model.' && name.startsWith('model.vision_model.') ? prefix + name.slice('model.vision_model.'.length) : name;
}
