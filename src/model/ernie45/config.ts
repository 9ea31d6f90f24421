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

/** Where config values come from, for error messages that name the file and its own field. */
export interface ConfigOrigin {
  /** config.json, a GGUF file's name, manifest.json... */
  file: string;
  /** How that file spells an HF config key (e.g. a GGUF metadata key); default: the key itself. */
  field?: (key: string) => string;
}

const CONFIG_JSON: ConfigOrigin = { file: 'config.json' };

/**
 * Largest size any dimension may have. Real models are far below it (vocab ~1e5, hidden ~1e4);
 * it keeps products of two sizes exact in a double. How many layers and experts a checkpoint can
 * have is bounded by its files instead (package/tensors.ts checkTensorBudget).
 */
export const MAX_DIM = 2 ** 24;

/** Reads and range-checks one config value, naming the file and field when it is wrong. */
class Reader {
  constructor(
    private readonly cfg: Json,
    private readonly origin: ConfigOrigin,
    /** Prefix of nested keys ("rope_parameters."). */
    private readonly prefix = '',
  ) {}

  /** How the origin spells `key`. */
  name(key: string): string {
    const full = this.prefix + key;
    return this.origin.field ? this.origin.field(full) : full;
  }

  fail(key: string, message: string): ConfigError {
    return new ConfigError(message, { file: this.origin.file, field: this.name(key) });
  }

  nested(key: string): Reader | undefined {
    const v = this.cfg[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'object' || Array.isArray(v)) throw this.fail(key, `must be an object, got ${JSON.stringify(v)}`);
    return new Reader(v as Json, this.origin, `${this.prefix}${key}.`);
  }

  has(key: string): boolean {
    return this.cfg[key] !== undefined && this.cfg[key] !== null;
  }

  num(key: string, fallback?: number): number {
    const v = this.cfg[key];
    if (v === undefined || v === null) {
      if (fallback !== undefined) return fallback;
      throw this.fail(key, 'is required');
    }
    if (typeof v !== 'number' || !Number.isFinite(v)) throw this.fail(key, `must be a number, got ${JSON.stringify(v)}`);
    return v;
  }

  /** An integer in [min, max]. */
  int(key: string, min: number, max: number, fallback?: number): number {
    const v = this.num(key, fallback);
    if (!Number.isInteger(v) || v < min || v > max) {
      const range = min === 1 && max === MAX_DIM ? `a positive integer (at most ${MAX_DIM})` : `an integer in [${min}, ${max}]`;
      throw this.fail(key, `must be ${range}, got ${v}`);
    }
    return v;
  }

  size(key: string, fallback?: number): number {
    return this.int(key, 1, MAX_DIM, fallback);
  }

  /** A finite number with lo < v < hi (bounds exclusive). */
  open(key: string, lo: number, hi: number, fallback?: number): number {
    const v = this.num(key, fallback);
    if (!(v > lo && v < hi)) throw this.fail(key, `must be greater than ${lo}${hi === Infinity ? '' : ` and less than ${hi}`}, got ${v}`);
    return v;
  }

  str(key: string, fallback: string): string {
    const v = this.cfg[key];
    if (v === undefined || v === null) return fallback;
    if (typeof v !== 'string') throw this.fail(key, `must be a string, got ${JSON.stringify(v)}`);
    return v;
  }

  bool(key: string, fallback: boolean): boolean {
    const v = this.cfg[key];
    if (v === undefined || v === null) return fallback;
    if (typeof v !== 'boolean') throw this.fail(key, `must be true or false, got ${JSON.stringify(v)}`);
    return v;
  }

  /** A token id, or a list of them. */
  ids(key: string, fallback: number[]): number[] {
    const v = this.cfg[key];
    if (v === undefined || v === null) return fallback;
    const list = Array.isArray(v) ? v : [v];
    if (list.length === 0 || !list.every((x) => Number.isInteger(x) && x >= 0 && x < MAX_DIM)) {
      throw this.fail(key, `must be a token id or a non-empty list of them, got ${JSON.stringify(v)}`);
    }
    return list as number[];
  }

  /** moe_layer_start/end_index: an int or (VL) a list per modality; the text entry comes first. */
  layerIndex(key: string, min: number, fallback: number): number {
    const v = this.cfg[key];
    if (v === undefined || v === null) return fallback;
    const first = Array.isArray(v) ? v[0] : v;
    if (typeof first !== 'number' || !Number.isInteger(first) || first < min) {
      throw this.fail(key, `must be an integer >= ${min} (or a list of them), got ${JSON.stringify(v)}`);
    }
    return first;
  }
}

/**
 * Parses and range-checks an HF config.json object. Every error is a ConfigError naming
 * `origin.file` and the offending field (as that file spells it).
 */
export function parseConfig(raw: unknown, origin: ConfigOrigin = CONFIG_JSON): ErnieConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ConfigError('must be a JSON object', { file: origin.file });
  const cfg = raw as Json;
  const r = new Reader(cfg, origin);
  const modelType = cfg.model_type;
  if (modelType !== 'ernie4_5_moe' && modelType !== 'ernie4_5') {
    throw r.fail('model_type', `is ${JSON.stringify(modelType)}, which is not supported; expected "ernie4_5_moe" (ERNIE-4.5-21B-A3B) or "ernie4_5" (dense)`);
  }
  const hiddenSize = r.size('hidden_size');
  const numLayers = r.size('num_hidden_layers');
  const numHeads = r.size('num_attention_heads');
  const numKvHeads = r.size('num_key_value_heads', numHeads);
  if (numHeads % numKvHeads !== 0) {
    throw r.fail('num_key_value_heads', `(${numKvHeads}) must divide "${r.name('num_attention_heads')}" (${numHeads})`);
  }
  let headDim: number;
  if (!r.has('head_dim')) {
    if (hiddenSize % numHeads !== 0) throw r.fail('head_dim', `is missing, and "${r.name('hidden_size')}" ${hiddenSize} is not divisible by "${r.name('num_attention_heads')}" ${numHeads}`);
    headDim = hiddenSize / numHeads;
  } else headDim = r.size('head_dim');
  if (headDim % 2 !== 0) throw r.fail('head_dim', `${headDim} must be even for RoPE`);

  // transformers 5 writes rope_parameters.rope_theta; older files a top-level rope_theta.
  const rope = r.nested('rope_parameters');
  const ropeTheta = rope?.has('rope_theta') ? rope.open('rope_theta', 0, Infinity) : r.open('rope_theta', 0, Infinity, 10000);
  const scaling = r.nested('rope_scaling');
  const ropeType = rope?.has('rope_type') ? rope.str('rope_type', 'default') : (scaling?.str('rope_type', 'default') ?? 'default');
  if (ropeType !== 'default') throw (rope?.has('rope_type') ? rope : scaling ?? r).fail('rope_type', `is "${ropeType}", which is not supported (only "default")`);

  let moe: MoeConfig | null = null;
  if (modelType === 'ernie4_5_moe' && cfg.moe_num_experts !== undefined && cfg.moe_num_experts !== null && cfg.moe_num_experts !== 0) {
    const numExperts = r.size('moe_num_experts');
    const topK = r.size('moe_k');
    if (topK > numExperts) throw r.fail('moe_k', `(${topK}) exceeds "${r.name('moe_num_experts')}" (${numExperts})`);
    const expertIntermediateSize = r.size('moe_intermediate_size');
    const numShared = r.int('moe_num_shared_experts', 0, MAX_DIM / expertIntermediateSize, 0);
    const layerEndRaw = r.layerIndex('moe_layer_end_index', -1, -1);
    moe = {
      numExperts,
      topK,
      expertIntermediateSize,
      sharedIntermediateSize: expertIntermediateSize * numShared,
      normMin: r.num('moe_norm_min', 1e-12),
      layerStart: r.layerIndex('moe_layer_start_index', 0, 0),
      // -1 means "through the last layer".
      layerEnd: layerEndRaw < 0 ? numLayers - 1 : layerEndRaw,
      layerInterval: r.size('moe_layer_interval', 1),
    };
    if (moe.normMin < 0) throw r.fail('moe_norm_min', `must not be negative, got ${moe.normMin}`);
    if (moe.layerStart >= numLayers) throw r.fail('moe_layer_start_index', `${moe.layerStart} is past the last layer (${numLayers - 1})`);
  }

  return {
    modelType,
    vocabSize: r.size('vocab_size'),
    hiddenSize,
    numLayers,
    numHeads,
    numKvHeads,
    headDim,
    intermediateSize: r.size('intermediate_size'),
    // eps inside the square root: 0 or negative turns a zero row into NaN.
    rmsNormEps: r.open('rms_norm_eps', 0, 1, 1e-5),
    ropeTheta,
    maxPositions: r.size('max_position_embeddings', 131072),
    tieWordEmbeddings: r.bool('tie_word_embeddings', true),
    bosTokenId: r.ids('bos_token_id', [1])[0]!,
    eosTokenIds: r.ids('eos_token_id', [2]),
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
