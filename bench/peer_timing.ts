// The one greedy timing loop bench:peers runs on our engine, in Node and in the page: prefill the
// prompt and sample its next token, then decode one token at a time. Every time waits for the
// work it times: the sampled id is read back before the clock stops. One untimed token first
// compiles the pipelines.
import type { GpuContext } from '../src/gpu/context.js';
import type { ErnieForward } from '../src/model/ernie45/forward.js';
import { sample } from '../src/kernels/sample.js';

export interface GreedyTiming {
  prefillTokens: number;
  /** Prefill + the first sampled token. */
  prefillMs: number;
  decodeTokens: number;
  decodeMs: number;
  ids: number[];
}

export async function timeGreedy(ctx: GpuContext, forward: ErnieForward, vocab: number, prompt: number[], decodeTokens: number): Promise<GreedyTiming> {
  const result = ctx.createBuffer('peer bench token', 4);
  const next = async () => {
    sample(ctx, { logits: forward.logitsBuffer, row: 0, vocab, result, options: { temperature: 0 }, u: 0 });
    return (await ctx.readU32(result, 0, 1))[0]!;
  };
  try {
    // warm-up (pipelines compile on first use), then a fresh KV cache
    await forward.run(prompt.slice(0, 1));
    await next();
    forward.truncate(0);
    const t0 = performance.now();
    await forward.run(prompt);
    const ids = [await next()];
    const t1 = performance.now();
    for (let i = 0; i < decodeTokens; i++) {
      await forward.run([ids[ids.length - 1]!]);
      ids.push(await next());
    }
    const t2 = performance.now();
    return { prefillTokens: prompt.length, prefillMs: t1 - t0, decodeTokens, decodeMs: t2 - t1, ids };
  } finally {
    result.destroy();
  }
}
