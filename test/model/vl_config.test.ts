// ERNIE-4.5-VL config.json in both spellings, and the tensor list the config implies checked
// against the fixture checkpoint's own tensors (names and shapes, nothing missing or extra).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isVlMoeLayer, parseVlConfig } from '../../src/model/ernie45_vl/config.js';
import { expectedVlTensors, visionPrefix } from '../../src/model/ernie45_vl/tensors.js';
import { SafetensorsFile } from '../../src/formats/safetensors.js';
import { fromPath } from '../../src/formats/node_source.js';

const VL = 'test/fixtures/ernie45-vl-tiny';
const fixture = JSON.parse(readFileSync(`${VL}/config.json`, 'utf8'));

/** ERNIE-4.5-VL-28B-A3B-PT in Baidu's original flat spelling (ERNIE45.md §3.1). */
const baidu28b = {
  model_type: 'ernie4_5_vl_moe', architectures: ['Ernie4_5_VLMoeForConditionalGeneration'],
  hidden_size: 2560, intermediate_size: 12288, num_hidden_layers: 28, num_attention_heads: 20, num_key_value_heads: 4,
  vocab_size: 103424, rms_norm_eps: 1e-5, rope_theta: 500000, tie_word_embeddings: true, max_position_embeddings: 131072,
  moe_num_experts: [64, 64], moe_intermediate_size: [1536, 512], moe_k: 6, moe_num_shared_experts: 2,
  moe_layer_start_index: [1, 1], moe_layer_end_index: [29, 28], moe_layer_interval: 1, moe_use_aux_free: true,
  im_patch_id: 100295, pixel_hidden_size: 1280, spatial_conv_size: 2, temporal_conv_size: 2, use_temporal_conv: true, freq_allocation: 20,
  vision_config: { depth: 32, embed_dim: 1280, hidden_size: 1280, num_heads: 16, mlp_ratio: 4, patch_size: 14, in_channels: 3, spatial_merge_size: 2, hidden_act: 'quick_gelu' },
};

describe('parseVlConfig', () => {
  it('reads the fixture (transformers 5 nested spelling)', () => {
    const c = parseVlConfig(fixture);
    expect(c.text).toMatchObject({ hiddenSize: 128, numLayers: 3, numHeads: 4, numKvHeads: 2, headDim: 32, vocabSize: 2048, ropeTheta: 500000, tieWordEmbeddings: true });
    expect(c.text.moe).toMatchObject({ numExperts: 16, topK: 4, expertIntermediateSize: 32, sharedIntermediateSize: 64 });
    expect(c.visionExperts).toEqual({ numExperts: 16, intermediateSize: 16 });
    expect(c.mropeSection).toEqual([6, 6, 4]);
    expect(c.vision).toEqual({
      depth: 2, hiddenSize: 64, intermediateSize: 128, numHeads: 4, headDim: 16, patchSize: 14, inChannels: 3,
      spatialMergeSize: 2, temporalMergeSize: 2, layerNormEps: 1e-6, ropeTheta: 10000,
    });
    expect(c.tokens).toEqual({ image: 2000, imageStart: 2001, imageEnd: 2002, video: 2005, videoStart: 2003, videoEnd: 2004 });
    expect([0, 1, 2].map((l) => isVlMoeLayer(c, l))).toEqual([false, true, true]);
  });

  it('reads the 28B in Baidu\'s flat spelling: experts per modality, freq_allocation -> [22, 22, 20], embed_dim x mlp_ratio', () => {
    const c = parseVlConfig(baidu28b);
    expect(c.text).toMatchObject({ hiddenSize: 2560, numLayers: 28, headDim: 128, intermediateSize: 12288 });
    expect(c.text.moe).toMatchObject({ numExperts: 64, topK: 6, expertIntermediateSize: 1536, sharedIntermediateSize: 3072, layerStart: 1, layerEnd: 27 });
    expect(c.visionExperts).toEqual({ numExperts: 64, intermediateSize: 512 });
    expect(c.mropeSection).toEqual([22, 22, 20]);
    expect(c.vision).toMatchObject({ depth: 32, hiddenSize: 1280, intermediateSize: 5120, numHeads: 16, headDim: 80, temporalMergeSize: 2 });
    expect(c.tokens.image).toBe(100295);
    expect(Array.from({ length: 28 }, (_, l) => isVlMoeLayer(c, l))).toEqual([false, ...Array(27).fill(true)]);
    // the two spellings agree where they overlap
    const nested = parseVlConfig({
      model_type: 'ernie4_5_vl_moe',
      text_config: { ...baidu28b, moe_num_experts: 64, moe_layer_start_index: undefined, moe_layer_end_index: undefined, rope_parameters: { rope_theta: 500000, mrope_section: [22, 22, 20] } },
      vision_config: { depth: 32, hidden_size: 1280, intermediate_size: 5120, num_heads: 16, spatial_merge_size: 2, temporal_merge_size: 2 },
    });
    expect(nested.text).toEqual(c.text);
    expect(nested.vision).toEqual(c.vision);
  });

  it('a dense-lead pattern in mlp_layer_types maps onto the text model\'s layer rule', () => {
    const c = parseVlConfig({ ...fixture, text_config: { ...fixture.text_config, num_hidden_layers: 5, mlp_layer_types: ['dense', 'dense', 'sparse', 'sparse', 'sparse'] } });
    expect([0, 1, 2, 3, 4].map((l) => isVlMoeLayer(c, l))).toEqual([false, false, true, true, true]);
  });

  it.each([
    [{ model_type: 'ernie4_5_moe' }, 'model_type'],
    [{ ...fixture, text_config: { ...fixture.text_config, moe_intermediate_size: [32] } }, 'moe_intermediate_size'],
    [{ ...fixture, text_config: { ...fixture.text_config, mlp_layer_types: ['dense', 'sparse'] } }, 'mlp_layer_types'],
    [{ ...fixture, text_config: { ...fixture.text_config, mlp_layer_types: ['sparse', 'dense', 'sparse'] } }, 'mlp_layer_types'],
    [{ ...fixture, text_config: { ...fixture.text_config, rope_parameters: { rope_theta: 500000, mrope_section: [6, 4, 6] } } }, 'mrope_section'],
    [{ ...fixture, vision_config: { ...fixture.vision_config, hidden_act: 'gelu' } }, 'hidden_act'],
    [{ ...fixture, vision_config: { ...fixture.vision_config, num_heads: 3 } }, 'num_heads'],
    [{ ...baidu28b, moe_num_experts: [64, 32] }, 'moe_num_experts'],
    [{ ...baidu28b, freq_allocation: 21 }, 'freq_allocation'],
  ])('a bad config is a BAD_CONFIG error naming the field (%#)', (cfg, field) => {
    expect(() => parseVlConfig(cfg)).toThrow(expect.objectContaining({ code: 'BAD_CONFIG', message: expect.stringContaining(field) }));
  });
});

describe('expectedVlTensors', () => {
  it('lists exactly the fixture checkpoint\'s tensors with their shapes', async () => {
    const st = await SafetensorsFile.open(fromPath(`${VL}/model.safetensors`));
    const cfg = parseVlConfig(fixture);
    const prefix = visionPrefix(st.names());
    expect(prefix).toBe('model.vision_model.');
    const want = expectedVlTensors(cfg, prefix);
    expect(want.map((t) => t.name).sort()).toEqual(st.names().sort());
    for (const t of want) expect(st.info(t.name).shape, t.name).toEqual(t.shape);
    expect(want.filter((t) => t.expert !== undefined && t.expert >= 16 && t.name.endsWith('gate_proj.weight'))[0].shape).toEqual([16, 128]);
  });

  it('original -PT names (vision_model.*) are recognised; a checkpoint without a tower is MISSING_TENSOR', () => {
    expect(visionPrefix(['vision_model.patch_embed.proj.weight'])).toBe('vision_model.');
    expect(() => visionPrefix(['model.embed_tokens.weight'], 'x.safetensors')).toThrow(expect.objectContaining({ code: 'MISSING_TENSOR', message: expect.stringContaining('x.safetensors') }));
  });
});
