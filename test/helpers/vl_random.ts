// A random ERNIE-4.5-VL geometry (other widths than the fixture, mrope_section [4, 4, 8], two
// dense lead layers, untied head, vision experts narrower than text experts) and random weights
// for it in the checkpoint layout (transposed routers, a [2, E] router bias).
import { type ErnieVlConfig, parseVlConfig } from '../../src/model/ernie45_vl/config.js';
import { type VisionPrefix, expectedVlTensors } from '../../src/model/ernie45_vl/tensors.js';
import type { WeightSource } from '../../src/model/ernie45/weights.js';
import { randn, rng } from './random.js';

export const RANDOM_VL_CONFIG = {
  model_type: 'ernie4_5_vl_moe',
  image_token_id: 290, image_start_token_id: 291, image_end_token_id: 292, video_token_id: 295, video_start_token_id: 293, video_end_token_id: 294,
  text_config: {
    vocab_size: 300, hidden_size: 96, num_hidden_layers: 4, mlp_layer_types: ['dense', 'dense', 'sparse', 'sparse'],
    num_attention_heads: 3, num_key_value_heads: 1, head_dim: 32, intermediate_size: 80, moe_intermediate_size: [40, 24],
    moe_k: 2, moe_num_experts: 6, moe_num_shared_experts: 1, rms_norm_eps: 1e-6, tie_word_embeddings: false,
    rope_parameters: { rope_type: 'default', rope_theta: 10000, mrope_section: [4, 4, 8] },
  },
  vision_config: { depth: 2, hidden_size: 48, intermediate_size: 80, num_heads: 3, patch_size: 14, spatial_merge_size: 2, temporal_merge_size: 2, rope_parameters: { rope_theta: 10000 } },
};

export function randomVlWeights(cfg: ErnieVlConfig, prefix: VisionPrefix, seed: number): { values: Map<string, Float32Array>; shapes: Map<string, number[]>; src: WeightSource } {
  const r = rng(seed);
  const values = new Map<string, Float32Array>(), shapes = new Map<string, number[]>();
  for (const t of expectedVlTensors(cfg, prefix)) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    const norm = t.shape.length === 1 && /norm|\.ln\.|linear\.3|after_norm/.test(t.name) && t.name.endsWith('weight');
    const router = t.name.includes('mlp.gate.weight');
    values.set(t.name, norm ? randn(r, n, 0.1).map((x) => 1 + x) : randn(r, n, router ? 0.3 : t.name.includes('e_score') ? 0.05 : 0.08));
    shapes.set(t.name, t.shape);
  }
  const src: WeightSource = {
    has: (n) => values.has(n),
    info: (n) => ({ shape: shapes.get(n)!, dtype: 'F32' }),
    readF32: async (n) => values.get(n)!,
    readRaw: async (n) => new Uint8Array(values.get(n)!.buffer),
  };
  return { values, shapes, src };
}

export const randomVlConfig = (): ErnieVlConfig => parseVlConfig(RANDOM_VL_CONFIG);
