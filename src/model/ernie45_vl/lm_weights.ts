// The VL language stack's weights. The text side is loaded by the text model's own loader
// through a view of the checkpoint in the text layout (router transposed back to [E, hidden],
// bias row 0, experts 0..E-1); each dual-MoE layer's vision side (router gate.weight_1, bias row
// 1) is uploaded here as MoeWeights of expert set 1, so one MoE block runs either modality. The
// routed experts of both sets (vision experts E..2E-1, of their own width) go to the one expert
// cache (src/experts/): all resident when the budget holds them, streamed otherwise.
import { ErnieError } from '../../errors.js';
import type { GpuContext } from '../../gpu/context.js';
import { type FfnWeights, type ModelWeights, type MoeWeights, type WeightSource, loadWeights } from '../ernie45/weights.js';
import { packageExperts, weightSourceExperts } from '../ernie45/expert_source.js';
import type { ExpertCacheOptions } from '../../experts/budget.js';
import { type ExpertSource, expertSets } from '../../experts/source.js';
import type { ErniePackage } from '../../package/reader.js';
import { type ErnieVlConfig, isVlMoeLayer } from './config.js';
import { vlLayerNames } from './tensors.js';

function transpose(x: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = x[r * cols + c];
  return out;
}

/** The checkpoint as the text model sees it: dual-MoE routers and biases reduced to the text side. */
export function textView(cfg: ErnieVlConfig, src: WeightSource): WeightSource {
  const E = cfg.text.moe!.numExperts, H = cfg.text.hiddenSize;
  const routers = new Set<string>(), biases = new Set<string>();
  for (let l = 0; l < cfg.text.numLayers; l++) if (isVlMoeLayer(cfg, l)) { routers.add(vlLayerNames(l).textRouter); biases.add(vlLayerNames(l).routerBias); }
  return {
    has: (name) => src.has(name),
    info: (name) => {
      const i = src.info(name);
      if (routers.has(name)) return { ...i, shape: [E, H] };
      if (biases.has(name)) return { ...i, shape: [E] };
      return i;
    },
    readF32: async (name, signal) => {
      const data = await src.readF32(name, signal);
      if (routers.has(name)) return transpose(data, H, E);
      if (biases.has(name)) return data.slice(0, E);
      return data;
    },
    readRaw: (name, signal) => {
      if (routers.has(name) || biases.has(name)) throw new ErnieError('UNSUPPORTED', `${name}: read it with readF32 (the VL view re-lays it out)`);
      return src.readRaw(name, signal);
    },
  };
}

/**
 * The routed experts of a VL checkpoint as one ExpertSource of two sets per dual-MoE layer: set
 * 0 the text experts (0..E-1), set 1 the vision experts (E..2E-1, their own width). Both stream
 * through the one expert cache; a package reads each expert's verified shard.
 */
export function vlExperts(cfg: ErnieVlConfig, src: WeightSource, pkg?: ErniePackage): ExpertSource {
  const text = textView(cfg, src);
  const vision = { firstExpert: cfg.text.moe!.numExperts, intermediateSize: cfg.visionExperts.intermediateSize, label: 'vision experts' };
  return pkg
    ? expertSets([packageExperts(cfg.text, pkg, text), packageExperts(cfg.text, pkg, src, vision)])
    : expertSets([weightSourceExperts(cfg.text, text), weightSourceExperts(cfg.text, src, vision)]);
}

/** The vision side of one dual-MoE layer: its router (gate.weight_1), bias row 1, the text side's shared expert; experts from set 1. */
async function visionMoe(ctx: GpuContext, cfg: ErnieVlConfig, src: WeightSource, l: number, shared: FfnWeights | null, signal?: AbortSignal): Promise<MoeWeights> {
  const E = cfg.visionExperts.numExperts, H = cfg.text.hiddenSize;
  const v = vlLayerNames(l);
  const router = transpose(await src.readF32(v.visionRouter, signal), H, E);
  const bias = (await src.readF32(v.routerBias, signal)).slice(E, 2 * E);
  return {
    router: { buffer: ctx.upload(v.visionRouter, router), dtype: 'f32', rows: E, cols: H },
    routerBias: ctx.upload(`${v.routerBias}[1]`, bias),
    shared,
    expertSet: 1,
  };
}

export interface VlLmWeights {
  /** the text model's weights; MoE layers hold the text routers; `experts` serves both expert sets */
  text: ModelWeights;
  /** per layer, the vision side of a dual-MoE layer (null for dense layers) */
  vision: (MoeWeights | null)[];
}

export async function loadVlLmWeights(
  ctx: GpuContext,
  cfg: ErnieVlConfig,
  src: WeightSource,
  opts: {
    signal?: AbortSignal;
    maxBindingBytes?: number;
    maxBatch?: number;
    expertCache?: ExpertCacheOptions;
    /** Where the text and vision experts are read from (default: vlExperts(cfg, src); packages pass their verified expert shards). */
    experts?: ExpertSource;
  } = {},
): Promise<VlLmWeights> {
  if (cfg.visionExperts.intermediateSize > cfg.text.moe!.expertIntermediateSize) {
    throw new ErnieError('UNSUPPORTED', `vision experts wider (${cfg.visionExperts.intermediateSize}) than text experts (${cfg.text.moe!.expertIntermediateSize}) are not supported`);
  }
  const experts = opts.experts ?? vlExperts(cfg, src);
  const text = await loadWeights(ctx, cfg.text, textView(cfg, src), { signal: opts.signal, maxBindingBytes: opts.maxBindingBytes, maxBatch: opts.maxBatch, expertCache: opts.expertCache, experts });
  const vision: (MoeWeights | null)[] = [];
  for (let l = 0; l < cfg.text.numLayers; l++) {
    const m = text.layers[l].moe;
    vision.push(m ? await visionMoe(ctx, cfg, src, l, m.shared, opts.signal) : null);
  }
  return { text, vision };
}
