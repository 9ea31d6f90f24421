// Quantized packages on the GPU, through the quantized kernels: `ernie-webgpu convert` end to
// end (HF checkpoint -> q4 package on disk -> GPU) equals the f64 reference forward over the
// same dequantized weights; q2 experts on the 256-wide model; a GGUF imported by block copy.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fromPath, nodeFolder } from '../../src/formats/node_source.js';
import { convertModel, type ConvertOptions } from '../../src/convert/index.js';
import { nodeDirectoryWriter } from '../../src/package/node_writer.js';
import type { SafetensorsFile } from '../../src/formats/safetensors.js';
import { openPackageWeights } from '../../src/model/ernie45/package_source.js';
import { loadWeights } from '../../src/model/ernie45/weights.js';
import { ErnieForward } from '../../src/model/ernie45/forward.js';
import { referenceForward } from '../reference/forward_ref.js';
import { maxAbsDiff, softmax } from '../reference/ops.js';
import { gpuContext } from '../helpers/gpu.js';
import { TINY, openReferenceTensors, readTinyReference } from '../helpers/fixtures.js';

function kl(p: ArrayLike<number>, q: ArrayLike<number>): number {
  const a = softmax(p), b = softmax(q);
  let s = 0;
  for (let i = 0; i < a.length; i++) if (a[i] > 0) s += a[i] * Math.log(a[i] / b[i]);
  return s;
}

/** Convert in-process to a package on disk and load it on the GPU. */
async function gpuPackage(input: ConvertOptions['input'], experts: 'q2' | 'q4', core: 'q4' | 'f16', head?: 'q4' | 'q6') {
  const out = join(mkdtempSync(join(tmpdir(), 'ernie-pkg-')), 'pkg');
  const report = await convertModel({ input, experts, core, head, out: nodeDirectoryWriter(out), effort: 'fast' });
  const ctx = await gpuContext();
  const { config, weights } = await openPackageWeights(nodeFolder(out));
  const model = new ErnieForward(ctx, config, await loadWeights(ctx, config, weights), { kvCacheBytes: 1 << 22 });
  return { report, model, config };
}

async function meanKl(model: ErnieForward, prompts: number[][], hf: SafetensorsFile, vocab: number): Promise<number> {
  let sum = 0, n = 0;
  for (const [p, ids] of prompts.entries()) {
    model.truncate(0);
    const { logits } = await model.run(ids, { allLogits: true });
    const want = await hf.readF32(`logits_${p}`);
    for (let t = 0; t < ids.length; t++, n++) sum += kl(want.subarray(t * vocab, (t + 1) * vocab), logits!.subarray(t * vocab, (t + 1) * vocab));
  }
  return sum / n;
}

const K256 = 'test/fixtures/ernie45-moe-k256';

describe('packages of the 256-wide model on the GPU', () => {
  it('q2 experts (Q2_K blocks, 2.625 bits) + q4 core: KL vs HF no worse than the Q2_K GGUF', async () => {
    const { report, model } = await gpuPackage({ kind: 'hf', folder: nodeFolder(K256) }, 'q2', 'q4');
    expect(report.bitsPerWeight.experts).toBeLessThanOrEqual(2.625);
    const kl256 = await meanKl(model, readTinyReference(K256).prompts, await openReferenceTensors(`${K256}/reference.safetensors`), 512);
    console.log(`k256 q2 experts + q4 core (head q6) on the GPU: mean KL vs HF ${kl256.toExponential(3)} (Q2_K GGUF reference: 2.685e-3)`);
    expect(kl256).toBeLessThanOrEqual(2.7e-3);
  });

  it('a Q4_K_M GGUF imported by copying its blocks runs on the quantized kernels exactly', async () => {
    const file = 'test/fixtures/gguf/ernie45-moe-k256-q4_k_m.gguf';
    const { report, model } = await gpuPackage({ kind: 'gguf', source: fromPath(file) }, 'q4', 'q4');
    expect(report.requantized).toEqual([]);
    const refs = await openReferenceTensors(file.replace('.gguf', '.reference.safetensors'));
    for (const [p, ids] of readTinyReference(K256).prompts.entries()) {
      model.truncate(0);
      const { logits } = await model.run(ids, { allLogits: true });
      expect(maxAbsDiff(logits!, await refs.readF32(`logits_${p}`)), `prompt ${p}`).toBeLessThan(2e-3);
    }
  });
});

describe('convert CLI -> package -> GPU', () => {
  it('--keep: an F16 GGUF stays f16 in the package and runs to the GGUF reference logits', async () => {
    const file = 'test/fixtures/gguf/ernie45-moe-tiny-f16.gguf';
    const out = join(mkdtempSync(join(tmpdir(), 'ernie-pkg-')), 'pkg');
    const stdout = execFileSync(process.execPath, ['bin/ernie-webgpu.mjs', 'convert', file, '--keep', '--out', out], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    expect(stdout).toMatch(/kept as in the GGUF: \d+ tensors/);
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as { tensors: { name: string; shape: number[]; layout: string }[] };
    const layouts = new Set(manifest.tensors.filter((t) => t.shape.length === 2 && !t.name.endsWith('mlp.gate.weight')).map((t) => t.layout));
    expect(layouts).toEqual(new Set(['f16']));
    const ctx = await gpuContext();
    const { config, weights } = await openPackageWeights(nodeFolder(out));
    const model = new ErnieForward(ctx, config, await loadWeights(ctx, config, weights), { kvCacheBytes: 1 << 22 });
    const refs = await openReferenceTensors(file.replace('.gguf', '.reference.safetensors'));
    const { logits } = await model.run(readTinyReference().prompts[0], { allLogits: true });
    expect(maxAbsDiff(logits!, await refs.readF32('logits_0'))).toBeLessThan(2e-3);
  });

  it('tiny model, q4 everywhere', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'ernie-pkg-')), 'pkg');
    const stdout = execFileSync(process.execPath, ['bin/ernie-webgpu.mjs', 'convert', TINY, '--experts', 'q4', '--core', 'q4', '--head', 'q4', '--out', out], { encoding: 'utf8' });
    expect(stdout).toMatch(/all matrices 4\.5\d\d/);
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
    expect(manifest.shards.length).toBeGreaterThan(16 * 3); // one shard per routed expert

    const ctx = await gpuContext();
    const { config, weights, pkg } = await openPackageWeights(nodeFolder(out));
    const model = new ErnieForward(ctx, config, await loadWeights(ctx, config, weights), { kvCacheBytes: 1 << 22 });
    // the same dequantized weights for the f64 reference
    const values = new Map<string, Float32Array>();
    for (const name of pkg.names()) values.set(name, await weights.readF32(name));
    const ref = readTinyReference();
    const hf = await openReferenceTensors(`${TINY}/reference.safetensors`);
    let klSum = 0, positions = 0;
    for (const [p, ids] of ref.prompts.entries()) {
      model.truncate(0);
      const { logits } = await model.run(ids, { allLogits: true });
      const want = referenceForward(config, (name) => values.get(name)!, ids).logits;
      expect(maxAbsDiff(logits!, want), `prompt ${p} vs dequantized reference`).toBeLessThan(1e-3);
      const hfLogits = await hf.readF32(`logits_${p}`);
      for (let t = 0; t < ids.length; t++) {
        klSum += kl(hfLogits.subarray(t * 2048, (t + 1) * 2048), logits!.subarray(t * 2048, (t + 1) * 2048));
        positions++;
      }
    }
    // the same package with its quantized vocabulary and expert stacks split into blocks of <= 50 kB
    const split = new ErnieForward(ctx, config, await loadWeights(ctx, config, weights, { maxBindingBytes: 50_000 }), { kvCacheBytes: 1 << 22 });
    expect(split.w.embed.blocks.length).toBeGreaterThan(2);
    expect(split.w.experts!.cache.layout().gateUp.length).toBeGreaterThan(1);
    await model.run([7]); // the unsplit model continues prompt 2 by one token...
    const whole = await ctx.readF32(model.logitsBuffer, 0, 2048);
    await split.run([...ref.prompts[2], 7]); // ...the split one runs the same tokens from scratch
    expect(maxAbsDiff(await ctx.readF32(split.logitsBuffer, 0, 2048), whole)).toBeLessThan(1e-5);
    const meanKl = klSum / positions;
    console.log(`tiny q4 package on the GPU: mean KL vs HF over ${positions} positions = ${meanKl.toExponential(3)}`);
    expect(positions).toBe(41);
    expect(meanKl).toBeLessThanOrEqual(0.8 * 0.052);
  });
});
