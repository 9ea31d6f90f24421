// An ERNIE 4.5 GGUF (architecture "ernie4_5-moe" or "ernie4_5", as llama.cpp writes it) seen
// through the engine's HF vocabulary: a config.json-shaped object for parseConfig, and a lookup
// from the HF tensor names in model/ernie45/config.ts `weightNames` to GGUF tensors.
//
// GGUF stores a row-major HF matrix [out, in] with dims [in, out] and the same bytes, so a
// dequantized GGUF tensor is already in HF layout. Routed experts are stacked: ffn_*_exps has
// dims [in, out, n_expert] and expert e is the e-th contiguous [out, in] slice.

import { ConfigError, ErnieError, FileFormatError } from '../errors';
import { dequantize } from '../quant/ggml_blocks';
import type { GgufFile, GgufValue } from './gguf';

const ARCHES = { 'ernie4_5-moe': 'ernie4_5_moe', ernie4_5: 'ernie4_5' } as const;

/** The GGUF metadata key (without the architecture prefix) each HF config key is read from. */
const GGUF_KEYS: Record<string, string> = {
  hidden_size: 'embedding_length',
  num_hidden_layers: 'block_count',
  num_attention_heads: 'attention.head_count',
  num_key_value_heads: 'attention.head_count_kv',
  head_dim: 'attention.key_length',
  intermediate_size: 'feed_forward_length',
  max_position_embeddings: 'context_length',
  rms_norm_eps: 'attention.layer_norm_rms_epsilon',
  'rope_parameters.rope_theta': 'rope.freq_base',
  'rope_parameters.rope_type': 'rope.scaling.type',
  moe_num_experts: 'expert_count',
  moe_k: 'expert_used_count',
  moe_intermediate_size: 'expert_feed_forward_length',
  moe_num_shared_experts: 'expert_shared_feed_forward_length',
  moe_layer_start_index: 'leading_dense_block_count',
  moe_layer_end_index: 'block_count',
  moe_layer_interval: 'interleave_moe_layer_step',
};
const GGUF_GLOBAL_KEYS: Record<string, string> = {
  vocab_size: 'token_embd.weight (its second dim)',
  tie_word_embeddings: 'output.weight (its presence)',
  bos_token_id: 'tokenizer.ggml.bos_token_id',
  eos_token_id: 'tokenizer.ggml.eos_token_id',
  model_type: 'general.architecture',
};

/**
 * For parseConfig: errors in the config derived from a GGUF name the GGUF file and the metadata
 * key (or tensor) the value came from, not config.json.
 */
export function ggufConfigOrigin(gguf: GgufFile): { file: string; field: (key: string) => string } {
  const arch = String(gguf.metadata.get('general.architecture'));
  return {
    file: gguf.name,
    field: (key) => (GGUF_KEYS[key] !== undefined ? `${arch}.${GGUF_KEYS[key]}` : GGUF_GLOBAL_KEYS[key] ?? key),
  };
}

/** A config.json-shaped object (HF spelling) describing the GGUF's model; feed it to parseConfig with ggufConfigOrigin. */
export function ernieConfigFromGguf(gguf: GgufFile): Record<string, unknown> {
  const arch = gguf.metadata.get('general.architecture');
  if (typeof arch !== 'string' || !Object.hasOwn(ARCHES, arch)) {
    throw new ErnieError('UNSUPPORTED', `${gguf.name}: general.architecture is ${JSON.stringify(String(arch))}; expected "ernie4_5-moe" or "ernie4_5"`);
  }
  const key = (k: string) => `${arch}.${k}`;
  const int = (k: string, fallback?: number) => metaNumber(gguf, key(k), fallback, true);
  const float = (k: string, fallback?: number) => metaNumber(gguf, key(k), fallback, false);

  const embd = gguf.tensor('token_embd.weight');
  const hidden = int('embedding_length');
  const layers = int('block_count');
  const heads = int('attention.head_count');
  if (embd.dims.length !== 2 || embd.dims[0] !== hidden) {
    throw new FileFormatError(gguf.name, `token_embd.weight has dims [${embd.dims}], but ${key('embedding_length')} is ${hidden}: expected [${hidden}, vocab]`);
  }
  // Before anything loops over layers or experts: the file's tensors bound how many it describes.
  const held = heldBlocksAndExperts(gguf);
  if (layers > held.blocks) {
    const holds = held.blocks === 0 ? 'no block tensors (blk.N.*)' : `tensors for ${held.blocks} blocks (blk.0 to blk.${held.blocks - 1})`;
    throw new ConfigError(`is ${layers}, but the file holds ${holds}`, { file: gguf.name, field: key('block_count') });
  }
  const cfg: Record<string, unknown> = {
    model_type: ARCHES[arch as keyof typeof ARCHES],
    hidden_size: hidden,
    num_hidden_layers: layers,
    num_attention_heads: heads,
    num_key_value_heads: int('attention.head_count_kv', heads),
    // No key_length: hidden / heads, left to parseConfig (which names the keys) when it is not whole.
    ...(gguf.metadata.has(key('attention.key_length')) ? { head_dim: int('attention.key_length') } : heads > 0 && hidden % heads === 0 ? { head_dim: hidden / heads } : {}),
    intermediate_size: int('feed_forward_length'),
    vocab_size: embd.dims[1],
    max_position_embeddings: int('context_length', 131072),
    rms_norm_eps: float('attention.layer_norm_rms_epsilon', 1e-5),
    rope_parameters: { rope_type: ropeType(gguf, key('rope.scaling.type')), rope_theta: float('rope.freq_base', 10000) },
    // llama.cpp writes output.weight only for untied checkpoints.
    tie_word_embeddings: !gguf.tensors.has('output.weight'),
    bos_token_id: metaNumber(gguf, 'tokenizer.ggml.bos_token_id', 1, true),
    eos_token_id: metaNumber(gguf, 'tokenizer.ggml.eos_token_id', 2, true),
  };

  const experts = int('expert_count', 0);
  if (cfg.model_type === 'ernie4_5_moe' && experts !== 0) {
    if (experts > held.experts) {
      throw new ConfigError(`is ${experts}, but the file's expert tensors (blk.N.ffn_*_exps) hold ${held.experts}`, { file: gguf.name, field: key('expert_count') });
    }
    const expertWidth = int('expert_feed_forward_length');
    // The shared MLP's width is read from its tensor when there is one: llama.cpp's converter
    // writes intermediate_size / num_kv_heads into the metadata, which is wrong for some models.
    const shexp = findShexpWidth(gguf, layers);
    const sharedWidth = shexp ?? int('expert_shared_feed_forward_length', 0);
    if (expertWidth > 0 && sharedWidth % expertWidth !== 0) {
      throw new ErnieError('UNSUPPORTED', `${gguf.name}: shared-expert width ${sharedWidth} (${shexp === undefined ? key('expert_shared_feed_forward_length') : 'ffn_gate_shexp.weight'}) is not a multiple of ${key('expert_feed_forward_length')} ${expertWidth}`);
    }
    Object.assign(cfg, {
      moe_num_experts: experts,
      moe_k: int('expert_used_count'),
      moe_intermediate_size: expertWidth,
      moe_num_shared_experts: expertWidth > 0 ? sharedWidth / expertWidth : 0,
      moe_layer_start_index: int('leading_dense_block_count', 0),
      moe_layer_end_index: layers - 1,
      moe_layer_interval: int('interleave_moe_layer_step', 1),
      moe_norm_min: 1e-12,
    });
  }
  return cfg;
}

const BLOCK = /^blk\.(\d+)\./;

/** 1 + the highest block index among the file's tensors, and the most experts any stacked expert tensor holds. */
function heldBlocksAndExperts(gguf: GgufFile): { blocks: number; experts: number } {
  let blocks = 0, experts = 0;
  for (const t of gguf.tensors.values()) {
    const m = BLOCK.exec(t.name);
    if (m) blocks = Math.max(blocks, Number(m[1]) + 1);
    if (/_exps\.weight$/.test(t.name) && t.dims.length === 3) experts = Math.max(experts, t.dims[2]!);
  }
  return { blocks, experts };
}

/** Where one HF tensor lives in the GGUF. */
export interface GgufWeightRef {
  /** The GGUF tensor holding it. */
  tensor: string;
  type: number;
  typeName: string;
  /** Its elements inside that tensor: the whole tensor, or one expert's slice. */
  elementOffset: number;
  elementCount: number;
  /** Absolute byte range in the file. */
  byteOffset: number;
  byteLength: number;
  /** HF (row-major, outermost first) shape, e.g. [out, in]. */
  shape: number[];
}

export interface GgufWeightLookup {
  has(hfName: string): boolean;
  /** Throws MISSING_TENSOR when the GGUF has no tensor for the name. */
  resolve(hfName: string): GgufWeightRef;
  readRaw(hfName: string, signal?: AbortSignal): Promise<Uint8Array>;
  readF32(hfName: string, signal?: AbortSignal): Promise<Float32Array>;
}

const LAYER = /^model\.layers\.(\d+)\.(.+)$/;
const EXPERT = /^mlp\.experts\.(\d+)\.(gate|up|down)_proj\.weight$/;
const LAYER_NAMES: Record<string, string> = {
  'input_layernorm.weight': 'attn_norm.weight',
  'self_attn.q_proj.weight': 'attn_q.weight',
  'self_attn.k_proj.weight': 'attn_k.weight',
  'self_attn.v_proj.weight': 'attn_v.weight',
  'self_attn.o_proj.weight': 'attn_output.weight',
  'post_attention_layernorm.weight': 'ffn_norm.weight',
  'mlp.gate_proj.weight': 'ffn_gate.weight',
  'mlp.up_proj.weight': 'ffn_up.weight',
  'mlp.down_proj.weight': 'ffn_down.weight',
  'mlp.gate.weight': 'ffn_gate_inp.weight',
  'mlp.moe_statics.e_score_correction_bias': 'exp_probs_b.bias',
  'mlp.shared_experts.gate_proj.weight': 'ffn_gate_shexp.weight',
  'mlp.shared_experts.up_proj.weight': 'ffn_up_shexp.weight',
  'mlp.shared_experts.down_proj.weight': 'ffn_down_shexp.weight',
};

export function ggufWeightLookup(gguf: GgufFile): GgufWeightLookup {
  const missing = (hf: string, tensor: string) =>
    new ErnieError('MISSING_TENSOR', `${gguf.name}: no tensor "${tensor}" for "${hf}"`);

  function resolve(hf: string): GgufWeightRef {
    const target = mapName(hf, gguf.tensors.has('output.weight'));
    if (!target) throw new ErnieError('MISSING_TENSOR', `${gguf.name}: "${hf}" has no GGUF counterpart`);
    const t = gguf.tensors.get(target.tensor);
    if (!t) throw missing(hf, target.tensor);
    const hfShape = [...t.dims].reverse();
    if (target.expert === undefined) {
      return { tensor: t.name, type: t.type, typeName: t.typeName, elementOffset: 0, elementCount: t.elementCount, byteOffset: t.offset, byteLength: t.byteLength, shape: hfShape };
    }
    if (t.dims.length !== 3) throw new FileFormatError(gguf.name, `expert tensor "${t.name}" has dims [${t.dims}], expected [in, out, n_expert]`);
    const [, ...shape] = hfShape;
    if (target.expert >= t.dims[2]!) throw missing(hf, `${t.name}[expert ${target.expert} of ${t.dims[2]}]`);
    const count = t.dims[0]! * t.dims[1]!;
    const first = target.expert * count;
    const { offset, byteLength } = gguf.elementRange(t.name, first, count);
    return { tensor: t.name, type: t.type, typeName: t.typeName, elementOffset: first, elementCount: count, byteOffset: offset, byteLength, shape };
  }

  const readRaw = (hf: string, signal?: AbortSignal) => {
    const ref = resolve(hf);
    return gguf.src.read(ref.byteOffset, ref.byteLength, signal);
  };
  return {
    has: (hf) => {
      const target = mapName(hf, gguf.tensors.has('output.weight'));
      return !!target && gguf.tensors.has(target.tensor) && (target.expert === undefined || target.expert < gguf.tensors.get(target.tensor)!.dims[2]!);
    },
    resolve,
    readRaw,
    async readF32(hf, signal) {
      const ref = resolve(hf);
      return dequantize(ref.type, await readRaw(hf, signal), ref.elementCount);
    },
  };
}

/** GGUF tensor (and expert index) for an HF name; undefined for names GGUF has no place for. */
function mapName(hf: string, untied: boolean): { tensor: string; expert?: number } | undefined {
  if (hf === 'model.embed_tokens.weight') return { tensor: 'token_embd.weight' };
  if (hf === 'model.norm.weight') return { tensor: 'output_norm.weight' };
  // Tied checkpoints have no output.weight: the head is the embedding table.
  if (hf === 'lm_head.weight') return { tensor: untied ? 'output.weight' : 'token_embd.weight' };
  const m = LAYER.exec(hf);
  if (!m) return undefined;
  const [, layer, rest] = m as unknown as [string, string, string];
  const e = EXPERT.exec(rest);
  if (e) return { tensor: `blk.${layer}.ffn_${e[2]}_exps.weight`, expert: Number(e[1]) };
  const local = LAYER_NAMES[rest];
  return local ? { tensor: `blk.${layer}.${local}` } : undefined;
}

/** Output width of the first shared-expert gate tensor ([hidden, width] in GGUF dims). */
function findShexpWidth(gguf: GgufFile, layers: number): number | undefined {
  for (let l = 0; l < layers; l++) {
    const t = gguf.tensors.get(`blk.${l}.ffn_gate_shexp.weight`);
    if (t) return t.dims[1];
  }
  return undefined;
}

function ropeType(gguf: GgufFile, key: string): string {
  const v = gguf.metadata.get(key);
  if (v === undefined || v === 'none') return 'default';
  // Anything else reaches parseConfig, which names it as unsupported.
  return String(v);
}

function metaNumber(gguf: GgufFile, key: string, fallback: number | undefined, integer: boolean): number {
  const v: GgufValue | undefined = gguf.metadata.get(key);
  if (v === undefined) {
    if (fallback === undefined) throw new ConfigError('is required', { file: gguf.name, field: key });
    return fallback;
  }
  const n = typeof v === 'number' || typeof v === 'bigint' ? Number(v) : NaN;
  if (!Number.isFinite(n) || (integer && !Number.isSafeInteger(n))) {
    throw new ConfigError(`must be ${integer ? 'an integer' : 'a number'}, got ${describe(v)}`, { file: gguf.name, field: key });
  }
  return integer ? n : shortestF32(n);
}

/** GGUF stores floats as f32: 1e-5 comes back as 9.99999974e-6. Recover the short decimal. */
function shortestF32(x: number): number {
  if (Math.fround(x) !== x) return x; // an f64 value: keep it
  for (let p = 1; p <= 9; p++) {
    const y = Number(x.toPrecision(p));
    if (Math.fround(y) === x) return y;
  }
  return x;
}

function describe(v: GgufValue): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'object') return `an array of ${v.length}`;
  return String(v);
}
