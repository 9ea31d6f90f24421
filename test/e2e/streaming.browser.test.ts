// Expert streaming in headless Chromium: the tiny checkpoint over HTTP with a quarter of its
// experts on the GPU (prefill chunks of 4 tokens need more than that: waves) gives the logits
// and greedy tokens of the all-resident run; the k256 q2 package downloaded into IndexedDB by
// the model store streams its experts from there with the server stopped (same tokens as all
// resident), and a lazily stored copy (no expert shards) offline fails with a typed error.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runInPage, useHarness } from './browser.js';
import type { ExpertStats } from '../../src/experts/stats.js';
import { makeTestPackages } from '../store/packages.js';
import { startPackageServer, type PackageServer } from '../store/server.js';
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
  const PAGE = '/test/e2e/pages/streaming_store.ts';
  const LONG = { timeoutMs: 200_000 };
  let server: PackageServer;
  beforeAll(async () => {
    const pkgs = await makeTestPackages({ k256: true });
    server = await startPackageServer({ k256: pkgs.k256!, lazy: pkgs.k256! });
  }, 120_000);
  afterAll(() => server?.close());

  it('the k256 q2 package stored by the model store streams its experts from IndexedDB with the server stopped (top-k per layer): same tokens as all resident; lazy mode offline is a typed error', async () => {
    const url = `${server.baseUrl}/k256/`;
    const d = await runInPage<{ complete: boolean }>(PAGE, 'download', { url }, LONG);
    expect(d.complete).toBe(true);
    const lazyUrl = `${server.baseUrl}/lazy/`;
    const l = await runInPage<{ complete: boolean; missing: number }>(PAGE, 'download', { url: lazyUrl, mode: 'lazy' }, LONG);
    expect(l.complete).toBe(false);
    expect(l.missing).toBeGreaterThan(0);
    await server.stop();
    try {
      type Run = { text: string; tokens: number; stats: ExpertStats };
      const { runs } = await runInPage<{ runs: Run[] }>(PAGE, 'runStored', { url, budgets: [{}, { gpuExperts: 2, ramBytes: 0 }] }, LONG);
      const [all, streamed] = runs as [Run, Run];
      expect(all.stats.gpu.misses).toBe(0);
      expect(streamed.stats.gpu.slots).toBeLessThan(all.stats.gpu.slots);
      expect(streamed.stats.gpu.misses).toBeGreaterThan(0);
      // every miss past the load read its shard again from IndexedDB (no RAM tier)
      expect(streamed.stats.source.reads).toBeGreaterThan(streamed.stats.gpu.slots);
      expect(streamed.tokens).toBe(all.tokens);
      expect(streamed.text).toBe(all.text);
      expect(streamed.stats.readbacksPerToken).toBeLessThanOrEqual(streamed.stats.gpu.slots); // at most one per MoE layer per token

      // a lazily stored model (no expert shard stored yet) with the server gone: a typed error naming the expert shard
      type Err = { name: string; code?: string; message: string };
      const lazy = await runInPage<{ error?: Err; loadError?: Err; stats?: ExpertStats }>(PAGE, 'lazyOffline', { url: lazyUrl, expertCache: { gpuExperts: 2 } }, LONG);
      expect(lazy.loadError).toBeUndefined();
      expect(lazy.error).toMatchObject({ code: 'FETCH_FAILED', message: expect.stringMatching(/experts\/layer-\d+\/expert-\d+\.bin.*not in the model store yet/) });
      // nothing half-loaded: no slot was written
      expect(lazy.stats!.gpu.bytesUploaded).toBe(0);
    } finally {
      await server.start();
    }
  });
});
