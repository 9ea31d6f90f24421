// The VL language stack's weights. The text side is loaded by the text model's own loader
// through a view of the checkpoint in the text layout (router transposed back to [E, hidden],
// bias row 0, experts 0..E-1); the vision experts of each dual-MoE layer (router gate.weight_1,
// bias row 1, experts E..2E-1 of their own width) are uploaded here as MoeWeights too, so one
// MoE block runs either modality.
import { ErnieError } from '../../errors.js';
import type { GpuContext } from '../../gpu/context.js';
import type { GpuWeight } from '../../kernels/common.js';
import { weightNames } from '../ernie45/config.js';
import { type ExpertStack, type FfnWeights, type ModelWeights, type MoeWeights, type WeightSource, loadWeights, storedDtype } from '../ernie45/weights.js';
import type { ExpertCacheOptions } from '../../experts/budget.js';
import type { ExpertSource } from '../../experts/source.js';
import { rowBytes } from '../../quant/layouts.js';
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
 * Vision-expert MoE weights of one dual-MoE layer, sharing the text side's shared expert. The
 * experts keep their stored format (a package's q4 layouts, f16; f32 otherwise), stacked by
 * expert so the grouped expert matmul reads them through an identity slot table, as it reads the
 * expert cache's slots for text experts.
 */
async function visionMoe(ctx: GpuContext, cfg: ErnieVlConfig, src: WeightSource, l: number, shared: FfnWeights | null, maxBinding: number, signal?: AbortSignal): Promise<MoeWeights> {
  const E = cfg.visionExperts.numExperts, I = cfg.visionExperts.intermediateSize, H = cfg.text.hiddenSize, first = cfg.text.moe!.numExperts;
  const n = weightNames.layer(l), v = vlLayerNames(l);
  const router = transpose(await src.readF32(v.visionRouter, signal), H, E);
  const bias = (await src.readF32(v.routerBias, signal)).slice(E, 2 * E);
  /** Experts stacked in blocks of whole experts that fit one binding; each expert gives `rows` rows. */
  const stack = async (label: string, names: (e: number) => string[], rows: number, cols: number): Promise<ExpertStack> => {
    const dtype = storedDtype(src, names(first)[0]!);
    for (let e = first; e < first + E; e++) {
      for (const name of names(e)) if (storedDtype(src, name) !== dtype) throw new ErnieError('UNSUPPORTED', `${name} is ${storedDtype(src, name)}, but layer ${l}'s other vision experts are ${dtype}: a layer's vision experts must share one format`);
    }
    const expertBytes = rows * (dtype === 'f32' ? cols * 4 : dtype === 'f16' ? cols * 2 : rowBytes(dtype, cols));
    const perBlock = Math.min(E, Math.floor(maxBinding / expertBytes));
    if (perBlock < 1) throw new ErnieError('GPU_LIMIT', `${label}: one expert (${expertBytes} bytes) exceeds the binding limit of ${maxBinding} bytes`);
    const blocks: ExpertStack['blocks'] = [];
    for (let e0 = 0; e0 < E; e0 += perBlock) {
      const count = Math.min(perBlock, E - e0);
      const data = new Uint8Array(count * expertBytes);
      let off = 0;
      for (let e = e0; e < e0 + count; e++) {
        for (const name of names(first + e)) {
          const t = dtype === 'f32' ? await src.readF32(name, signal) : await src.readRaw(name, signal);
          data.set(new Uint8Array(t.buffer, t.byteOffset, t.byteLength), off);
          off += t.byteLength;
        }
      }
      const weight: GpuWeight = { buffer: ctx.upload(`${label} ${e0}..${e0 + count}`, data), dtype, rows: count * rows, cols };
      blocks.push({ weight, expertStart: e0, experts: count });
    }
    return { blocks };
  };
  return {
    router: { buffer: ctx.upload(v.visionRouter, router), dtype: 'f32', rows: E, cols: H },
    routerBias: ctx.upload(`${v.routerBias}[1]`, bias),
    expertsGateUp: await stack(`layer ${l} vision experts gate_up`, (e) => [n.expertGate(e), n.expertUp(e)], 2 * I, H),
    expertsDown: await stack(`layer ${l} vision experts down`, (e) => [n.expertDown(e)], H, I),
    shared,
  };
}

export interface VlLmWeights {
  /** the text model's weights; MoE layers hold the text experts */
  text: ModelWeights;
  /** per layer, the vision experts of a dual-MoE layer (null for dense layers) */
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
    /** Where the text experts are read from (default: `src` through the text view; packages pass their verified expert shards). */
    textExperts?: ExpertSource;
  } = {},
): Promise<VlLmWeights> {
  if (cfg.visionExperts.intermediateSize > cfg.text.moe!.expertIntermediateSize) {
    throw new ErnieError('UNSUPPORTED', `vision experts wider (${cfg.visionExperts.intermediateSize}) than text experts (${cfg.text.moe!.expertIntermediateSize}) are not supported`);
  }
  const maxBinding = Math.min(opts.maxBindingBytes ?? Infinity, ctx.limits.maxStorageBufferBindingSize);
  const text = await loadWeights(ctx, cfg.text, textView(cfg, src), { signal: opts.signal, maxBindingBytes: opts.maxBindingBytes, maxBatch: opts.maxBatch, expertCache: opts.expertCache, experts: opts.textExperts });
  const vision: (MoeWeights | null)[] = [];
  for (let l = 0; l < cfg.text.numLayers; l++) {
    const m = text.layers[l].moe;
    vision.push(m ? await visionMoe(ctx, cfg, src, l, m.shared, maxBinding, opts.signal) : null);
  }
  return { text, vision };
}
