// ERNIE-4.5-VL (model_type `ernie4_5_vl_moe`) configuration, from either spelling of config.json
// (ERNIE45.md §3): transformers 5's nested `text_config` / `vision_config`, or Baidu's original
// flat keys (`moe_num_experts [text, vision]`, `freq_allocation`, `im_patch_id`, `vision_config.embed_dim`).
// The language stack is an ordinary ErnieConfig (parsed by the text model's own parser), plus
// what only VL has: vision experts, the 3D RoPE split, the vision tower and the resampler.
import { ConfigError } from '../../errors.js';
import { type ErnieConfig, isMoeLayer, parseConfig } from '../ernie45/config.js';

export interface VisionConfig {
  depth: number;
  hiddenSize: number;
  /** Width of the quick_gelu MLP. */
  intermediateSize: number;
  numHeads: number;
  headDim: number;
  patchSize: number;
  inChannels: number;
  spatialMergeSize: number;
  temporalMergeSize: number;
  /** eps of every LayerNorm of the tower and of the resampler's LayerNorms. */
  layerNormEps: number;
  /** theta of the 2D rotate-half RoPE. */
  ropeTheta: number;
}

export interface VlTokenIds {
  image: number;
  imageStart: number;
  imageEnd: number;
  video: number;
  videoStart: number;
  videoEnd: number;
}

export interface ErnieVlConfig {
  modelType: 'ernie4_5_vl_moe';
  /** The language stack; `text.moe` describes the text experts (and top-k, shared experts, norm floor). */
  text: ErnieConfig;
  /** Vision experts: checkpoint indices numExperts_text + j, j < numExperts. */
  visionExperts: { numExperts: number; intermediateSize: number };
  /** Frequencies of the 3D RoPE taken by [h, w, t] positions (sums to headDim / 2). */
  mropeSection: [number, number, number];
  vision: VisionConfig;
  tokens: VlTokenIds;
}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function int(cfg: Json, key: string, where: string, fallback?: number): number {
  const v = cfg[key] ?? fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) {
    throw new ConfigError(`config.json: "${where}${key}" must be a positive integer, got ${JSON.stringify(cfg[key])}`);
  }
  return v;
}

function pair(cfg: Json, key: string, where: string): [number, number] {
  const v = cfg[key];
  const ok = (x: unknown) => typeof x === 'number' && Number.isInteger(x) && x > 0;
  if (typeof v === 'number' && ok(v)) return [v, v];
  if (Array.isArray(v) && v.length === 2 && v.every(ok)) return [v[0] as number, v[1] as number];
  throw new ConfigError(`config.json: "${where}${key}" must be [text, vision] positive integers, got ${JSON.stringify(v)}`);
}

/** A per-layer dense/sparse pattern as the (start, end, interval) rule isMoeLayer applies, or an error. */
function layerRule(sparse: boolean[]): { start: number; end: number; interval: number } {
  const first = sparse.indexOf(true), last = sparse.lastIndexOf(true);
  if (first < 0) return { start: sparse.length, end: -2, interval: 1 };
  for (let interval = 1; interval <= sparse.length; interval++) {
    if (sparse.every((s, l) => s === ((l + 1) % interval === 0 && l >= first && l <= last))) return { start: first, end: last, interval };
  }
  throw new ConfigError(`config.json: text_config.mlp_layer_types ${JSON.stringify(sparse.map((s) => (s ? 'sparse' : 'dense')))} is not a start/end/interval pattern`);
}

export function parseVlConfig(raw: unknown): ErnieVlConfig {
  if (!isObject(raw)) throw new ConfigError('config.json must be a JSON object');
  if (raw.model_type !== 'ernie4_5_vl_moe') throw new ConfigError(`config.json: model_type ${JSON.stringify(raw.model_type)} is not "ernie4_5_vl_moe"`);
  return isObject(raw.text_config) ? parseNested(raw) : parseFlat(raw);
}

/** transformers 5: text_config + vision_config, token ids at the top. */
function parseNested(raw: Json): ErnieVlConfig {
  const tc = raw.text_config as Json;
  const numLayers = int(tc, 'num_hidden_layers', 'text_config.');
  const [textInter, visionInter] = pair(tc, 'moe_intermediate_size', 'text_config.');
  const numExperts = int(tc, 'moe_num_experts', 'text_config.');
  const types = tc.mlp_layer_types ?? ['dense', ...Array(numLayers - 1).fill('sparse')];
  if (!Array.isArray(types) || types.length !== numLayers || !types.every((t) => t === 'dense' || t === 'sparse')) {
    throw new ConfigError(`config.json: text_config.mlp_layer_types must list "dense"/"sparse" for each of the ${numLayers} layers, got ${JSON.stringify(types)}`);
  }
  const rule = layerRule(types.map((t) => t === 'sparse'));
  const rope = isObject(tc.rope_parameters) ? tc.rope_parameters : {};
  const text = parseConfig({
    ...tc,
    model_type: 'ernie4_5_moe',
    moe_intermediate_size: textInter,
    moe_num_experts: numExperts,
    moe_layer_start_index: rule.start,
    moe_layer_end_index: rule.end,
    moe_layer_interval: rule.interval,
    rope_parameters: { rope_type: rope.rope_type ?? 'default', rope_theta: rope.rope_theta ?? tc.rope_theta ?? 500000 },
    tie_word_embeddings: tc.tie_word_embeddings ?? raw.tie_word_embeddings,
  });
  const section = rope.mrope_section ?? [22, 22, 20];
  const vc = isObject(raw.vision_config) ? raw.vision_config : {};
  const hidden = int(vc, 'hidden_size', 'vision_config.', 1280);
  const vRope = isObject(vc.rope_parameters) ? vc.rope_parameters : {};
  const vision = visionConfig(vc, 'vision_config.', {
    hiddenSize: hidden,
    intermediateSize: int(vc, 'intermediate_size', 'vision_config.', 4 * hidden),
    spatialMergeSize: int(vc, 'spatial_merge_size', 'vision_config.', 2),
    temporalMergeSize: int(vc, 'temporal_merge_size', 'vision_config.', 2),
    layerNormEps: num(vc.rms_norm_eps, 1e-6, 'vision_config.rms_norm_eps'),
    ropeTheta: num(vRope.rope_theta, 10000, 'vision_config.rope_parameters.rope_theta'),
  });
  const tok = (key: string, fallback: number) => int(raw, key, '', fallback);
  return finish(text, numExperts, visionInter, section, vision, {
    image: tok('image_token_id', 100295), imageStart: tok('image_start_token_id', 101304), imageEnd: tok('image_end_token_id', 101305),
    video: tok('video_token_id', 103367), videoStart: tok('video_start_token_id', 101306), videoEnd: tok('video_end_token_id', 101307),
  });
}

/** Baidu's original flat keys. */
function parseFlat(raw: Json): ErnieVlConfig {
  const [textExperts, visionExperts] = pair(raw, 'moe_num_experts', '');
  if (textExperts !== visionExperts) throw new ConfigError(`config.json: moe_num_experts ${JSON.stringify(raw.moe_num_experts)}: text and vision expert counts must be equal`);
  const [textInter, visionInter] = pair(raw, 'moe_intermediate_size', '');
  const numLayers = int(raw, 'num_hidden_layers', '');
  const index = (key: string, pick: (a: number[]) => number, fallback: number) => {
    const v = raw[key];
    if (v === undefined || v === null) return fallback;
    const list = Array.isArray(v) ? v : [v];
    if (!list.every((x) => typeof x === 'number' && Number.isInteger(x))) throw new ConfigError(`config.json: "${key}" must be integers, got ${JSON.stringify(v)}`);
    return pick(list as number[]);
  };
  const start = index('moe_layer_start_index', (a) => Math.min(...a), 1);
  const endRaw = index('moe_layer_end_index', (a) => Math.max(...a), -1);
  const text = parseConfig({
    ...raw,
    model_type: 'ernie4_5_moe',
    moe_num_experts: textExperts,
    moe_intermediate_size: textInter,
    moe_layer_start_index: start,
    moe_layer_end_index: endRaw < 0 ? -1 : Math.min(endRaw, numLayers - 1),
  });
  const half = text.headDim / 2;
  const t = int(raw, 'freq_allocation', '', 20);
  if ((half - t) % 2 !== 0 || t > half) throw new ConfigError(`config.json: freq_allocation ${t} must leave an even number of the ${half} RoPE frequencies to h and w`);
  const vc = isObject(raw.vision_config) ? raw.vision_config : {};
  const hidden = int(vc, 'hidden_size', 'vision_config.', int(vc, 'embed_dim', 'vision_config.', 1280));
  const vision = visionConfig(vc, 'vision_config.', {
    hiddenSize: hidden,
    intermediateSize: hidden * int(vc, 'mlp_ratio', 'vision_config.', 4),
    spatialMergeSize: int(raw, 'spatial_conv_size', '', int(vc, 'spatial_merge_size', 'vision_config.', 2)),
    temporalMergeSize: int(raw, 'temporal_conv_size', '', 2),
    layerNormEps: 1e-6,
    ropeTheta: 10000,
  });
  const image = int(raw, 'im_patch_id', '', 100295);
  return finish(text, textExperts, visionInter, [(half - t) / 2, (half - t) / 2, t], vision, {
    image, imageStart: 101304, imageEnd: 101305, video: image, videoStart: 101306, videoEnd: 101307,
  });
}

function num(v: unknown, fallback: number, key: string): number {
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'number' || !(v > 0)) throw new ConfigError(`config.json: "${key}" must be a positive number, got ${JSON.stringify(v)}`);
  return v;
}

function visionConfig(vc: Json, where: string, known: Omit<VisionConfig, 'depth' | 'numHeads' | 'headDim' | 'patchSize' | 'inChannels'>): VisionConfig {
  const act = vc.hidden_act ?? 'quick_gelu';
  if (act !== 'quick_gelu') throw new ConfigError(`config.json: ${where}hidden_act ${JSON.stringify(act)} is not supported (only "quick_gelu")`);
  const numHeads = int(vc, 'num_heads', where, 16);
  if (known.hiddenSize % numHeads !== 0) throw new ConfigError(`config.json: ${where}hidden_size ${known.hiddenSize} is not divisible by num_heads ${numHeads}`);
  const headDim = known.hiddenSize / numHeads;
  // the 2D RoPE splits each head into (row, col) halves of rotate-half pairs
  if (headDim % 4 !== 0) throw new ConfigError(`config.json: vision head_dim ${headDim} must be a multiple of 4 for the 2D RoPE`);
  if (known.temporalMergeSize !== 2) throw new ConfigError(`config.json: temporal merge size ${known.temporalMergeSize} is not supported (only 2, as the resampler is defined)`);
  return { ...known, depth: int(vc, 'depth', where, 32), numHeads, headDim, patchSize: int(vc, 'patch_size', where, 14), inChannels: int(vc, 'in_channels', where, 3) };
}

function finish(text: ErnieConfig, numExperts: number, visionInter: number, section: unknown, vision: VisionConfig, tokens: VlTokenIds): ErnieVlConfig {
  const half = text.headDim / 2;
  if (!Array.isArray(section) || section.length !== 3 || !section.every((x) => Number.isInteger(x) && x >= 0) || section[0] !== section[1] || section[0] + section[1] + section[2] !== half) {
    throw new ConfigError(`config.json: mrope_section ${JSON.stringify(section)} must be [h, w, t] with h = w and h + w + t = head_dim / 2 = ${half}`);
  }
  if (!text.moe) throw new ConfigError('config.json: an ERNIE-4.5-VL model needs MoE layers (moe_num_experts)');
  return { modelType: 'ernie4_5_vl_moe', text, visionExperts: { numExperts, intermediateSize: visionInter }, mropeSection: section as [number, number, number], vision, tokens };
}

/** Dense layer or dual (text + vision) MoE layer: the text model's rule. */
export function isVlMoeLayer(cfg: ErnieVlConfig, layer: number): boolean {
  return isMoeLayer(cfg.text, layer);
}

/** Hidden width of one merged window entering the resampler (vision hidden * merge^2). */
export function mergedDim(cfg: ErnieVlConfig): number {
  return cfg.vision.hiddenSize * cfg.vision.spatialMergeSize ** 2;
}
