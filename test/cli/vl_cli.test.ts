// The parity CLI on ERNIE-4.5-VL folders (child processes, as a user runs them): `generate`
// with --image on the fixture gives HF's greedy tokens (experts streaming under --gpu-experts 4); `logits` on a random VL geometry (other
// widths, mrope_section [4, 4, 8], two dense lead layers, untied head, narrower vision experts)
// written as a -PT checkpoint folder (vision_model.* names, transposed routers, [2, E] bias),
// with two PNGs of other sizes and aspects, equals the f64 reference; ids whose placeholders do
// not match the images fail with BAD_REQUEST.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encode as encodePng } from 'fast-png';
import { describe, expect, it } from 'vitest';
import { decodeImage } from '../../src/image/decode.js';
import { parsePreprocessorConfig, preprocessImage } from '../../src/model/ernie45_vl/preprocess.js';
import { maxAbsDiff } from '../reference/ops.js';
import { referenceVlForward } from '../reference/vl_forward_ref.js';
import { writeSafetensors } from '../package/helpers.js';
import { RANDOM_VL_CONFIG, randomVlConfig, randomVlWeights } from '../helpers/vl_random.js';
import { VL } from '../helpers/vl_fixture.js';

function readNpy(path: string): { shape: number[]; data: Float32Array } {
  const buf = readFileSync(path);
  const headerLen = buf.readUInt16LE(8);
  const header = buf.subarray(10, 10 + headerLen).toString('latin1');
  const shape = header.match(/\(([^)]*)\)/)![1].split(',').filter((s) => s.trim()).map(Number);
  return { shape, data: new Float32Array(buf.buffer.slice(buf.byteOffset + 10 + headerLen, buf.byteOffset + buf.byteLength)) };
}

const cli = (args: string[]) => execFileSync(process.execPath, ['bin/ernie-webgpu.mjs', ...args], { stdio: 'pipe' }).toString();
const ref = JSON.parse(readFileSync(`${VL}/reference.json`, 'utf8')) as { input_ids: number[]; greedy: number[] };
const image = `${VL}/test_image.png`;

describe('VL parity CLI', () => {
  it('generate --image on the fixture gives HF\'s greedy tokens, with text and vision experts streaming under --gpu-experts 4', () => {
    const r = spawnSync(process.execPath, ['bin/ernie-webgpu.mjs', 'generate', VL, '--ids', ref.input_ids.join(','), '--image', image, '--max-tokens', '6', '--gpu-experts', '4'], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain(`generated ids: ${ref.greedy.slice(0, 6).join(' ')}`);
    // 2 dual-MoE layers x (text + vision) sets x 4 experts: 16 slots, refilled as the router picks
    expect(r.stderr).toMatch(/experts: 16 GPU slots, \d+ hits, [1-9]\d* misses, [1-9]\d* evictions/);
  });

  it('a random VL geometry as a -PT checkpoint folder, two PNGs of 84x56 and 56x84: logits equal the f64 reference', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ernie-vl-random-'));
    const cfg = randomVlConfig();
    const { values, shapes } = randomVlWeights(cfg, 'vision_model.', 11);
    writeFileSync(join(dir, 'config.json'), JSON.stringify(RANDOM_VL_CONFIG));
    writeSafetensors(join(dir, 'model.safetensors'), [...values].map(([name, data]) => ({ name, shape: shapes.get(name)!, data })));
    const pngs = [[84, 56], [56, 84]].map(([w, h], k) => {
      const data = Uint8Array.from({ length: w * h * 3 }, (_, i) => (i * (31 + 17 * k) + 7) & 255);
      const path = join(dir, `image${k}.png`);
      writeFileSync(path, encodePng({ width: w, height: h, data, channels: 3, depth: 8 }));
      return path;
    });
    const pre = parsePreprocessorConfig({});
    const images = pngs.map((p) => preprocessImage(decodeImage(readFileSync(p)), pre));
    expect(images.map((im) => [im.grid.h, im.grid.w])).toEqual([[4, 6], [6, 4]]);
    const t = cfg.tokens;
    const ids = [1, 2, t.imageStart, ...Array(6).fill(t.image), t.imageEnd, 3, t.imageStart, ...Array(6).fill(t.image), t.imageEnd, 4, 5];
    const out = join(dir, 'logits.npy');
    cli(['logits', dir, '--ids', ids.join(','), '--image', pngs[0], '--image', pngs[1], '--out', out]);
    const want = referenceVlForward(cfg, (n) => values.get(n)!, 'vision_model.', ids, images);
    expect(maxAbsDiff(readNpy(out).data, want.logits)).toBeLessThan(1e-4);
  });

  it('placeholders that do not match the image, or --image on a text model, fail with BAD_REQUEST', () => {
    const bad = spawnSync(process.execPath, ['bin/ernie-webgpu.mjs', 'logits', VL, '--ids', ref.input_ids.slice(0, 8).join(','), '--image', image, '--out', '/dev/null']);
    expect(bad.status).toBe(1);
    expect(bad.stderr.toString()).toMatch(/BAD_REQUEST.*needs 12 placeholder tokens/);
    const text = spawnSync(process.execPath, ['bin/ernie-webgpu.mjs', 'logits', 'test/fixtures/ernie45-moe-tiny', '--ids', '1,2', '--image', image, '--out', '/dev/null']);
    expect(text.status).toBe(1);
    expect(text.stderr.toString()).toMatch(/BAD_REQUEST.*text-only model/);
  });
});
