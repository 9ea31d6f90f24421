// The converter: a multi-file HF checkpoint streamed into a package directory (peak memory
// against the checkpoint size, progress reports, determinism), GGUF imports (blocks the package
// holds are copied byte for byte, the others re-quantized and reported), and bad checkpoints.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { AbortError, ErnieError } from '../../src/errors';
import { GgufFile } from '../../src/formats/gguf';
import { ggufWeightLookup } from '../../src/formats/gguf_ernie';
import { fromPath, nodeFolder } from '../../src/formats/node_source';
import { SafetensorsFile, SafetensorsModel } from '../../src/formats/safetensors';
import { convertModel, type ConvertProgress } from '../../src/convert/convert';
import { nodeDirectoryWriter } from '../../src/package/node_writer';
import { openPackage } from '../../src/package/reader';
import { memoryPackage } from '../../src/package/writer';
import { referenceForward } from '../reference/forward_ref';
import { maxAbsDiff } from '../reference/ops';
import { gaussian } from '../quant/helpers';
import { GGUF_DIR, TINY_DIR, prompts, writeSafetensors } from './helpers';

const tmp = mkdtempSync(join(tmpdir(), 'ernie-convert-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const sameBytes = (a: Uint8Array, b: Uint8Array) => Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length));
const dirSize = (d: string): number =>
  readdirSync(d, { withFileTypes: true }).reduce((a, e) => a + (e.isDirectory() ? dirSize(join(d, e.name)) : statSync(join(d, e.name)).size), 0);

/** Splits an HF checkpoint into `parts` safetensors files plus model.safetensors.index.json. */
async function writeSplit(src: SafetensorsModel, dir: string, parts: number, config: unknown): Promise<number> {
  const names = src.names();
  const per = Math.ceil(names.length / parts);
  const weightMap: Record<string, string> = {};
  let bytes = 0;
  for (let i = 0; i < parts; i++) {
    const file = `model-${String(i + 1).padStart(5, '0')}-of-${String(parts).padStart(5, '0')}.safetensors`;
    const chunk = names.slice(i * per, (i + 1) * per);
    const tensors = [];
    for (const name of chunk) {
      tensors.push({ name, shape: src.info(name).shape, data: await src.readF32(name) });
      weightMap[name] = file;
    }
    bytes += writeSafetensors(join(dir, file), tensors);
  }
  writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: weightMap }));
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  return bytes;
}

describe('HF checkpoint in 3 safetensors files + index.json', () => {
  test('converts to a package directory, identical to the single-file conversion; progress and peak RSS', async () => {
    const ckpt = join(tmp, 'tiny-split'), out = join(tmp, 'tiny-pkg');
    const single = await SafetensorsModel.open(nodeFolder(TINY_DIR));
    const config = JSON.parse(readFileSync(`${TINY_DIR}/config.json`, 'utf8'));
    execFileSync('mkdir', ['-p', ckpt]);
    const ckptBytes = await writeSplit(single, ckpt, 3, config);
    copyFileSync(`${TINY_DIR}/generation_config.json`, join(ckpt, 'generation_config.json'));
    copyFileSync('test/fixtures/ernie-tokenizer-tiny/hf/tokenizer.json', join(ckpt, 'tokenizer.json'));
    copyFileSync('test/fixtures/ernie-tokenizer-tiny/hf/tokenizer_config.json', join(ckpt, 'tokenizer_config.json'));
    expect(readdirSync(ckpt).filter((f) => f.endsWith('.safetensors')).length).toBe(3);

    const progress: ConvertProgress[] = [];
    const baseline = process.memoryUsage().rss;
    let peak = baseline;
    const sample = () => (peak = Math.max(peak, process.memoryUsage().rss));
    const timer = setInterval(sample, 2);
    const report = await convertModel({
      input: { kind: 'hf', folder: nodeFolder(ckpt) }, experts: 'q2', core: 'q4', out: nodeDirectoryWriter(out), effort: 'fast',
      onProgress: (p) => (progress.push(p), sample()),
    });
    clearInterval(timer);
    console.log(`tiny split over 3 files: checkpoint ${ckptBytes.toLocaleString()} B -> package ${dirSize(out).toLocaleString()} B; ` +
      `peak RSS growth ${((peak - baseline) / 2 ** 20).toFixed(1)} MiB during conversion (RSS ${(peak / 2 ** 20).toFixed(0)} MiB)`);

    // progress: one report per tensor, counts and bytes monotonic, ending at the totals
    expect(progress.map((p) => p.tensorsDone)).toEqual(progress.map((_, i) => i + 1));
    expect(progress.at(-1)!.tensorsTotal).toBe(report.tensors.length);
    for (let i = 1; i < progress.length; i++) {
      expect(progress[i]!.bytesWritten).toBeGreaterThanOrEqual(progress[i - 1]!.bytesWritten);
      expect(progress[i]!.bytesRead).toBeGreaterThanOrEqual(progress[i - 1]!.bytesRead);
    }
    expect(progress.at(-1)!.bytesWritten).toBe(progress.at(-1)!.bytesTotal);
    expect(progress.at(-1)!.bytesRead).toBeGreaterThan(0.9 * ckptBytes);

    // the directory is a package; tokenizer files came along, verified by hash
    const pkg = await openPackage(nodeFolder(out));
    expect(pkg.manifest.files.map((f) => `${f.path}:${f.role}`).sort()).toEqual(
      ['generation_config.json:generation_config', 'tokenizer.json:tokenizer', 'tokenizer_config.json:tokenizer']);
    expect(await pkg.readFile('tokenizer.json')).toEqual(new Uint8Array(readFileSync(join(ckpt, 'tokenizer.json'))));
    expect(readdirSync(join(out, 'experts')).length).toBe(3); // layer-1..3
    expect(readdirSync(out).some((f) => f.endsWith('.partial'))).toBe(false);
    await pkg.readExpertShard(3, 15);

    // the same bytes as converting the single-file checkpoint
    const mem = memoryPackage();
    await convertModel({ input: { kind: 'hf', folder: nodeFolder(TINY_DIR) }, experts: 'q2', core: 'q4', out: mem.writer, effort: 'fast' });
    for (const s of pkg.manifest.shards) expect(sameBytes(readFileSync(join(out, s.file)), mem.files.get(s.file)!), s.file).toBe(true);
    expect(report.bitsPerWeight.experts).toBe(3); // rows of 32 and 128 values: q2_g32
    expect(peak - baseline).toBeLessThan(256 * 2 ** 20);
  });

  // Peak RSS growth is bounded by the buffers in flight (one core shard, one expert shard, a 4 MiB
  // chunk of rows) plus garbage the GC has not yet reclaimed, not by the checkpoint: measured with
  // this probe, 219 MB -> +96 MiB and 1.26 GB -> +114 MiB.
  test('a wider synthetic checkpoint (~75 MiB) converts in a child process with bounded peak RSS', () => {
    const ckpt = join(tmp, 'wide'), out = join(tmp, 'wide-pkg');
    execFileSync('mkdir', ['-p', ckpt]);
    const config = {
      model_type: 'ernie4_5_moe', vocab_size: 8192, hidden_size: 512, num_hidden_layers: 4, num_attention_heads: 4, num_key_value_heads: 2,
      head_dim: 128, intermediate_size: 1024, moe_num_experts: 16, moe_k: 4, moe_intermediate_size: 128, moe_num_shared_experts: 2,
      moe_layer_start_index: 1, moe_layer_end_index: 3, moe_layer_interval: 1, rms_norm_eps: 1e-5, tie_word_embeddings: true,
      rope_parameters: { rope_theta: 500000, rope_type: 'default' },
    };
    // write the tensors the config implies, layer by layer over 3 files
    const shapes: [string, number[]][] = [['model.embed_tokens.weight', [8192, 512]], ['model.norm.weight', [512]]];
    for (let l = 0; l < 4; l++) {
      const p = `model.layers.${l}`;
      shapes.push([`${p}.input_layernorm.weight`, [512]], [`${p}.post_attention_layernorm.weight`, [512]],
        [`${p}.self_attn.q_proj.weight`, [512, 512]], [`${p}.self_attn.k_proj.weight`, [256, 512]], [`${p}.self_attn.v_proj.weight`, [256, 512]], [`${p}.self_attn.o_proj.weight`, [512, 512]]);
      if (l === 0) {
        shapes.push([`${p}.mlp.gate_proj.weight`, [1024, 512]], [`${p}.mlp.up_proj.weight`, [1024, 512]], [`${p}.mlp.down_proj.weight`, [512, 1024]]);
        continue;
      }
      shapes.push([`${p}.mlp.gate.weight`, [16, 512]], [`${p}.mlp.moe_statics.e_score_correction_bias`, [1, 16]],
        [`${p}.mlp.shared_experts.gate_proj.weight`, [256, 512]], [`${p}.mlp.shared_experts.up_proj.weight`, [256, 512]], [`${p}.mlp.shared_experts.down_proj.weight`, [512, 256]]);
      for (let e = 0; e < 16; e++) {
        shapes.push([`${p}.mlp.experts.${e}.gate_proj.weight`, [128, 512]], [`${p}.mlp.experts.${e}.up_proj.weight`, [128, 512]], [`${p}.mlp.experts.${e}.down_proj.weight`, [512, 128]]);
      }
    }
    const weightMap: Record<string, string> = {};
    let bytes = 0;
    for (let i = 0; i < 3; i++) {
      const file = `model-0000${i + 1}-of-00003.safetensors`;
      const part = shapes.filter((_, j) => j % 3 === i);
      bytes += writeSafetensors(join(ckpt, file), part.map(([name, shape], j) => {
        const n = shape.reduce((a, b) => a * b, 1);
        const data = name.endsWith('norm.weight') ? new Float32Array(n).fill(1) : gaussian(n, 100 * i + j + 1, 0.02);
        weightMap[name] = file;
        return { name, shape, data };
      }));
    }
    writeFileSync(join(ckpt, 'model.safetensors.index.json'), JSON.stringify({ weight_map: weightMap }));
    writeFileSync(join(ckpt, 'config.json'), JSON.stringify(config));
    const line = execFileSync(process.execPath, ['--expose-gc', '--import', 'tsx', 'test/package/rss_probe.ts', ckpt, out, 'q2', 'f16', 'fast'], { encoding: 'utf8' });
    const r = JSON.parse(line.trim().split('\n').at(-1)!) as { checkpointBytes: number; growth: number; peak: number; packageBytes: number; seconds: number };
    console.log(`synthetic 3-file checkpoint ${(r.checkpointBytes / 2 ** 20).toFixed(1)} MiB -> package ${(r.packageBytes / 2 ** 20).toFixed(1)} MiB (q2 experts, f16 core, 4 MiB core shards) in ${r.seconds.toFixed(1)} s; ` +
      `peak RSS growth ${(r.growth / 2 ** 20).toFixed(1)} MiB (${((100 * r.growth) / r.checkpointBytes).toFixed(0)}% of the checkpoint), peak RSS ${(r.peak / 2 ** 20).toFixed(0)} MiB`);
    expect(r.checkpointBytes).toBe(bytes);
    expect(r.growth).toBeLessThan(128 * 2 ** 20);
  });
});

describe('GGUF import', () => {
  const copied = [
    ['ernie45-moe-k256-q2_k', ['Q2_K', 'Q4_K']],
    ['ernie45-moe-k256-q4_k_m', ['Q4_K', 'Q6_K']],
    ['ernie45-moe-tiny-q8_0', ['Q8_0']],
    ['ernie45-moe-tiny-q4_0', ['Q4_0']],
  ] as const;
  test.each(copied)('%s: every weight block is copied byte for byte', async (name, types) => {
    const gguf = await GgufFile.open(fromPath(`${GGUF_DIR}/${name}.gguf`));
    const lookup = ggufWeightLookup(gguf);
    const mem = memoryPackage();
    const report = await convertModel({ input: { kind: 'gguf', source: fromPath(`${GGUF_DIR}/${name}.gguf`) }, experts: 'q2', core: 'q4', out: mem.writer });
    expect(report.requantized).toEqual([]);
    expect(new Set(report.tensors.filter((t) => t.layout !== 'f32').map((t) => t.from))).toEqual(new Set(types));
    const pkg = await openPackage(mem.folder);
    for (const t of report.tensors) {
      expect(t.action, t.name).toBe('copied');
      const ours = (await pkg.readTensor(t.name)).bytes;
      const ref = lookup.resolve(t.name);
      if (t.layout === 'f32') expect(await pkg.readF32(t.name)).toEqual(await lookup.readF32(t.name));
      else expect(sameBytes(ours, await lookup.readRaw(t.name)), t.name).toBe(true);
      expect(ours.length).toBe(t.layout === 'f32' ? ref.elementCount * 4 : ref.byteLength);
    }
  });

  test('a package copied from GGUF reproduces the GGUF reference logits', async () => {
    const name = 'ernie45-moe-k256-q4_k_m';
    const mem = memoryPackage();
    await convertModel({ input: { kind: 'gguf', source: fromPath(`${GGUF_DIR}/${name}.gguf`) }, experts: 'q2', core: 'q4', out: mem.writer });
    const pkg = await openPackage(mem.folder);
    const w = new Map<string, Float32Array>();
    for (const n of pkg.names()) w.set(n, await pkg.readF32(n));
    const ref = await SafetensorsFile.open(fromPath(`${GGUF_DIR}/${name}.reference.safetensors`));
    for (const [p, ids] of prompts('test/fixtures/ernie45-moe-k256').entries()) {
      const { logits } = referenceForward(pkg.config, (n) => w.get(n)!, ids);
      expect(maxAbsDiff(logits, await ref.readF32(`logits_${p}`))).toBeLessThan(1e-5);
    }
  });

  const requant = [
    ['ernie45-moe-k256-q4_1', 'Q4_1', 'q2_k', 'q4_k'],
    ['ernie45-moe-k256-q5_0', 'Q5_0', 'q2_k', 'q4_k'],
    ['ernie45-moe-k256-q3_k', 'Q3_K', 'q2_k', 'q4_k'],
    ['ernie45-moe-k256-q5_k', 'Q5_K', 'q2_k', 'q4_k'],
    ['ernie45-moe-tiny-bf16', 'BF16', 'q2_g32', 'iq4_nl'],
    ['ernie45-moe-tiny-f16', 'F16', 'q2_g32', 'iq4_nl'],
  ] as const;
  test.each(requant)('%s: %s tensors are dequantized, re-quantized to the requested schemes, and reported', async (name, from, expertLayout, coreLayout) => {
    const gguf = await GgufFile.open(fromPath(`${GGUF_DIR}/${name}.gguf`));
    const lookup = ggufWeightLookup(gguf);
    const mem = memoryPackage();
    const report = await convertModel({ input: { kind: 'gguf', source: fromPath(`${GGUF_DIR}/${name}.gguf`) }, experts: 'q2', core: 'q4', head: 'q4', out: mem.writer, effort: 'fast' });
    const matrices = report.tensors.filter((t) => t.layout !== 'f32');
    expect(report.requantized.length).toBe(matrices.length);
    for (const r of report.requantized) {
      expect(r.from, r.name).toBe(from);
      expect(r.to, r.name).toBe(r.name.includes('.experts.') ? expertLayout : r.name.includes('layers.0.mlp.down') && coreLayout === 'iq4_nl' ? 'q4_k' : coreLayout);
    }
    // each re-quantized tensor is close to the GGUF's own values
    const pkg = await openPackage(mem.folder);
    for (const t of matrices.slice(0, 12)) {
      const a = await lookup.readF32(t.name), b = await pkg.readF32(t.name);
      let e = 0, s = 0;
      for (let i = 0; i < a.length; i++) (e += (a[i]! - b[i]!) ** 2), (s += a[i]! ** 2);
      expect(e / s, t.name).toBeLessThan(t.layout.startsWith('q2') ? 0.1 : 0.02);
    }
  });
});

describe('GGUF import, lossless mode (keep)', () => {
  const cases = [
    // F16 matrices stay f16 (without keep they become IQ4_NL / Q2_G32)
    ['ernie45-moe-tiny-f16', 'copied', 'f16'],
    // BF16 has no package layout: widened to f32, exactly
    ['ernie45-moe-tiny-bf16', 'widened', 'f32'],
    // Q4_1 has no package layout: Q8_0, reported as re-quantized
    ['ernie45-moe-k256-q4_1', 'requantized', 'q8_0'],
  ] as const;
  test.each(cases)('%s: matrices are %s (%s), values as the GGUF holds them', async (name, action, layout) => {
    const lookup = ggufWeightLookup(await GgufFile.open(fromPath(`${GGUF_DIR}/${name}.gguf`)));
    const mem = memoryPackage();
    const report = await convertModel({ input: { kind: 'gguf', source: fromPath(`${GGUF_DIR}/${name}.gguf`) }, experts: 'q2', core: 'q4', out: mem.writer, effort: 'fast', keep: true });
    const pkg = await openPackage(mem.folder);
    expect(pkg.manifest.metadata).toMatchObject({ converter: { keep: true } });
    const matrices = report.tensors.filter((t) => lookup.resolve(t.name).shape.length > 1 && !t.name.endsWith('mlp.gate.weight'));
    expect(matrices.length).toBeGreaterThan(10);
    expect(report.requantized.length).toBe(action === 'requantized' ? matrices.length : 0);
    for (const [i, t] of matrices.entries()) {
      expect(t.action, t.name).toBe(action);
      expect(t.layout, t.name).toBe(layout);
      if (action === 'copied') expect(sameBytes((await pkg.readTensor(t.name)).bytes, await lookup.readRaw(t.name)), t.name).toBe(true);
      if (action === 'widened' && i < 8) expect(await pkg.readF32(t.name), t.name).toEqual(await lookup.readF32(t.name));
    }
    if (action === 'requantized') {
      // q8_0 of a 5-bit source: within the source's own rounding
      const t = matrices[0]!;
      const a = await lookup.readF32(t.name), b = await pkg.readF32(t.name);
      let e = 0, s2 = 0;
      for (let i = 0; i < a.length; i++) (e += (a[i]! - b[i]!) ** 2), (s2 += a[i]! ** 2);
      expect(e / s2).toBeLessThan(1e-4);
    }
  });

  test('keep is refused for an HF checkpoint with a message that says what to do', async () => {
    const err = await convertModel({ input: { kind: 'hf', folder: nodeFolder(TINY_DIR) }, experts: 'q4', core: 'f16', out: memoryPackage().writer, keep: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ErnieError);
    expect((err as ErnieError).code).toBe('BAD_REQUEST');
    expect((err as Error).message).toContain('core f16');
  });
});

describe('bad checkpoints and options', () => {
  test('a checkpoint tensor with the wrong shape is SHAPE_MISMATCH naming the file', async () => {
    const dir = join(tmp, 'bad-shape');
    execFileSync('mkdir', ['-p', dir]);
    const config = JSON.parse(readFileSync(`${TINY_DIR}/config.json`, 'utf8'));
    config.moe_intermediate_size = 48;
    writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
    copyFileSync(`${TINY_DIR}/model.safetensors`, join(dir, 'model.safetensors'));
    const err = await convertModel({ input: { kind: 'hf', folder: nodeFolder(dir) }, experts: 'q4', core: 'q4', out: memoryPackage().writer }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ErnieError);
    expect((err as ErnieError).code).toBe('SHAPE_MISMATCH');
    expect((err as Error).message).toMatch(/model.safetensors: tensor "model.layers.1.mlp.shared_experts.gate_proj.weight" has shape \[64, 128\], but config.json implies \[96, 128\]/);
  });

  test('a tensor the config needs but the checkpoint lacks is MISSING_TENSOR', async () => {
    const dir = join(tmp, 'missing');
    execFileSync('mkdir', ['-p', dir]);
    const config = JSON.parse(readFileSync(`${TINY_DIR}/config.json`, 'utf8'));
    config.num_hidden_layers = 5;
    config.moe_layer_end_index = 4;
    writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
    copyFileSync(`${TINY_DIR}/model.safetensors`, join(dir, 'model.safetensors'));
    await expect(convertModel({ input: { kind: 'hf', folder: nodeFolder(dir) }, experts: 'q4', core: 'q4', out: memoryPackage().writer }))
      .rejects.toMatchObject({ code: 'MISSING_TENSOR', message: expect.stringMatching(/no tensor "model.layers.4.input_layernorm.weight"/) });
  });

  test('bad options and an aborted conversion', async () => {
    const base = { input: { kind: 'hf' as const, folder: nodeFolder(TINY_DIR) }, out: memoryPackage().writer };
    await expect(convertModel({ ...base, experts: 'q3' as 'q2', core: 'q4' })).rejects.toThrow(/experts must be 'q2', 'q4' or 'f32'/);
    await expect(convertModel({ ...base, experts: 'q2', core: 'q8' as 'q4' })).rejects.toThrow(/core must be 'q4', 'f16' or 'f32'/);
    await expect(convertModel({ ...base, experts: 'q2', core: 'q4', vision: 'q8' })).rejects.toThrow(/vision and visionExperts are for ERNIE-4.5-VL checkpoints; this one is a text model/);
    const ctl = new AbortController();
    const mem = memoryPackage();
    const run = convertModel({ ...base, out: mem.writer, experts: 'q2', core: 'q4', signal: ctl.signal, onProgress: (p) => p.tensorsDone === 5 && ctl.abort() });
    await expect(run).rejects.toBeInstanceOf(AbortError);
    expect(mem.files.has('manifest.json')).toBe(false);
  });

  test('f16 core: matrices stored as f16, exact to f16 rounding', async () => {
    const mem = memoryPackage();
    const report = await convertModel({ input: { kind: 'hf', folder: nodeFolder(TINY_DIR) }, experts: 'q4', core: 'f16', out: mem.writer, effort: 'fast' });
    expect(report.bitsPerWeight.core).toBe(16);
    const pkg = await openPackage(mem.folder);
    const src = await SafetensorsModel.open(nodeFolder(TINY_DIR));
    const x = await src.readF32('model.layers.0.self_attn.q_proj.weight'), y = await pkg.readF32('model.layers.0.self_attn.q_proj.weight');
    for (let i = 0; i < x.length; i++) expect(Math.abs(x[i]! - y[i]!)).toBeLessThanOrEqual(Math.abs(x[i]!) * 2 ** -11 + 2 ** -25);
  });
});
