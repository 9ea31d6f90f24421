// The engine inside a real dedicated Worker in Chromium (WebGPU in the worker), driven from
// the page through WorkerEngine: same answer as an Engine running in the page, and a typed error
// from the worker arrives in the page as its own class with code and param.
import { describe, expect, it } from 'vitest';
import { runInPage, useHarness } from './browser.js';
import type { WorkerError } from './pages/worker.js';
import { TINY } from '../helpers/fixtures.js';

describe('WorkerEngine in Chromium', { timeout: 240_000 }, () => {
  useHarness(); // runInPage() drives the harness this opens

  it('answers like the in-page engine, streams, reports load progress and sends typed errors', async () => {
    const r = await runInPage<{ worker: string; page: string; streamed: string; progressEvents: number; adapter: string; badRequest: WorkerError | null }>(
      '/test/e2e/pages/worker.ts', 'chatBothWays',
      { model: `/${TINY}/`, tokenizer: '/test/fixtures/ernie-tokenizer-tiny/' },
      { timeoutMs: 220_000 },
    );
    console.log(`[e2e] worker adapter: ${r.adapter}; answer: ${JSON.stringify(r.worker)}`);
    expect(r.worker.length).toBeGreaterThan(0);
    expect(r.worker).toBe(r.page);
    expect(r.streamed).toBe(r.worker);
    expect(r.progressEvents).toBeGreaterThan(10);
    expect(r.badRequest).toEqual({ name: 'BadRequestError', code: 'BAD_REQUEST', param: 'top_p', isBadRequestError: true });
  });
});
