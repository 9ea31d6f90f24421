// The CLI's expert-cache flags: logits under a 25% GPU budget equal transformers' like the
// all-resident run, the stats line reports the streaming, and a malformed value is refused.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { maxAbsDiff } from '../reference/ops.js';
import { TINY, openReferenceTensors, readTinyReference } from '../helpers/fixtures.js';

function npyData(path: string): Float32Array {
  const b = readFileSync(path);
  const headerLen = b.readUInt16LE(8);
  return new Float32Array(b.buffer.slice(b.byteOffset + 10 + headerLen, b.byteOffset + b.length));
}

describe('--gpu-experts / --ram-experts', () => {
  it('logits with a quarter of the experts on the GPU match transformers, and the stats line shows the streaming', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'ernie-cli-')), 'logits.npy');
    const ids = readTinyReference().prompts[1];
    const r = spawnSync(process.execPath, ['bin/ernie-webgpu.mjs', 'logits', TINY, '--ids', ids.join(','), '--out', out, '--gpu-experts', '25%', '--ram-experts', '2'], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const want = await (await openReferenceTensors(`${TINY}/reference.safetensors`)).readF32('logits_1');
    expect(maxAbsDiff(npyData(out), want)).toBeLessThan(1e-3);
    // tiny: 3 MoE layers x 16 experts, 25% = 12 slots; a 7-token prompt needs more than that
    expect(r.stderr).toMatch(/experts: 12 GPU slots, \d+ hits, [1-9]\d* misses/);
  });

  it('a malformed value is a usage error naming the flag', () => {
    const r = spawnSync(process.execPath, ['bin/ernie-webgpu.mjs', 'logits', TINY, '--ids', '1,2', '--out', '/dev/null', '--gpu-experts', 'many'], { encoding: 'utf8' });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('--gpu-experts takes a count of experts per layer');
  });
});
