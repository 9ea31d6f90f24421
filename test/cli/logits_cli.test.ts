// The parity CLI end to end (a child process, as a user runs it), and every GGUF fixture
// imported and run on the GPU against the logits of an exact dequantized f64 forward.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fromPath } from '../../src/formats/node_source.js';
import { openGgufWeights } from '../../src/model/ernie45/gguf_source.js';
import { loadWeights } from '../../src/model/ernie45/weights.js';
import { ErnieForward } from '../../src/model/ernie45/forward.js';
import { maxAbsDiff } from '../reference/ops.js';
import { gpuContext } from '../helpers/gpu.js';
import { TINY, openReferenceTensors, readTinyReference } from '../helpers/fixtures.js';

/** Parse a float32 .npy written by the CLI. */
function readNpy(path: string): { shape: number[]; data: Float32Array } {
  const buf = readFileSync(path);
  expect(buf.subarray(0, 6).toString('latin1')).toBe('\x93NUMPY');
  const headerLen = buf.readUInt16LE(8);
  const header = buf.subarray(10, 10 + headerLen).toString('latin1');
  expect(header).toContain("'descr': '<f4'");
  const shape = header.match(/\(([^)]*)\)/)![1].split(',').filter((s) => s.trim()).map(Number);
  const data = new Float32Array(buf.buffer.slice(buf.byteOffset + 10 + headerLen, buf.byteOffset + buf.byteLength));
  return { shape, data };
}

const GGUF_DIR = 'test/fixtures/gguf';
const ggufs = readdirSync(GGUF_DIR).filter((f) => f.endsWith('.gguf'));

function promptsFor(file: string): number[][] {
  return file.includes('k256') ? readTinyReference(`${GGUF_DIR}/ernie45-moe-k256`).prompts : readTinyReference().prompts;
}

describe('logits CLI', () => {
  it('writes every position of an HF checkpoint as float32 .npy equal to transformers', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'ernie-cli-')), 'logits.npy');
    const ids = readTinyReference().prompts[1];
    execFileSync(process.execPath, ['bin/ernie-webgpu.mjs', 'logits', TINY, '--ids', ids.join(','), '--out', out], { stdio: 'pipe' });
    const { shape, data } = readNpy(out);
    expect(shape).toEqual([ids.length, 2048]);
    const want = await (await openReferenceTensors(`${TINY}/reference.safetensors`)).readF32('logits_1');
    expect(maxAbsDiff(data, want)).toBeLessThan(1e-3);
  });

  it('accepts a .gguf file', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'ernie-cli-')), 'logits.npy');
    const file = `${GGUF_DIR}/ernie45-moe-tiny-q8_0.gguf`;
    const ids = readTinyReference().prompts[0];
    execFileSync(process.execPath, ['bin/ernie-webgpu.mjs', 'logits', file, '--ids', ids.join(','), '--out', out], { stdio: 'pipe' });
    const want = await (await openReferenceTensors(file.replace('.gguf', '.reference.safetensors'))).readF32('logits_0');
    expect(maxAbsDiff(readNpy(out).data, want)).toBeLessThan(2e-3);
  });

  it('fails with a usage message and exit code 2 on bad arguments', () => {
    let status = 0;
    let stderr = '';
    try {
      execFileSync(process.execPath, ['bin/ernie-webgpu.mjs', 'frobnicate'], { stdio: 'pipe' });
    } catch (e) {
      status = (e as { status: number }).status;
      stderr = String((e as { stderr: Buffer }).stderr);
    }
    expect(status).toBe(2);
    expect(stderr).toContain('usage:');
  });
});

describe('GGUF fixtures imported on the GPU', () => {
  it.each(ggufs)('%s: logits of all prompts within 2e-3 of its dequantized reference', async (file) => {
    const ctx = await gpuContext();
    const { config, weights } = await openGgufWeights(fromPath(`${GGUF_DIR}/${file}`));
    const model = new ErnieForward(ctx, config, await loadWeights(ctx, config, weights), { kvCacheBytes: 1 << 22 });
    const refs = await openReferenceTensors(`${GGUF_DIR}/${file.replace('.gguf', '.reference.safetensors')}`);
    for (const [p, ids] of promptsFor(file).entries()) {
      model.truncate(0);
      const { logits } = await model.run(ids, { allLogits: true });
      expect(maxAbsDiff(logits!, await refs.readF32(`logits_${p}`)), `prompt ${p}`).toBeLessThan(2e-3);
    }
  });
});
