// Issue 20's reproductions for files and configs, each built from a fixture in the test: what used
// to load wrong (shifted safetensors, a q_proj of the right size but the wrong rank, NaN-making
// config numbers), what used to run out of memory (1e9 layers or experts), and what used to blame
// the wrong file. Each must now fail fast with a typed error naming the file and the field.
import { beforeAll, describe, expect, test } from 'vitest';
import { ConfigError, ErnieError, FileFormatError } from '../../src/errors';
import { fromArrayBuffer } from '../../src/formats/sources';
import { SafetensorsFile } from '../../src/formats/safetensors';
import { GgufFile } from '../../src/formats/gguf';
import { loadErnieFromFolder, openFolderWeights } from '../../src/model/ernie45/load';
import { openGgufWeights } from '../../src/model/ernie45/gguf_source';
import { parseConfig } from '../../src/model/ernie45/config';
import { convertModel } from '../../src/convert/convert';
import { memoryPackage } from '../../src/package/writer';
import { MANIFEST_FILE, validateManifest } from '../../src/package/manifest';
import { loadTokenizer } from '../../src/engine/load';
import { nodeFolder } from '../../src/formats/node_source';
import type { GpuContext } from '../../src/gpu/context';
import { gpuContext } from '../helpers/gpu';
import {
  GGUF_TINY, TINY_DIR, TOKENIZER_DIR, expectTyped, ggufArch, joinSafetensors, json, memFolder, read, setGgufNumber, splitSafetensors,
  tinyConfig, tinyFolderFiles,
} from './helpers';

const ST = read(`${TINY_DIR}/model.safetensors`);

/** The tiny folder with model.safetensors and/or config.json replaced. */
function folderWith(edit: { safetensors?: Uint8Array; config?: Record<string, unknown> }) {
  const files = tinyFolderFiles();
  if (edit.safetensors) files.set('model.safetensors', edit.safetensors);
  if (edit.config) files.set('config.json', json(edit.config));
  return memFolder(files);
}

describe('safetensors offsets must tile the data section', () => {
  const { text, data } = splitSafetensors(ST);

  test('the fixture header ends in padding, so a short length still parses as JSON', () => {
    expect(text.endsWith('   ')).toBe(true);
  });

  test.each([1, 2, 3])('a header length %i byte(s) short is a FileFormatError, not shifted tensors', async (short) => {
    const bytes = joinSafetensors(text, data, text.length - short);
    await expectTyped(SafetensorsFile.open(fromArrayBuffer(bytes, 'model.safetensors')), {
      code: 'BAD_FILE', file: 'model.safetensors', message: new RegExp(`the last ${short} bytes of the data section belong to no tensor`),
    });
  });

  test('4 bytes prepended to the data are a FileFormatError, and the whole load fails with it', async () => {
    const bytes = joinSafetensors(text, Uint8Array.from([...new Uint8Array(4), ...data]));
    await expectTyped(openFolderWeights(folderWith({ safetensors: bytes })), { code: 'BAD_FILE', file: 'model.safetensors', message: /belong to no tensor/ });
  });

  test('a gap between two tensors is a FileFormatError naming the tensor after it', async () => {
    const header = structuredClone(splitSafetensors(ST).header);
    const [name, last] = Object.entries(header).filter(([k]) => k !== '__metadata__').sort((a: any, b: any) => b[1].data_offsets[0] - a[1].data_offsets[0])[0] as [string, any];
    last.data_offsets = [last.data_offsets[0] + 4, last.data_offsets[1] + 4];
    const bytes = joinSafetensors(JSON.stringify(header), Uint8Array.from([...data, 0, 0, 0, 0]));
    await expectTyped(SafetensorsFile.open(fromArrayBuffer(bytes, 'model.safetensors')), {
      code: 'BAD_FILE', file: 'model.safetensors', message: new RegExp(`4 bytes .* before tensor "${name.replace(/\./g, '\\.')}"`),
    });
  });
});

describe('tensor rank must match, not only the element count', () => {
  let ctx: GpuContext;
  beforeAll(async () => {
    ctx = await gpuContext();
  });
  const Q = 'model.layers.0.self_attn.q_proj.weight';

  test.each([[[1, 128, 128]], [[16384]]])('q_proj stored as %j is SHAPE_MISMATCH naming the tensor and file', async (shape) => {
    const { header, data } = splitSafetensors(ST);
    header[Q].shape = shape;
    const bytes = joinSafetensors(JSON.stringify(header), data);
    await expectTyped(loadErnieFromFolder(ctx, folderWith({ safetensors: bytes })), {
      code: 'SHAPE_MISMATCH', file: 'model.safetensors', message: new RegExp(`tensor "${Q.replace(/\./g, '\\.')}" has shape \\[${shape.join(',')}\\], but the config implies \\[128,128\\]`),
    });
  });
});

describe('config numbers are range-checked, naming config.json and the field', () => {
  const cases: [string, (c: Record<string, any>) => void, string, RegExp][] = [
    ['rms_norm_eps -1', (c) => (c.rms_norm_eps = -1), 'rms_norm_eps', /greater than 0/],
    ['rms_norm_eps 0', (c) => (c.rms_norm_eps = 0), 'rms_norm_eps', /greater than 0/],
    ['rope_theta 0', (c) => (c.rope_parameters.rope_theta = 0), 'rope_parameters.rope_theta', /greater than 0/],
    ['rope_theta -1', (c) => (c.rope_parameters.rope_theta = -1), 'rope_parameters.rope_theta', /greater than 0/],
    ['top-level rope_theta 0', (c) => (delete c.rope_parameters, (c.rope_theta = 0)), 'rope_theta', /greater than 0/],
    ['rope_parameters a string', (c) => (c.rope_parameters = 'default'), 'rope_parameters', /must be an object/],
    ['hidden_size 0', (c) => (c.hidden_size = 0), 'hidden_size', /positive integer/],
    ['vocab_size 1.5', (c) => (c.vocab_size = 1.5), 'vocab_size', /positive integer/],
    ['head_dim 2^40', (c) => (c.head_dim = 2 ** 40), 'head_dim', /at most/],
    ['moe_k 0', (c) => (c.moe_k = 0), 'moe_k', /positive integer/],
    ['moe_layer_start_index -3', (c) => (c.moe_layer_start_index = -3), 'moe_layer_start_index', /integer >= 0/],
    ['moe_num_shared_experts -1', (c) => (c.moe_num_shared_experts = -1), 'moe_num_shared_experts', /integer in/],
    ['eos_token_id a string', (c) => (c.eos_token_id = 'two'), 'eos_token_id', /token id/],
    ['tie_word_embeddings a string', (c) => (c.tie_word_embeddings = 'false'), 'tie_word_embeddings', /true or false/],
  ];
  test.each(cases)('%s', async (_, edit, field, message) => {
    const cfg = tinyConfig();
    edit(cfg);
    const e = await expectTyped(openFolderWeights(folderWith({ config: cfg })), { code: 'BAD_CONFIG', file: 'config.json', message });
    expect(e).toBeInstanceOf(ConfigError);
    expect((e as ConfigError).field).toBe(field);
    expect(e.message).toContain(`"${field}"`);
  });
});

describe('sizes that would exhaust memory are bounded by the file before anything is built', () => {
  const timed = async (run: () => Promise<unknown>, want: Parameters<typeof expectTyped>[1]) => {
    const heap = process.memoryUsage().heapUsed;
    const t0 = performance.now();
    await expectTyped(run(), want);
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(process.memoryUsage().heapUsed - heap).toBeLessThan(256 * 2 ** 20);
  };

  test.each([
    ['num_hidden_layers', 1e9],
    ['moe_num_experts', 1e9],
    ['moe_num_experts', 2 ** 31],
  ])('config.json %s = %d', async (key, value) => {
    const cfg = { ...tinyConfig(), [key]: value };
    // 1e9 is past MAX_DIM for experts; the layer count is within it and meets the file bound
    await timed(() => openFolderWeights(folderWith({ config: cfg })), { code: 'BAD_CONFIG', file: 'config.json', message: new RegExp(key) });
  });

  test('config.json num_hidden_layers 100000 (within the size limit) meets the file\'s tensor count', async () => {
    await timed(() => openFolderWeights(folderWith({ config: { ...tinyConfig(), num_hidden_layers: 100000 } })), {
      code: 'BAD_CONFIG', file: 'config.json', message: /num_hidden_layers 100000 and moe_num_experts 16 describe at least \d+ tensors, but the safetensors checkpoint holds 188/,
    });
  });

  const GGUF = read(GGUF_TINY);
  const arch = ggufArch(GGUF);
  test.each([
    ['block_count', 1e9, /is 1000000000, but the file holds tensors for 4 blocks/],
    ['expert_count', 1e9, /is 1000000000, but the file's expert tensors .* hold 16/],
    ['expert_count', 2 ** 31, /is 2147483648, but the file's expert tensors .* hold 16/],
  ])('GGUF %s = %d', async (key, value, message) => {
    const bytes = setGgufNumber(GGUF, `${arch}.${key}`, value);
    await timed(() => openGgufWeights(fromArrayBuffer(bytes, 'tiny.gguf')), { code: 'BAD_CONFIG', file: 'tiny.gguf', message, not: /config\.json/ });
  });

  describe('a package manifest', () => {
    let manifest: Record<string, any>;
    beforeAll(async () => {
      const mem = memoryPackage();
      await convertModel({ input: { kind: 'hf', folder: nodeFolder(TINY_DIR) }, experts: 'q4', core: 'f16', out: mem.writer, effort: 'fast' });
      manifest = JSON.parse(new TextDecoder().decode(mem.files.get(MANIFEST_FILE)));
    });
    test('the layout is canonical: two same-sized tensors swapped in their shard are refused', () => {
      const m = structuredClone(manifest);
      const gate = m.tensors.find((t: any) => t.name === 'model.layers.1.mlp.experts.3.gate_proj.weight');
      const up = m.tensors.find((t: any) => t.name === 'model.layers.1.mlp.experts.3.up_proj.weight');
      expect(gate.bytes).toBe(up.bytes);
      [gate.offset, up.offset] = [up.offset, gate.offset];
      expect(() => validateManifest(m)).toThrow(/tensors "model.layers.1.mlp.experts.3.up_proj.weight" and "model.layers.1.mlp.experts.3.gate_proj.weight" are out of order in "experts\/layer-1\/expert-03.bin"/);
      expect(validateManifest(structuredClone(manifest)).tensors.size).toBe(manifest.tensors.length);
    });

    test.each([
      ['num_hidden_layers', 1e9],
      ['moe_num_experts', 2 ** 31],
      ['num_hidden_layers', 100000],
    ])('config %s = %d', async (key, value) => {
      const m = structuredClone(manifest);
      m.config[key] = value;
      await timed(async () => validateManifest(m), { code: 'BAD_FILE', file: MANIFEST_FILE, message: new RegExp(`config: .*${key}`) });
    });
  });
});

describe('GGUF config errors name the GGUF key, never config.json', () => {
  const GGUF = read(GGUF_TINY);
  const arch = ggufArch(GGUF);
  const cases: [string, number, RegExp][] = [
    ['block_count', 0, /positive integer/],
    ['embedding_length', 0, /token_embd.weight has dims/],
    ['attention.head_count', 0, /positive integer/],
    ['attention.head_count_kv', 3, /\(3\) must divide "ernie4_5-moe.attention.head_count" \(4\)/],
    ['attention.key_length', 31, /even/],
    ['feed_forward_length', 0, /positive integer/],
    ['context_length', 0, /positive integer/],
    ['expert_used_count', 0, /positive integer/],
    ['expert_used_count', 17, /exceeds "ernie4_5-moe.expert_count"/],
    ['expert_feed_forward_length', 0, /positive integer/],
    ['rope.freq_base', 0, /greater than 0/],
    ['attention.layer_norm_rms_epsilon', -1, /greater than 0/],
    ['leading_dense_block_count', 4294967295, /past the last layer/],
  ];
  test.each(cases)('%s = %d', async (key, value, message) => {
    const bytes = setGgufNumber(GGUF, `${arch}.${key}`, value);
    const e = await expectTyped(openGgufWeights(fromArrayBuffer(bytes, 'tiny.gguf')), { code: ['BAD_CONFIG', 'BAD_FILE'], file: 'tiny.gguf', message, not: /config\.json/ });
    expect(e.message).toContain(`${arch}.${key}`);
  });
});

describe('a folder without a tokenizer is a missing file, not a missing tensor', () => {
  test('neither tokenizer.json nor tokenizer.model', async () => {
    const files = tinyFolderFiles();
    files.delete('tokenizer.model');
    await expectTyped(loadTokenizer(memFolder(files)), { code: 'MISSING_FILE', file: 'tokenizer.model', message: /no tokenizer\.json either/ });
  });

  test('the fixture tokenizer folder loads (the baseline)', async () => {
    const { tokenizer } = await loadTokenizer(nodeFolder(TOKENIZER_DIR));
    expect(tokenizer.encode('hello').length).toBeGreaterThan(0);
  });
});

test('the unmutated fixtures still open (every check above passes on good files)', async () => {
  expect(parseConfig(tinyConfig()).numLayers).toBe(4);
  expect((await SafetensorsFile.open(fromArrayBuffer(ST, 'model.safetensors'))).names().length).toBe(188);
  const gguf = await GgufFile.open(fromArrayBuffer(read(GGUF_TINY), 'tiny.gguf'));
  expect(gguf.tensors.size).toBe(53);
  expect((await openGgufWeights(fromArrayBuffer(read(GGUF_TINY), 'tiny.gguf'))).config.moe!.numExperts).toBe(16);
  expect(new FileFormatError('x', 'y')).toBeInstanceOf(ErnieError);
});
