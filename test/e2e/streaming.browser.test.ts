// Expert streaming in headless Chromium: the tiny checkpoint over HTTP with a quarter of its
// experts on the GPU (prefill chunks of 4 tokens need more than that: waves) gives the logits
// and greedy tokens of the all-resident run.
import { describe, expect, it } from 'vitest';
import { runInPage, useHarness } from './browser.js';
import { maxAbsDiff } from '../reference/ops.js';
import { TINY, readTinyReference } from '../helpers/fixtures.js';

describe('expert streaming in Chromium', { timeout: 300_000 }, () => {
  useHarness();

  it('tiny fixture, 4 of 16 experts per layer on the GPU: same logits and greedy tokens as all resident', async () => {
    const ref = readTinyReference();
    type Run = { logits: Float32Array; greedy: number[]; misses: number; readbacks: number };
    const { runs } = await runInPage<{ runs: Run[] }>('/test/e2e/pages/forward.ts', 'streamingForward', {
      folder: `/${TINY}/`,
      prompt: ref.prompts[1],
      greedyTokens: 4,
      expertCache: { gpuExperts: 4, ramBytes: 0 },
    }, { timeoutMs: 280_000 });
    const [all, streamed] = runs as [Run, Run];
    expect(all.misses).toBe(0);
    expect(all.readbacks).toBe(0);
    expect(streamed.misses).toBeGreaterThan(0);
    expect(maxAbsDiff(streamed.logits, all.logits)).toBeLessThanOrEqual(1e-6);
    expect(streamed.greedy).toEqual(all.greedy);
    expect(all.greedy).toEqual(ref.greedy[1].slice(0, 4));
  });
});
