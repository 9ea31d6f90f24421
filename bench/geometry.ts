// The models the benchmarks build in-process: ERNIE-4.5-21B-A3B's geometry (or a scaled-down
// "mini" one for rehearsals on software adapters) with random weights, f16 dense tensors and
// routed experts in f16, Q4_K (q4) or Q2_K (q2) blocks.
import { type ErnieConfig, parseConfig } from '../src/model/ernie45/config.js';
import { expectedShapes, type WeightSource } from '../src/model/ernie45/weights.js';
import { quantize, rowBytes } from '../src/quant/layouts.js';
import { Rng } from '../src/sampling/rng.js';

export type Geometry = '21b' | 'mini';
export type ExpertFormat = 'f16' | 'q4' | 'q2';

/** config.json fields of ERNIE-4.5-21B-A3B (ERNIE45.md), with `layers` layers. */
export function benchConfig(geometry: Geometry, layers: number, maxPositions = 131072): ErnieConfig {
  const g = geometry === '21b'
    ? { vocab_size: 103424, hidden_size: 2560, num_attention_heads: 20, num_key_value_heads: 4, head_dim: 128, intermediate_size: 12288, moe_intermediate_size: 1536, moe_num_experts: 64 }
    : { vocab_size: 16384, hidden_size: 512, num_attention_heads: 8, num_key_value_heads: 2, head_dim: 64, intermediate_size: 1024, moe_intermediate_size: 384, moe_num_experts: 16 };
  return parseConfig({
    model_type: 'ernie4_5_moe', ...g, num_hidden_layers: layers, moe_k: 6, moe_num_shared_experts: 2,
    moe_layer_start_index: 1, moe_layer_end_index: -1, moe_layer_interval: 1, rope_theta: 500000, rms_norm_eps: 1e-5, tie_word_embeddings: true,
    max_position_embeddings: maxPositions,
  });
}

export const expertLayoutOf = (f: ExpertFormat) => (f === 'q4' ? 'q4_k' : f === 'q2' ? 'q2_k' : null);

/**
 * Random weights for `cfg`: f16 tensors cycle one random block of small values (both signs);
 * routed experts repeat one randomly quantized row; routers are random (constant ones would
 * route every token to the same experts); norms 1, other f32 tensors 0.01.
 */
export function randomWeights(cfg: ErnieConfig, experts: ExpertFormat, seed = 1): WeightSource {
  const rng = new Rng(seed);
  const rand = () => rng.uniform();
  const shapes = expectedShapes(cfg);
  const block = new Uint16Array(1 << 20);
  for (let i = 0; i < block.length; i++) block[i] = 0x2000 + Math.floor(rand() * 0x1000) + (i & 1 ? 0x8000 : 0); // ~1e-4..1e-3
  const fill = (n: number) => {
    const out = new Uint16Array(n);
    for (let i = 0; i < n; i += block.length) out.set(block.subarray(0, Math.min(block.length, n - i)), i);
    return new Uint8Array(out.buffer);
  };
  const layout = expertLayoutOf(experts);
  const isExpert = (n: string) => n.includes('.mlp.experts.');
  const rows = new Map<number, Uint8Array>();
  const fillQuant = (r: number, cols: number) => {
    let row = rows.get(cols);
    if (!row) rows.set(cols, (row = quantize(layout!, Float32Array.from({ length: cols }, () => (rand() - 0.5) * 0.04), 1, cols, { effort: 'fast' })));
    const out = new Uint8Array(r * rowBytes(layout!, cols));
    for (let i = 0; i < r; i++) out.set(row, i * row.length);
    return out;
  };
  const count = (n: string) => shapes.get(n)!.reduce((x, y) => x * y, 1);
  return {
    has: (n) => shapes.has(n),
    info: (n) => ({
      shape: shapes.get(n)!,
      dtype: layout && isExpert(n) ? layout.toUpperCase() : shapes.get(n)!.length === 2 && !n.endsWith('mlp.gate.weight') ? 'F16' : 'F32',
    }),
    readRaw: async (n) => (layout && isExpert(n) ? fillQuant(shapes.get(n)![0]!, shapes.get(n)![1]!) : fill(count(n))),
    readF32: async (n) => {
      const out = new Float32Array(count(n));
      if (n.endsWith('mlp.gate.weight')) for (let i = 0; i < out.length; i++) out[i] = (rand() - 0.5) * 0.2;
      else out.fill(n.includes('norm') ? 1 : 0.01);
      return out;
    },
  };
}
