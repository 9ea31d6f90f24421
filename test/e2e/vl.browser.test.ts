// The tiny ERNIE-4.5-VL fixture in headless Chromium (WebGPU on SwiftShader): the browser
// decodes the image (createImageBitmap), and pixel_values, logits and greedy tokens equal HF's.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runInPage, useHarness } from './browser.js';
import { maxAbsDiff } from '../reference/ops.js';
import { VL, loadAllTensors } from '../helpers/vl_fixture.js';

describe('ERNIE-4.5-VL forward in Chromium', { timeout: 300_000 }, () => {
  useHarness();

  it('tiny VL fixture: browser-decoded pixel_values, logits of every position and 16 greedy tokens match HF', async () => {
    const ref = JSON.parse(readFileSync(`${VL}/reference.json`, 'utf8')) as { input_ids: number[]; greedy: number[] };
    const res = await runInPage<{ pixelValues: Float32Array; logits: Float32Array; greedy: number[]; badImage: string }>('/test/e2e/pages/vl.ts', 'tinyVl', {
      folder: `/${VL}/`, ids: ref.input_ids, greedyTokens: 16,
    }, { timeoutMs: 280_000 });
    const want = await loadAllTensors(`${VL}/reference.safetensors`, ['image_grid_thw']);
    expect(maxAbsDiff(res.pixelValues, want.get('pixel_values')!)).toBe(0);
    const diff = maxAbsDiff(res.logits, want.get('logits')!);
    console.log(`[e2e] Chromium tiny VL: max |logit diff| ${diff.toExponential(2)}`);
    expect(diff).toBeLessThan(1e-4);
    expect(res.greedy).toEqual(ref.greedy);
    expect(res.badImage).toMatch(/^BAD_IMAGE: missing\.png: not a PNG or JPEG/);
  });
});
