// The ERNIE view of a GGUF: config in HF spelling, and HF tensor names mapped to GGUF tensors.
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { ErnieError } from '../../src/errors';
import { GgufFile } from '../../src/formats/gguf';
import { ernieConfigFromGguf, ggufWeightLookup } from '../../src/formats/gguf_ernie';
import { fromPath } from '../../src/formats/node_source';
import { SafetensorsFile } from '../../src/formats/safetensors';
import { fromArrayBuffer } from '../../src/formats/sources';
import { parseConfig } from '../../src/model/ernie45/config';
import { GGUF_DIR, GgufBytes, craftGguf, ggufPath, openGguf } from './helpers';

const json = (path: string) => JSON.parse(readFileSync(path, 'utf8')) as unknown;

describe('ernieConfigFromGguf', () => {
  test.each([
    ['ernie45-moe-tiny-q8_0', 'test/fixtures/ernie45-moe-tiny/config.json'],
    ['ernie45-moe-k256-q4_k_m', `${GGUF_DIR}/ernie45-moe-k256/config.json`],
  ])('%s gives the same ErnieConfig as its config.json', async (name, configPath) => {
    const raw = ernieConfigFromGguf(await openGguf(name));
    expect(raw).toMatchObject({ model_type: 'ernie4_5_moe', rms_norm_eps: 1e-5, tie_word_embeddings: true });
    expect(parseConfig(raw)).toEqual(parseConfig(json(configPath)));
  });

  test("the shared-expert width comes from the tensor, not llama.cpp's intermediate_size / kv_heads", async () => {
    const bytes = new Uint8Array(readFileSync(ggufPath('ernie45-moe-tiny-q4_0')));
    const key = Buffer.from(bytes).indexOf('expert_shared_feed_forward_length');
    const value = key + 'expert_shared_feed_forward_length'.length + 4; // after the u32 value type
    const v = new DataView(bytes.buffer);
    expect(v.getUint32(value, true)).toBe(64);
    v.setUint32(value, 128, true); // what llama.cpp's converter writes for this model
    const g = await GgufFile.open(fromArrayBuffer(bytes, 'hacked.gguf'));
    expect(g.metadata.get('ernie4_5-moe.expert_shared_feed_forward_length')).toBe(128);
    expect(ernieConfigFromGguf(g).moe_num_shared_experts).toBe(2);
  });

  test('another architecture is refused', async () => {
    const g = await GgufFile.open(fromArrayBuffer(craftGguf({ kv: (b) => (b.str('general.architecture').u32(8).str('llama'), 1) }), 'llama.gguf'));
    expect(() => ernieConfigFromGguf(g)).toThrow(/"llama"; expected "ernie4_5-moe"/);
  });
});

describe('ggufWeightLookup', () => {
  test('tiny-f32: every HF tensor equals the HF checkpoint exactly', async () => {
    const lookup = ggufWeightLookup(await openGguf('ernie45-moe-tiny-f32'));
    const hf = await SafetensorsFile.open(fromPath('test/fixtures/ernie45-moe-tiny/model.safetensors'));
    expect(hf.names().length).toBe(188);
    for (const name of hf.names()) {
      const ref = lookup.resolve(name);
      const hfShape = hf.info(name).shape;
      // HF stores the router bias as [1, E]; GGUF as [E].
      expect(ref.shape, name).toEqual(hfShape[0] === 1 && hfShape.length === 2 ? hfShape.slice(1) : hfShape);
      const [a, b] = [await lookup.readF32(name), await hf.readF32(name)];
      // Bitwise: Buffer.equals is far faster than a deep equal on 262144-element arrays.
      expect(Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength)), name).toBe(true);
    }
  });

  test('an expert is one contiguous block-aligned slice of the stacked tensor', async () => {
    const g = await openGguf('ernie45-moe-k256-q4_k_m');
    const lookup = ggufWeightLookup(g);
    const t = g.tensor('blk.1.ffn_up_exps.weight'); // Q4_K [256 in, 256 out, 8 experts]
    const ref = lookup.resolve('model.layers.1.mlp.experts.3.up_proj.weight');
    expect(ref).toEqual({
      tensor: 'blk.1.ffn_up_exps.weight', type: 12, typeName: 'Q4_K', elementOffset: 3 * 65536, elementCount: 65536,
      byteOffset: t.offset + 3 * 36864, byteLength: 36864, shape: [256, 256],
    });
    const whole = await g.readF32(t.name);
    expect(await lookup.readF32('model.layers.1.mlp.experts.3.up_proj.weight')).toEqual(whole.subarray(3 * 65536, 4 * 65536));
    const raw = await lookup.readRaw('model.layers.2.mlp.experts.7.down_proj.weight');
    expect(raw.length).toBe(256 * 256 / 256 * 210); // Q6_K
  });

  test('names map to the GGUF tensors', async () => {
    const lookup = ggufWeightLookup(await openGguf('ernie45-moe-k256-q4_k_m'));
    const map: [string, string][] = [
      ['model.embed_tokens.weight', 'token_embd.weight'],
      ['lm_head.weight', 'token_embd.weight'], // tied
      ['model.norm.weight', 'output_norm.weight'],
      ['model.layers.0.input_layernorm.weight', 'blk.0.attn_norm.weight'],
      ['model.layers.0.self_attn.q_proj.weight', 'blk.0.attn_q.weight'],
      ['model.layers.0.self_attn.k_proj.weight', 'blk.0.attn_k.weight'],
      ['model.layers.0.self_attn.v_proj.weight', 'blk.0.attn_v.weight'],
      ['model.layers.0.self_attn.o_proj.weight', 'blk.0.attn_output.weight'],
      ['model.layers.0.post_attention_layernorm.weight', 'blk.0.ffn_norm.weight'],
      ['model.layers.0.mlp.gate_proj.weight', 'blk.0.ffn_gate.weight'],
      ['model.layers.0.mlp.up_proj.weight', 'blk.0.ffn_up.weight'],
      ['model.layers.0.mlp.down_proj.weight', 'blk.0.ffn_down.weight'],
      ['model.layers.2.mlp.gate.weight', 'blk.2.ffn_gate_inp.weight'],
      ['model.layers.2.mlp.moe_statics.e_score_correction_bias', 'blk.2.exp_probs_b.bias'],
      ['model.layers.2.mlp.shared_experts.gate_proj.weight', 'blk.2.ffn_gate_shexp.weight'],
      ['model.layers.2.mlp.shared_experts.up_proj.weight', 'blk.2.ffn_up_shexp.weight'],
      ['model.layers.2.mlp.shared_experts.down_proj.weight', 'blk.2.ffn_down_shexp.weight'],
      ['model.layers.2.mlp.experts.0.gate_proj.weight', 'blk.2.ffn_gate_exps.weight'],
    ];
    for (const [hf, gguf] of map) expect(lookup.resolve(hf).tensor, hf).toBe(gguf);
    expect(lookup.resolve('model.layers.0.mlp.down_proj.weight').shape).toEqual([256, 512]);
    expect(lookup.resolve('model.layers.1.mlp.gate.weight').shape).toEqual([8, 256]);
    for (const missing of ['model.layers.0.mlp.gate.weight', 'model.layers.1.mlp.experts.8.up_proj.weight', 'model.layers.9.input_layernorm.weight', 'mtp_block.0.x', 'model.layers.1.mlp.experts.1.fused.weight']) {
      expect(lookup.has(missing), missing).toBe(false);
      expect(() => lookup.resolve(missing), missing).toThrow(ErnieError);
    }
    expect(lookup.has('model.layers.1.mlp.experts.7.down_proj.weight')).toBe(true);
  });

  test('an untied file maps lm_head to output.weight and says tie_word_embeddings: false', async () => {
    const T = { U32: 4, STRING: 8 };
    const kv = (b: GgufBytes) => {
      b.str('general.architecture').u32(T.STRING).str('ernie4_5');
      for (const [k, v] of [['embedding_length', 32], ['block_count', 1], ['attention.head_count', 2], ['feed_forward_length', 64]] as const) {
        b.str(`ernie4_5.${k}`).u32(T.U32).u32(v);
      }
      return 5;
    };
    const bytes = craftGguf({
      kv,
      tensors: [
        { name: 'token_embd.weight', dims: [32, 8], type: 0, offset: 0 },
        { name: 'output.weight', dims: [32, 8], type: 1, offset: 1024 },
        // block_count 1 needs the file to hold a block (the tensors bound the blocks it may claim)
        { name: 'blk.0.attn_norm.weight', dims: [32], type: 0, offset: 1536 },
      ],
      dataBytes: 1536 + 128,
    });
    const g = await GgufFile.open(fromArrayBuffer(bytes, 'untied.gguf'));
    const cfg = parseConfig(ernieConfigFromGguf(g));
    expect(cfg).toMatchObject({ modelType: 'ernie4_5', tieWordEmbeddings: false, vocabSize: 8, headDim: 16, moe: null, ropeTheta: 10000 });
    const lookup = ggufWeightLookup(g);
    expect(lookup.resolve('lm_head.weight')).toMatchObject({ tensor: 'output.weight', typeName: 'F16', shape: [8, 32] });
    expect(await lookup.readF32('lm_head.weight')).toEqual(new Float32Array(256));
  });
});
