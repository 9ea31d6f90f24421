// ERNIE 4.5 model configuration, read from an HF `config.json` (model_type `ernie4_5_moe`
// or the dense `ernie4_5`). Everything the engine sizes comes from here, never from a fixture.
import { ConfigError } from '../../errors.js';

export interface ErnieConfig {
  modelType: 'ernie4_5_moe' | 'ernie4_5';
  vocabSize: number;
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  /** Width of the dense SwiGLU FFN (layers that are not MoE). */
  intermediateSize: number;
  rmsNormEps: number;
  ropeTheta: number;
  maxPositions: number;
  tieWordEmbeddings: boolean;
  bosTokenId: number;
  eosTokenIds: number[];
  /** null for the dense model. */
  moe: MoeConfig | null;
}

export interface MoeConfig {
  numExperts: number;
  topK: number;
  /** Width of one routed expert's SwiGLU MLP. */
  expertIntermediateSize: number;
  /** Width of the single shared MLP (moe_intermediate_size * moe_num_shared_experts); 0 = none. */
  sharedIntermediateSize: number;
  /** Floor of the sum the chosen routing weights are divided by. */
  normMin: number;
  layerStart: number;
  layerEnd: number;
  layerInterval: number;
}

type Json = Record<string, unknown>;

function num(cfg: Json, key: string, fallback?: number): number {
  const v = cfg[key];
  if (v === undefined || v === null) {
    if (fallback !== undefined) return fallback;
    throw new ConfigError(`config.json: "${key}" is required`);
  }
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new ConfigError(`config.json: "${key}" must be a number, got ${JSON.stringify(v)}`);
  return v;
}

function posInt(cfg: Json, key: string, fallback?: number): number {
  const v = num(cfg, key, fallback);
  if (!Number.isInteger(v) || v <= 0) throw new ConfigError(`config.json: "${key}" must be a positive integer, got ${v}`);
  return v;
}

/** moe_layer_start/end_index may be an int or (VL) a list per modality; we take the text entry. */
function layerIndex(cfg: Json, key: string, fallback: number): number {
  const v = cfg[key];
  if (v === undefined || v === null) return fallback;
  const first = Array.isArray(v) ? v[0] : v;
  if (typeof first !== 'number' || !Number.isInteger(first)) throw new ConfigError(`config.json: "${key}" must be an integer, got ${JSON.stringify(v)}`);
  return first;
}

export function parseConfig(raw: unknown): ErnieConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ConfigError('config.json must be a JSON object');
  const cfg = raw as Json;
  const modelType = cfg.model_type;
  if (modelType !== 'ernie4_5_moe' && modelType !== 'ernie4_5') {
    throw new ConfigError(
      `config.json: model_type ${JSON.stringify(modelType)} is not supported; expected "ernie4_5_moe" (ERNIE-4.5-21B-A3B) or "ernie4_5" (dense)`,
    );
  }
  const hiddenSize = posInt(cfg, 'hidden_size');
  const numLayers = posInt(cfg, 'num_hidden_layers');
  const numHeads = posInt(cfg, 'num_attention_heads');
  const numKvHeads = posInt(cfg, 'num_key_value_heads', numHeads);
  if (numHeads % numKvHeads !== 0) {
    throw new ConfigError(`config.json: num_attention_heads (${numHeads}) must be a multiple of num_key_value_heads (${numKvHeads})`);
  }
  let headDim: number;
  if (cfg.head_dim === undefined || cfg.head_dim === null) {
    if (hiddenSize % numHeads !== 0) throw new ConfigError(`config.json: no head_dim, and hidden_size ${hiddenSize} is not divisible by num_attention_heads ${numHeads}`);
    headDim = hiddenSize / numHeads;
  } else headDim = posInt(cfg, 'head_dim');
  if (headDim % 2 !== 0) throw new ConfigError(`config.json: head_dim ${headDim} must be even for RoPE`);

  // transformers 5 writes rope_parameters.rope_theta; older files a top-level rope_theta.
  const ropeParams = cfg.rope_parameters as Json | undefined;
  const ropeTheta =
    ropeParams && typeof ropeParams === 'object' && ropeParams.rope_theta !== undefined
      ? num(ropeParams, 'rope_theta')
      : num(cfg, 'rope_theta', 10000);
  const ropeType = (ropeParams?.rope_type ?? (cfg.rope_scaling as Json | undefined)?.rope_type ?? 'default') as string;
  if (ropeType !== 'default') throw new ConfigError(`config.json: rope_type "${ropeType}" is not supported (only "default")`);

  const eos = cfg.eos_token_id;
  const eosTokenIds = Array.isArray(eos) ? eos.map(Number) : [typeof eos === 'number' ? eos : 2];

  let moe: MoeConfig | null = null;
  if (modelType === 'ernie4_5_moe' && cfg.moe_num_experts !== undefined && cfg.moe_num_experts !== 0) {
    const numExperts = posInt(cfg, 'moe_num_experts');
    const topK = posInt(cfg, 'moe_k');
    if (topK > numExperts) throw new ConfigError(`config.json: moe_k (${topK}) exceeds moe_num_experts (${numExperts})`);
    const expertIntermediateSize = posInt(cfg, 'moe_intermediate_size');
    const numShared = num(cfg, 'moe_num_shared_experts', 0);
    if (!Number.isInteger(numShared) || numShared < 0) throw new ConfigError(`config.json: moe_num_shared_experts must be a non-negative integer`);
    const layerEndRaw = layerIndex(cfg, 'moe_layer_end_index', -1);
    moe = {
      numExperts,
      topK,
      expertIntermediateSize,
      sharedIntermediateSize: expertIntermediateSize * numShared,
      normMin: num(cfg, 'moe_norm_min', 1e-12),
      layerStart: layerIndex(cfg, 'moe_layer_start_index', 0),
      // -1 means "through the last layer".
      layerEnd: layerEndRaw < 0 ? numLayers - 1 : layerEndRaw,
      layerInterval: posInt(cfg, 'moe_layer_interval', 1),
    };
  }

  return {
    modelType,
    vocabSize: posInt(cfg, 'vocab_size'),
    hiddenSize,
    numLayers,
    numHeads,
    numKvHeads,
    headDim,
    intermediateSize: posInt(cfg, 'intermediate_size'),
    rmsNormEps: num(cfg, 'rms_norm_eps', 1e-5),
    ropeTheta,
    maxPositions: posInt(cfg, 'max_position_embeddings', 131072),
    tieWordEmbeddings: cfg.tie_word_embeddings === undefined ? true : Boolean(cfg.tie_word_embeddings),
    bosTokenId: num(cfg, 'bos_token_id', 1),
    eosTokenIds,
    moe,
  };
}

/** The rule HF, vLLM and FastDeploy share: a layer is MoE when its index is in range and on the interval. */
export function isMoeLayer(config: ErnieConfig, layer: number): boolean {
  const m = config.moe;
  if (!m) return false;
  return (layer + 1) % m.layerInterval === 0 && layer >= m.layerStart && layer <= m.layerEnd;
}

/** Checkpoint tensor names, as the original -PT checkpoints spell them. */
export const weightNames = {
  embed: 'model.embed_tokens.weight',
  finalNorm: 'model.norm.weight',
  lmHead: 'lm_head.weight',
  layer: (i: number) => {
    const p = `model.layers.${i}`;
    return {
      inputNorm: `${p}.input_layernorm.weight`,
      q: `${p}.self_attn.q_proj.weight`,
      k: `${p}.self_attn.k_proj.weight`,
      v: `${p}.self_attn.v_proj.weight`,
      o: `${p}.self_attn.o_proj.weight`,
      postNorm: `${p}.post_attention_layernorm.weight`,
      // dense FFN, or the MoE's shared expert under `shared_experts`
      gate: `${p}.mlp.gate_proj.weight`,
      up: `${p}.mlp.up_proj.weight`,
      down: `${p}.mlp.down_proj.weight`,
      router: `${p}.mlp.gate.weight`,
      routerBias: `${p}.mlp.moe_statics.e_score_correction_bias`,
      sharedGate: `${p}.mlp.shared_experts.gate_proj.weight`,
      sharedUp: `${p}.mlp.shared_experts.up_proj.weight`,
      sharedDown: `${p}.mlp.shared_experts.down_proj.weight`,
      expertGate: (e: number) => `${p}.mlp.experts.${e}.gate_proj.weight`,
      expertUp: (e: number) => `${p}.mlp.experts.${e}.up_proj.weight`,
      expertDown: (e: number) => `${p}.mlp.experts.${e}.down_proj.weight`,
    };
  },
};
