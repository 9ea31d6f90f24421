// The package reader: a converted tiny model read back (tensors, expert shards, sizes on disk
// against the bits the schemes promise), and a table of hostile packages, each of which must fail
// with a typed error that names the file at fault.
import { beforeAll, describe, expect, test } from 'vitest';
import { ErnieError, FileFormatError, IntegrityError } from '../../src/errors';
import { nodeFolder } from '../../src/formats/node_source';
import { FileNotFoundError, fromArrayBuffer } from '../../src/formats/sources';
import type { FolderSource } from '../../src/formats/source';
import { SafetensorsModel } from '../../src/formats/safetensors';
import { convertModel, type ConvertReport } from '../../src/convert/convert';
import { MANIFEST_FILE, TENSOR_ALIGNMENT } from '../../src/package/manifest';
import { openPackage } from '../../src/package/reader';
import { memoryPackage } from '../../src/package/writer';
import { LAYOUTS, bitsPerWeight } from '../../src/quant/layouts';
import { relMse } from '../quant/helpers';
import { TINY_DIR } from './helpers';

let files: Map<string, Uint8Array>;
let report: ConvertReport;

beforeAll(async () => {
  const mem = memoryPackage();
  // a small core-shard limit, so the tiny model gets several core shards
  report = await convertModel({
    input: { kind: 'hf', folder: nodeFolder(TINY_DIR) }, experts: 'q4', core: 'q4', head: 'q4', out: mem.writer, maxShardBytes: 128 * 1024, effort: 'fast',
  });
  files = mem.files;
});

function folderOf(map: Map<string, Uint8Array>): FolderSource {
  return (path) => {
    const b = map.get(path);
    if (!b) throw new FileNotFoundError('BAD_FILE', path, 'not in the package');
    return fromArrayBuffer(b, path);
  };
}

const manifestJson = () => JSON.parse(new TextDecoder().decode(files.get(MANIFEST_FILE))) as Record<string, any>;

describe('a converted package reads back', () => {
  test('manifest, shards and tensors', async () => {
    const pkg = await openPackage(folderOf(files));
    const m = pkg.manifest;
    expect(m.magic).toBe('ernie-webgpu-package');
    expect(m.formatVersion).toBe(1);
    expect(pkg.config.moe!.numExperts).toBe(16);
    // 4 layers: 1 dense + 3 MoE layers of 16 experts -> 48 expert shards, each gate+up+down
    const experts = m.shards.filter((s) => s.kind === 'expert');
    expect(experts.length).toBe(48);
    for (const s of experts) {
      const ts = m.tensors.filter((t) => t.shard === s.file);
      expect(ts.map((t) => t.name.split('.').at(-2))).toEqual(['gate_proj', 'up_proj', 'down_proj']);
      expect(ts.every((t) => t.name.includes(`layers.${s.layer}.mlp.experts.${s.expert}.`))).toBe(true);
    }
    const core = m.shards.filter((s) => s.kind === 'core');
    expect(core.length).toBeGreaterThan(1);
    for (const s of core) {
      const ts = m.tensors.filter((t) => t.shard === s.file);
      expect(s.bytes <= 128 * 1024 || ts.length === 1, s.file).toBe(true);
    }
    for (const t of m.tensors) expect(t.offset % TENSOR_ALIGNMENT).toBe(0);
    expect(m.files.map((f) => [f.path, f.role])).toEqual([['generation_config.json', 'generation_config']]);
    expect(new TextDecoder().decode(await pkg.readFile('generation_config.json'))).toContain('"bos_token_id": 1');
  });

  test('f32 tensors are exact, quantized ones within their error bound', async () => {
    const pkg = await openPackage(folderOf(files));
    const src = await SafetensorsModel.open(nodeFolder(TINY_DIR));
    for (const name of pkg.names()) {
      const t = pkg.tensor(name);
      const x = await src.readF32(name);
      const y = await pkg.readF32(name);
      expect(y.length, name).toBe(x.length);
      if (t.layout === 'f32') expect(y, name).toEqual(x);
      else expect(relMse(x, y), `${name} (${t.layout})`).toBeLessThan(t.layout === 'q4_k' ? 5.5e-3 : 6.5e-3);
    }
    // norms, routers and router biases stay f32; everything else is q4 (iq4_nl rows of 32..128, q4_k rows of 256)
    expect(new Set(pkg.manifest.tensors.filter((t) => t.layout === 'f32').map((t) => t.name.replace(/\d+/g, 'N')))).toEqual(
      new Set(['model.layers.N.input_layernorm.weight', 'model.layers.N.post_attention_layernorm.weight', 'model.layers.N.mlp.gate.weight',
        'model.layers.N.mlp.moe_statics.e_score_correction_bias', 'model.norm.weight']),
    );
    expect(new Set(pkg.manifest.tensors.filter((t) => t.layout !== 'f32').map((t) => t.layout))).toEqual(new Set(['iq4_nl', 'q4_k']));
  });

  test('readExpertShard returns the verified shard with its three tensors', async () => {
    const pkg = await openPackage(folderOf(files));
    const shard = await pkg.readExpertShard(2, 7);
    expect(shard.file).toBe('experts/layer-2/expert-07.bin');
    expect(shard.bytes.length).toBe(pkg.expertShardInfo(2, 7).bytes);
    for (const t of [shard.gate, shard.up, shard.down]) {
      const raw = await pkg.readTensor(t.name);
      expect(shard.bytes.subarray(t.offset, t.offset + t.bytes)).toEqual(raw.bytes);
    }
    expect(shard.down.shape).toEqual([128, 32]);
  });

  test('bits on disk are within 3% of what the schemes promise', () => {
    const m = manifestJson();
    let promised = 0, matrixBits = 0, matrixValues = 0;
    for (const t of m.tensors as { shape: number[]; layout: keyof typeof LAYOUTS; bytes: number }[]) {
      const n = t.shape.reduce((a, b) => a * b, 1);
      promised += n * bitsPerWeight(t.layout);
      if (t.layout !== 'f32') (matrixBits += t.bytes * 8), (matrixValues += n);
    }
    const shardBits = [...files].filter(([p]) => p.endsWith('.bin')).reduce((a, [, b]) => a + b.length * 8, 0);
    const allBits = [...files.values()].reduce((a, b) => a + b.length * 8, 0);
    console.log(`tiny q4 package: ${(shardBits / 8).toLocaleString()} B of shards (${((shardBits / promised - 1) * 100).toFixed(2)}% over the schemes' promise), ` +
      `${(allBits / 8).toLocaleString()} B with manifest and files; matrices ${(matrixBits / matrixValues).toFixed(3)} bpw, all tensors ${report.bitsPerWeight.all.toFixed(3)} bpw`);
    expect(shardBits / promised).toBeGreaterThanOrEqual(1);
    expect(shardBits / promised).toBeLessThan(1.03);
    expect(matrixBits / matrixValues).toBe(4.5);
  });
});

// ---- hostile packages ----

type Mutation = (files: Map<string, Uint8Array>, m: Record<string, any>) => void;
interface Case {
  what: string;
  mutate: Mutation;
  /** where it must fail: opening, or reading the named thing */
  at: 'open' | { tensor: string } | { expert: [number, number] } | { file: string };
  error: { cls: new (...args: never[]) => ErnieError; code: string; file?: string; message: RegExp };
}

const EMBED = 'model.embed_tokens.weight';
const tensorOf = (m: Record<string, any>, name: string) => (m.tensors as any[]).find((t) => t.name === name);
const setManifest = (f: Map<string, Uint8Array>, m: Record<string, any>) => f.set(MANIFEST_FILE, new TextEncoder().encode(JSON.stringify(m)));
const edit = (fn: (m: Record<string, any>) => void): Mutation => (f, m) => (fn(m), setManifest(f, m));
const BAD_FILE = (message: RegExp, file = MANIFEST_FILE) => ({ cls: FileFormatError, code: 'BAD_FILE', file, message });
const EXPERT_SHARD = 'experts/layer-1/expert-03.bin';
const INTEGRITY = (message: RegExp, file: string) => ({ cls: IntegrityError, code: 'INTEGRITY', file, message });

const cases: Case[] = [
  { what: 'manifest is not JSON', mutate: (f) => f.set(MANIFEST_FILE, new TextEncoder().encode('{"magic": "ernie-webgpu-package", ')), at: 'open', error: BAD_FILE(/manifest.json: is not valid JSON/) },
  { what: 'manifest is not UTF-8', mutate: (f) => f.set(MANIFEST_FILE, Uint8Array.of(0x7b, 0xff, 0x7d)), at: 'open', error: BAD_FILE(/not valid UTF-8/) },
  { what: 'manifest is a JSON array', mutate: (f) => f.set(MANIFEST_FILE, new TextEncoder().encode('[1, 2]')), at: 'open', error: BAD_FILE(/must be a JSON object/) },
  { what: 'no manifest', mutate: (f) => f.delete(MANIFEST_FILE), at: 'open', error: { cls: FileNotFoundError, code: 'BAD_FILE', file: MANIFEST_FILE, message: /manifest.json: is missing/ } },
  { what: 'wrong magic', mutate: edit((m) => (m.magic = 'GGUF')), at: 'open', error: BAD_FILE(/magic is "GGUF", expected "ernie-webgpu-package"/) },
  { what: 'unknown format version', mutate: edit((m) => (m.formatVersion = 2)), at: 'open', error: BAD_FILE(/format version 2 is not supported/) },
  { what: 'unknown top-level field', mutate: edit((m) => (m.extra = 1)), at: 'open', error: BAD_FILE(/unknown field "extra"/) },
  { what: 'config of another model type', mutate: edit((m) => (m.config.model_type = 'llama')), at: 'open', error: BAD_FILE(/config: "model_type" is "llama", which is not supported/) },
  { what: 'tensor shape disagrees with the config', mutate: edit((m) => (tensorOf(m, 'model.layers.1.self_attn.k_proj.weight').shape = [128, 128])), at: 'open',
    error: { cls: ErnieError, code: 'SHAPE_MISMATCH', message: /manifest.json: tensor "model.layers.1.self_attn.k_proj.weight" has shape \[128, 128\], but its config implies \[64, 128\]/ } },
  { what: 'config disagrees with the tensors (hidden size)', mutate: edit((m) => (m.config.hidden_size = 256, m.config.head_dim = 64)), at: 'open', error: { cls: ErnieError, code: 'SHAPE_MISMATCH', message: /has shape \[2048, 128\], but its config implies \[2048, 256\]/ } },
  { what: 'tensor byte range past the shard end', mutate: edit((m) => { const t = tensorOf(m, 'model.layers.1.mlp.experts.3.down_proj.weight'); t.offset += 2 * TENSOR_ALIGNMENT; }), at: 'open',
    error: BAD_FILE(/tensor "model.layers.1.mlp.experts.3.down_proj.weight": bytes \d+..\d+ run past the end of shard "experts\/layer-1\/expert-03.bin" \(\d+ bytes\)/) },
  { what: 'shard shorter in the manifest than its tensors', mutate: edit((m) => { (m.shards as any[]).find((s) => s.file === EXPERT_SHARD).bytes -= 1; }), at: 'open', error: BAD_FILE(/run past the end of shard "experts\/layer-1\/expert-03.bin"/) },
  { what: 'tensor byte length wrong for its layout', mutate: edit((m) => (tensorOf(m, EMBED).bytes -= 18)), at: 'open', error: BAD_FILE(/tensor "model.embed_tokens.weight": 147438 bytes, but \[2048, 128\] in iq4_nl takes 147456/) },
  { what: 'unknown layout', mutate: edit((m) => (tensorOf(m, EMBED).layout = 'q3_k')), at: 'open', error: BAD_FILE(/unknown layout "q3_k"/) },
  { what: 'scheme disagrees with the layout', mutate: edit((m) => (tensorOf(m, EMBED).scheme = 'q2')), at: 'open', error: BAD_FILE(/scheme "q2" does not match layout "iq4_nl"/) },
  { what: 'K layout on rows that are not a multiple of 256', mutate: edit((m) => Object.assign(tensorOf(m, EMBED), { layout: 'q4_k', bytes: 2048 * 144 })), at: 'open', error: BAD_FILE(/layout "q4_k" needs rows that are a multiple of 256 values, not 128/) },
  { what: 'misaligned offset', mutate: edit((m) => (tensorOf(m, 'model.layers.1.mlp.experts.3.up_proj.weight').offset += 4)), at: 'open', error: BAD_FILE(/offset \d+ in "experts\/layer-1\/expert-03.bin" is not a multiple of 256/) },
  { what: 'overlapping tensors', mutate: edit((m) => (tensorOf(m, 'model.layers.1.mlp.experts.3.up_proj.weight').offset = 0)), at: 'open', error: BAD_FILE(/overlap in "experts\/layer-1\/expert-03.bin"/) },
  { what: 'a tensor listed twice', mutate: edit((m) => m.tensors.push({ ...tensorOf(m, EMBED) })), at: 'open', error: BAD_FILE(/tensor "model.embed_tokens.weight" is listed twice/) },
  { what: 'a tensor the config needs is missing', mutate: edit((m) => (m.tensors = m.tensors.filter((t: any) => t.name !== 'model.layers.2.mlp.shared_experts.up_proj.weight'))), at: 'open',
    error: { cls: ErnieError, code: 'MISSING_TENSOR', message: /manifest.json: no tensor "model.layers.2.mlp.shared_experts.up_proj.weight" \[64, 128\]/ } },
  { what: 'a tensor the model does not have', mutate: edit((m) => m.tensors.push({ ...tensorOf(m, EMBED), name: 'model.layers.1.mlp.experts.16.up_proj.weight' })), at: 'open', error: BAD_FILE(/"model.layers.1.mlp.experts.16.up_proj.weight" is not a tensor of this model/) },
  { what: 'an expert tensor in another expert\'s shard', mutate: edit((m) => (tensorOf(m, 'model.layers.1.mlp.experts.3.up_proj.weight').shard = 'experts/layer-1/expert-04.bin')), at: 'open', error: BAD_FILE(/must be in the shard of layer 1 expert 3/) },
  { what: 'a core tensor in an expert shard', mutate: edit((m) => Object.assign(tensorOf(m, 'model.norm.weight'), { shard: EXPERT_SHARD, offset: 0 })), at: 'open', error: BAD_FILE(/is a core tensor but "experts\/layer-1\/expert-03.bin" is an expert shard/) },
  { what: 'a tensor in an unlisted shard', mutate: edit((m) => (tensorOf(m, EMBED).shard = 'core-999.bin')), at: 'open', error: BAD_FILE(/shard "core-999.bin" is not in "shards"/) },
  { what: 'a shard path leaving the folder', mutate: edit((m) => { const s = (m.shards as any[]).find((x) => x.file === EXPERT_SHARD); s.file = '../' + EXPERT_SHARD; }), at: 'open', error: BAD_FILE(/"..\/experts\/layer-1\/expert-03.bin" is not a plain relative path/) },
  { what: 'an expert shard for the dense layer', mutate: edit((m) => ((m.shards as any[]).find((x) => x.file === EXPERT_SHARD).layer = 0)), at: 'open', error: BAD_FILE(/layer 0 is not an MoE layer/) },
  { what: 'two shards for one expert', mutate: edit((m) => ((m.shards as any[]).find((x) => x.file === EXPERT_SHARD).expert = 4)), at: 'open', error: BAD_FILE(/layer 1 expert 4 already has shard/) },
  { what: 'a malformed SHA-256', mutate: edit((m) => (m.shards[0].sha256 = 'abc')), at: 'open', error: BAD_FILE(/sha256 must be 64 lowercase hex digits/) },
  { what: 'a negative size', mutate: edit((m) => (m.shards[0].bytes = -1)), at: 'open', error: BAD_FILE(/bytes must be a non-negative integer/) },
  // failures when reading
  { what: 'a missing expert shard', mutate: (f) => f.delete(EXPERT_SHARD), at: { expert: [1, 3] },
    error: { cls: FileNotFoundError, code: 'BAD_FILE', file: EXPERT_SHARD, message: /experts\/layer-1\/expert-03.bin: is missing \(listed in manifest.json as the shard of layer 1 expert 3\)/ } },
  { what: 'a missing core shard', mutate: (f) => f.delete('core-000.bin'), at: { tensor: EMBED }, error: { cls: FileNotFoundError, code: 'BAD_FILE', file: 'core-000.bin', message: /core-000.bin: is missing/ } },
  { what: 'an expert shard whose hash does not match', mutate: (f) => { const b = f.get(EXPERT_SHARD)!.slice(); b[100]! ^= 1; f.set(EXPERT_SHARD, b); }, at: { expert: [1, 3] },
    error: INTEGRITY(/experts\/layer-1\/expert-03.bin: SHA-256 is [0-9a-f]{64}, but manifest.json says [0-9a-f]{64}; the file is corrupt/, EXPERT_SHARD) },
  { what: 'a truncated shard', mutate: (f) => f.set('core-000.bin', f.get('core-000.bin')!.slice(0, 1000)), at: { tensor: EMBED }, error: BAD_FILE(/core-000.bin: is 1000 bytes, but manifest.json says \d+; the file is truncated/, 'core-000.bin') },
  { what: 'a tokenizer-side file whose hash does not match', mutate: (f) => f.set('generation_config.json', new TextEncoder().encode('{"bos_token_id": 1, "x": 11111}'.padEnd(f.get('generation_config.json')!.length))), at: { file: 'generation_config.json' },
    error: INTEGRITY(/generation_config.json: SHA-256 is/, 'generation_config.json') },
];

describe('hostile packages fail with a typed error naming the file', () => {
  test.each(cases)('$what', async ({ mutate, at, error }) => {
    const copy = new Map(files);
    mutate(copy, manifestJson());
    const run = async () => {
      const pkg = await openPackage(folderOf(copy));
      if (at === 'open') return;
      if ('tensor' in at) await pkg.readTensor(at.tensor);
      else if ('expert' in at) await pkg.readExpertShard(...at.expert);
      else await pkg.readFile(at.file);
    };
    if (at !== 'open') await openPackage(folderOf(copy)); // opening still succeeds
    const err = await run().then(() => undefined, (e: unknown) => e);
    expect(err, 'no error thrown').toBeInstanceOf(error.cls);
    const e = err as ErnieError & { file?: string };
    expect(e.code).toBe(error.code);
    expect(e.message).toMatch(error.message);
    if (error.file) expect(e.file).toBe(error.file);
    else expect(e.message.startsWith(`${MANIFEST_FILE}: `)).toBe(true);
  });
});
