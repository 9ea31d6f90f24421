// Every tensor an ERNIE 4.5 package holds, derived from the config alone: HF name, shape, and
// where it goes (core or the shard of one routed expert). The manifest validator checks a
// package against this list, and the converter plans its shards from it.
import { ConfigError } from '../errors';
import { type ErnieConfig, isMoeLayer, weightNames } from '../model/ernie45/config';

export type TensorRole =
  /** a weight matrix of the core (embeddings, attention, dense FFN, shared experts) */
  | 'matrix'
  /** the output matrix: lm_head, or the tied embedding that serves as lm_head */
  | 'head'
  /** a routed expert's gate/up/down matrix */
  | 'expert'
  /** RMSNorm weights */
  | 'norm'
  /** the MoE router (gate) matrix, kept f32 */
  | 'router'
  /** the router's score-correction bias, [n_experts] ([2, n_experts] in VL: text row, vision row) */
  | 'router_bias'
  /** VL: a matrix of the vision tower or the resampler */
  | 'vision_matrix'
  /** VL: a bias vector (vision tower, resampler), kept f32 */
  | 'bias';

export interface ExpectedTensor {
  name: string;
  shape: number[];
  role: TensorRole;
  /** decoder layer, for layer tensors */
  layer?: number;
  /** routed expert index, for role 'expert' */
  expert?: number;
  /** for role 'expert' in VL models: 'vision' for the vision experts (text experts leave it out) */
  modality?: 'vision';
  /** for role 'expert': which of the expert's matrices */
  proj?: 'gate' | 'up' | 'down';
  /** The name of the RMSNorm whose output this matrix multiplies (its column importance), if any. */
  inputNorm?: string;
}

/**
 * Most tensors expectedTensors() lists. A config asking for more (1e9 layers or experts) is
 * refused before the list is built; the loaders bound it far tighter, by the file (checkTensorBudget).
 */
export const MAX_TENSORS = 1 << 20;

/** How many MoE layers `cfg` has, counted without visiting every layer. */
function moeLayerCount(cfg: ErnieConfig): number {
  const m = cfg.moe;
  if (!m) return 0;
  const a = Math.max(m.layerStart, 0), b = Math.min(m.layerEnd, cfg.numLayers - 1);
  if (b < a) return 0;
  // layers l in [a, b] with (l + 1) % interval == 0
  return Math.floor((b + 1) / m.layerInterval) - Math.floor(a / m.layerInterval);
}

/** The fewest tensors a checkpoint of `cfg` holds (the router bias is optional), computed in O(1). */
export function minTensorCount(cfg: ErnieConfig): number {
  const moe = moeLayerCount(cfg), dense = cfg.numLayers - moe;
  const perMoe = cfg.moe ? 1 + (cfg.moe.sharedIntermediateSize > 0 ? 3 : 0) + 3 * cfg.moe.numExperts : 0;
  return (cfg.tieWordEmbeddings ? 2 : 3) + 6 * cfg.numLayers + 3 * dense + perMoe * moe;
}

const SLACK_TENSORS = 1024;

/**
 * Refuses a config that describes far more tensors than its checkpoint holds, before anything is
 * sized from it: a hostile num_hidden_layers or moe_num_experts would otherwise build a list of
 * billions of names. `fields` spells the config keys as `file` does.
 */
export function checkTensorBudget(cfg: ErnieConfig, held: number, where: { file: string; checkpoint: string; layersField?: string; expertsField?: string }): void {
  const need = minTensorCount(cfg);
  // A claim near the file's size is left to the loaders, whose MISSING_TENSOR names the first
  // absent tensor; only claims far beyond it (which would cost memory to list) stop here.
  if (need <= 2 * held + SLACK_TENSORS) return;
  const experts = cfg.moe ? ` and ${where.expertsField ?? 'moe_num_experts'} ${cfg.moe.numExperts}` : '';
  throw new ConfigError(
    `${where.layersField ?? 'num_hidden_layers'} ${cfg.numLayers}${experts} describe at least ${need} tensors, but ${where.checkpoint} holds ${held}`,
    { file: where.file },
  );
}

/** All tensors of the model in the package's canonical order. */
export function expectedTensors(cfg: ErnieConfig): ExpectedTensor[] {
  const need = minTensorCount(cfg);
  if (need > MAX_TENSORS) {
    throw new ConfigError(`${cfg.numLayers} layers${cfg.moe ? ` of ${cfg.moe.numExperts} experts` : ''} describe ${need} tensors, more than the ${MAX_TENSORS} any checkpoint this library reads may hold`);
  }
  const H = cfg.hiddenSize, out: ExpectedTensor[] = [];
  const tied = cfg.tieWordEmbeddings;
  out.push({ name: weightNames.embed, shape: [cfg.vocabSize, H], role: tied ? 'head' : 'matrix', ...(tied ? { inputNorm: weightNames.finalNorm } : {}) });
  if (!tied) out.push({ name: weightNames.lmHead, shape: [cfg.vocabSize, H], role: 'head', inputNorm: weightNames.finalNorm });
  for (let l = 0; l < cfg.numLayers; l++) {
    const n = weightNames.layer(l);
    const qDim = cfg.numHeads * cfg.headDim, kvDim = cfg.numKvHeads * cfg.headDim;
    const m = (name: string, shape: number[], inputNorm?: string): ExpectedTensor => ({ name, shape, role: 'matrix', layer: l, ...(inputNorm ? { inputNorm } : {}) });
    out.push({ name: n.inputNorm, shape: [H], role: 'norm', layer: l });
    out.push(m(n.q, [qDim, H], n.inputNorm), m(n.k, [kvDim, H], n.inputNorm), m(n.v, [kvDim, H], n.inputNorm), m(n.o, [H, qDim]));
    out.push({ name: n.postNorm, shape: [H], role: 'norm', layer: l });
    if (!isMoeLayer(cfg, l)) {
      const I = cfg.intermediateSize;
      out.push(m(n.gate, [I, H], n.postNorm), m(n.up, [I, H], n.postNorm), m(n.down, [H, I]));
      continue;
    }
    const moe = cfg.moe!;
    out.push({ name: n.router, shape: [moe.numExperts, H], role: 'router', layer: l });
    out.push({ name: n.routerBias, shape: [moe.numExperts], role: 'router_bias', layer: l });
    const S = moe.sharedIntermediateSize;
    if (S > 0) out.push(m(n.sharedGate, [S, H], n.postNorm), m(n.sharedUp, [S, H], n.postNorm), m(n.sharedDown, [H, S]));
    const Ie = moe.expertIntermediateSize;
    for (let e = 0; e < moe.numExperts; e++) {
      const x = (name: string, proj: 'gate' | 'up' | 'down', shape: number[], inputNorm?: string): ExpectedTensor => ({
        name, shape, role: 'expert', layer: l, expert: e, proj, ...(inputNorm ? { inputNorm } : {}),
      });
      out.push(x(n.expertGate(e), 'gate', [Ie, H], n.postNorm), x(n.expertUp(e), 'up', [Ie, H], n.postNorm), x(n.expertDown(e), 'down', [H, Ie]));
    }
  }
  out.push({ name: weightNames.finalNorm, shape: [H], role: 'norm' });
  return out;
}

/**
 * The package's file name for the shard of routed expert `expert` of layer `layer`; indices are
 * zero-padded to the widths of the largest (`experts`: the experts per layer, VL text + vision).
 */
export function expertShardName(cfg: ErnieConfig, layer: number, expert: number, experts = cfg.moe!.numExperts): string {
  const lw = String(cfg.numLayers - 1).length, ew = String(experts - 1).length;
  return `experts/layer-${String(layer).padStart(lw, '0')}/expert-${String(expert).padStart(ew, '0')}.bin`;
}

/** The package's file name for core shard `i`. */
export function coreShardName(i: number): string {
  return `core-${String(i).padStart(3, '0')}.bin`;
}
