// The engine is sized by config.json, not by the fixture: random models with other geometry
// (two dense layers, untied lm_head, other head counts, experts, top-k, head_dim given or
// derived, f16 weights) run on the GPU and are checked against the f64 CPU reference forward.
import { describe, expect, it } from 'vitest';
import { parseConfig, type ErnieConfig } from '../../src/model/ernie45/config.js';
import { expectedShapes, loadWeights, type WeightSource } from '../../src/model/ernie45/weights.js';
import { ErnieForward } from '../../src/model/ernie45/forward.js';
import { sample } from '../../src/kernels/sample.js';
import { referenceForward } from '../reference/forward_ref.js';
import { maxAbsDiff } from '../reference/ops.js';
import { f32ToF16Bits, gpuContext, randn, rng } from '../helpers/gpu.js';
import { f16ToF32 } from '../../src/formats/safetensors.js';

/** An in-memory checkpoint with random weights for `cfg`; F16 stores f16-rounded values. */
function randomCheckpoint(cfg: ErnieConfig, seed: number, dtype: 'F32' | 'F16'): { src: WeightSource; values: Map<string, Float32Array> } {
  const r = rng(seed);
  const values = new Map<string, Float32Array>();
  const raw = new Map<string, Uint8Array>();
  for (const [name, shape] of expectedShapes(cfg)) {
    const n = shape.reduce((a, b) => a * b, 1);
    const isNorm = shape.length === 1;
    let v = isNorm ? randn(r, n, 0.1).map((x) => 1 + x) : randn(r, n, name.includes('mlp.gate.weight') ? 0.3 : 0.08);
    if (name.endsWith('e_score_correction_bias')) v = randn(r, n, 0.05);
    const matrix = shape.length === 2 && !name.includes('mlp.gate.weight');
    if (dtype === 'F16' && matrix) {
      const bits = Uint16Array.from(v, f32ToF16Bits);
      raw.set(name, new Uint8Array(bits.buffer));
      v = Float32Array.from(bits, f16ToF32);
    } else raw.set(name, new Uint8Array(v.buffer));
    values.set(name, v);
  }
  const shapes = expectedShapes(cfg);
  const src: WeightSource = {
    has: (name) => values.has(name),
    info: (name) => ({ shape: shapes.get(name)!, dtype: dtype === 'F16' && shapes.get(name)!.length === 2 && !name.includes('mlp.gate.weight') ? 'F16' : 'F32' }),
    readF32: async (name) => values.get(name)!,
    readRaw: async (name) => raw.get(name)!,
  };
  return { src, values };
}


const geometries = [
  {
    name: 'two dense layers then MoE, untied lm_head, 6/3 heads of 16, 8 experts top-2, no shared expert, legacy rope_theta, derived head_dim',
    dtype: 'F32' as const,
    config: {
      model_type: 'ernie4_5_moe', vocab_size: 300, hidden_size: 96, num_hidden_layers: 4, num_attention_heads: 6, num_key_value_heads: 3,
      intermediate_size: 80, moe_intermediate_size: 24, moe_k: 2, moe_num_experts: 8, moe_num_shared_experts: 0,
      moe_layer_start_index: 2, moe_layer_end_index: -1, moe_layer_interval: 1, rope_theta: 10000, rms_norm_eps: 1e-6,
      tie_word_embeddings: false, max_position_embeddings: 512,
    },
  },
  {
    name: 'MoE every other layer, f16 weights, head_dim 48 != hidden/heads, 5 experts top-3, 1 shared expert, tied',
    dtype: 'F16' as const,
    config: {
      model_type: 'ernie4_5_moe', vocab_size: 173, hidden_size: 64, num_hidden_layers: 4, num_attention_heads: 2, num_key_value_heads: 1, head_dim: 48,
      intermediate_size: 100, moe_intermediate_size: 40, moe_k: 3, moe_num_experts: 5, moe_num_shared_experts: 1,
      moe_layer_start_index: 0, moe_layer_end_index: 3, moe_layer_interval: 2, rope_parameters: { rope_theta: 500000, rope_type: 'default' },
      rms_norm_eps: 1e-5, tie_word_embeddings: true, max_position_embeddings: 256,
    },
  },
  {
    name: 'dense ernie4_5 (no MoE), 4/4 heads of 32',
    dtype: 'F32' as const,
    config: {
      model_type: 'ernie4_5', vocab_size: 211, hidden_size: 128, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 4,
      intermediate_size: 192, rope_theta: 500000, rms_norm_eps: 1e-5, tie_word_embeddings: true, max_position_embeddings: 256,
    },
  },
];

describe('random geometries: GPU forward vs f64 CPU reference', () => {
  it.each(geometries)('$name', async ({ config, dtype }) => {
    const cfg = parseConfig(config);
    const ctx = await gpuContext();
    const { src, values } = randomCheckpoint(cfg, 11, dtype);
    const weights = await loadWeights(ctx, cfg, src);
    const fwd = new ErnieForward(ctx, cfg, weights, { maxBatch: 12, kvCacheBytes: 1 << 20 });
    const r = rng(5);
    const ids = Array.from({ length: 19 }, () => Math.floor(r() * cfg.vocabSize));
    // prefill in two chunks (12 + 7) and compare every position
    const want = referenceForward(cfg, (n) => values.get(n)!, ids);
    const { logits } = await fwd.run(ids, { allLogits: true });
    expect(maxAbsDiff(logits!, want.logits)).toBeLessThan(2e-4);
    // then decode 3 tokens one at a time through the KV cache; compare the last position
    const result = ctx.createBuffer('token', 4);
    const seq = [...ids];
    for (let i = 0; i < 3; i++) {
      sample(ctx, { logits: fwd.logitsBuffer, row: 0, vocab: cfg.vocabSize, result, options: { temperature: 0 }, u: 0 });
      const [id] = await ctx.readU32(result, 0, 1);
      seq.push(id);
      await fwd.run([id]);
    }
    const ref = referenceForward(cfg, (n) => values.get(n)!, seq).logits.subarray((seq.length - 1) * cfg.vocabSize);
    const got = await ctx.readF32(fwd.logitsBuffer, 0, cfg.vocabSize);
    expect(maxAbsDiff(got, ref)).toBeLessThan(2e-4);
  });
});
