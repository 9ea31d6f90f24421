// `ernie-webgpu convert` end to end: HF checkpoint -> q4 package on disk -> loaded on the GPU.
// The GPU forward over the package equals the f64 reference forward over the same dequantized
// weights, and the quantization costs no more KL than the issue allows.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { nodeFolder } from '../../src/formats/node_source.js';
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

describe('convert CLI -> package -> GPU', () => {
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
    const meanKl = klSum / positions;
    console.log(`tiny q4 package on the GPU: mean KL vs HF over ${positions} positions = ${meanKl.toExponential(3)}`);
    expect(positions).toBe(41);
    expect(meanKl).toBeLessThanOrEqual(0.8 * 0.052);
  });
});
