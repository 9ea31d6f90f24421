// config.json parsing: both spellings, derived values, the layer pattern, and clear errors.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isMoeLayer, parseConfig } from '../../src/model/ernie45/config.js';
import { ConfigError } from '../../src/errors.js';

const tiny = JSON.parse(readFileSync('test/fixtures/ernie45-moe-tiny/config.json', 'utf8'));

/** ERNIE-4.5-21B-A3B-PT as the older spelling writes it (top-level rope_theta, no head_dim, end index -1). */
const real21b = {
  model_type: 'ernie4_5_moe', hidden_size: 2560, intermediate_size: 12288, moe_intermediate_size: 1536, num_hidden_layers: 28,
  num_attention_heads: 20, num_key_value_heads: 4, vocab_size: 103424, max_position_embeddings: 131072, rope_theta: 500000,
  rms_norm_eps: 1e-5, tie_word_embeddings: true, moe_num_experts: 64, moe_k: 6, moe_num_shared_experts: 2,
  moe_layer_start_index: 1, moe_layer_end_index: -1, moe_layer_interval: 1, bos_token_id: 1, eos_token_id: 2,
};

describe('parseConfig', () => {
  it('reads the tiny fixture (transformers 5 spelling)', () => {
    const c = parseConfig(tiny);
    expect(c).toMatchObject({ hiddenSize: 128, numLayers: 4, numHeads: 4, numKvHeads: 2, headDim: 32, ropeTheta: 500000, tieWordEmbeddings: true });
    expect(c.moe).toMatchObject({ numExperts: 16, topK: 4, expertIntermediateSize: 32, sharedIntermediateSize: 64, layerStart: 1, layerEnd: 3 });
    expect([0, 1, 2, 3].map((l) => isMoeLayer(c, l))).toEqual([false, true, true, true]);
  });

  it('reads the 21B-A3B config in the older spelling: head_dim derived, end index -1, shared = 2 x 1536', () => {
    const c = parseConfig(real21b);
    expect(c.headDim).toBe(128);
    expect(c.ropeTheta).toBe(500000);
    expect(c.moe!.sharedIntermediateSize).toBe(3072);
    expect(c.moe!.layerEnd).toBe(27);
    expect([...Array(28).keys()].filter((l) => isMoeLayer(c, l)).length).toBe(27);
    expect(isMoeLayer(c, 0)).toBe(false);
  });

  it('takes the text entry of per-modality layer indices (VL configs)', () => {
    const c = parseConfig({ ...real21b, moe_layer_start_index: [1, 1], moe_layer_end_index: [29, 28] });
    expect(c.moe!.layerStart).toBe(1);
    expect(c.moe!.layerEnd).toBe(29);
  });

  it.each([
    ['unknown model type', { ...real21b, model_type: 'llama' }, /not supported/],
    ['not an object', [1, 2], /JSON object/],
    ['missing hidden_size', { ...real21b, hidden_size: undefined }, /"hidden_size" is required/],
    ['heads not a multiple of kv heads', { ...real21b, num_key_value_heads: 3 }, /"num_key_value_heads" \(3\) must divide "num_attention_heads" \(20\)/],
    ['hidden not divisible by heads and no head_dim', { ...real21b, num_attention_heads: 7, num_key_value_heads: 7 }, /not divisible/],
    ['odd head_dim', { ...real21b, head_dim: 127 }, /even/],
    ['top-k above experts', { ...real21b, moe_k: 65 }, /exceeds "moe_num_experts"/],
    ['string where a number belongs', { ...real21b, vocab_size: '103424' }, /must be a number/],
    ['negative layers', { ...real21b, num_hidden_layers: -2 }, /positive integer/],
    ['unsupported rope scaling', { ...real21b, rope_parameters: { rope_theta: 1e6, rope_type: 'yarn' } }, /"rope_parameters.rope_type" is "yarn", which is not supported/],
  ])('rejects %s with a ConfigError', (_, cfg, message) => {
    expect(() => parseConfig(cfg)).toThrow(ConfigError);
    expect(() => parseConfig(cfg)).toThrow(message);
  });
});
