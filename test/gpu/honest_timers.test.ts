// Reported times wait for the GPU work they time. Each case records, independently, when the
// device finished the prefill (an onSubmittedWorkDone registered right after the forward
// returned) and checks the reported prefill time is at least that long: a timer read when the
// work was only queued (what the CLI printed before) comes out shorter.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadEngine, type LoadedEngine } from '../../src/engine/load.js';
import { nodeFolder } from '../../src/formats/node_source.js';
import { nodeGpu } from '../../src/node.js';
import { ErnieForward } from '../../src/model/ernie45/forward.js';
import { timedGenerate } from '../../src/cli/timed_generate.js';
import { Rng } from '../../src/sampling/rng.js';

const TINY = 'test/fixtures/ernie45-moe-tiny';
let engine: LoadedEngine;

beforeAll(async () => {
  engine = await loadEngine({ model: nodeFolder(TINY), tokenizer: nodeFolder('test/fixtures/ernie-tokenizer-tiny'), gpu: await nodeGpu(), kvCacheBytes: 1 << 22 });
});
afterAll(() => engine?.dispose());

/** Wraps run() of `forward` so each multi-token call records [start, GPU done] wall times. */
function watchPrefill(forward: ErnieForward): { start: number; done: number }[] {
  const seen: { start: number; done: number }[] = [];
  const run = forward.run.bind(forward);
  forward.run = async (ids, opts) => {
    const start = performance.now();
    const out = await run(ids, opts);
    if (ids.length > 1) {
      const entry = { start, done: Infinity };
      seen.push(entry);
      // registered after run() returned: resolves when everything it queued has finished
      forward.ctx.submit();
      void forward.ctx.device.queue.onSubmittedWorkDone().then(() => (entry.done = performance.now()));
    }
    return out;
  };
  return seen;
}

const prompt = 'The quick brown fox jumps over the lazy dog. '.repeat(3);

describe('honest timers', () => {
  it('usage timings: prefillMs includes the GPU finishing the prompt', async () => {
    const forward = (engine as unknown as { model: { model: { decoder: ErnieForward } } }).model.model.decoder;
    const seen = watchPrefill(forward);
    await engine.completions.create({ prompt, max_tokens: 1, temperature: 0 });
    const stats = engine.lastStats!;
    expect(seen.length).toBe(1);
    expect(Number.isFinite(seen[0]!.done)).toBe(true);
    expect(stats.prefillMs).toBeGreaterThanOrEqual(seen[0]!.done - seen[0]!.start);
  });

  it("the CLI's generate loop: prefillMs includes the GPU finishing the prompt", async () => {
    const forward = (engine as unknown as { model: { model: { decoder: ErnieForward } } }).model.model.decoder;
    forward.truncate(0);
    const seen = watchPrefill(forward);
    const ids = Array.from({ length: 32 }, (_, i) => 10 + i);
    const r = await timedGenerate(engine.gpu, forward, ids, { maxTokens: 2, options: { temperature: 0, topK: 0, topP: 1 }, rng: new Rng(0) });
    expect(seen.length).toBe(1);
    expect(Number.isFinite(seen[0]!.done)).toBe(true);
    expect(r.prefillMs).toBeGreaterThanOrEqual(seen[0]!.done - seen[0]!.start);
    expect(r.generated.length).toBeGreaterThan(0);
  });
});
