// The same forward pass in headless Chromium (WebGPU on SwiftShader), weights streamed from a
// local HTTP server with Range requests: logits and greedy tokens equal HF transformers'.
import { describe, expect, it } from 'vitest';
import { runInPage, useHarness } from './browser.js';
import { maxAbsDiff } from '../reference/ops.js';
import { TINY, openReferenceTensors, readTinyReference } from '../helpers/fixtures.js';

describe('ERNIE 4.5 MoE forward in Chromium', { timeout: 300_000 }, () => {
  useHarness(); // runInPage() drives the harness this opens

  it('tiny fixture: logits of every position and 24 greedy tokens match HF', async () => {
    const ref = readTinyReference();
    const p = 1;
    const res = await runInPage<{ logits: Float32Array; greedy: number[]; adapter: string }>('/test/e2e/pages/forward.ts', 'tinyForward', {
      folder: `/${TINY}/`,
      prompt: ref.prompts[p],
      greedyTokens: 24,
    }, { timeoutMs: 280_000 });
    const want = await (await openReferenceTensors(`${TINY}/reference.safetensors`)).readF32(`logits_${p}`);
    const diff = maxAbsDiff(res.logits, want);
    console.log(`[e2e] Chromium (${res.adapter}) tiny MoE: max |logit diff| ${diff.toExponential(2)}`);
    expect(diff).toBeLessThan(1e-3);
    expect(res.greedy).toEqual(ref.greedy[p]);
  });
});
