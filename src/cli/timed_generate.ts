// The CLI's `generate` loop with honest timers: every clock read waits for the GPU work it
// times (ctx.settle() after prefill; decode ends on the last sampled id's readback).
import type { GpuContext } from '../gpu/context.js';
import { checkSampled, sample } from '../kernels/sample.js';
import type { ErnieForward } from '../model/ernie45/forward.js';
import type { Rng } from '../sampling/rng.js';

export interface TimedGeneration {
  generated: number[];
  /** Prompt forward, GPU completion included. */
  prefillMs: number;
  /** First sample to the last sampled id read back. */
  decodeMs: number;
}

export async function timedGenerate(
  ctx: GpuContext,
  model: ErnieForward,
  ids: readonly number[],
  o: { maxTokens: number; options: { temperature: number; topK: number; topP: number }; rng: Rng },
): Promise<TimedGeneration> {
  const { vocabSize, eosTokenIds } = model.cfg;
  const result = ctx.createBuffer('next token', 4);
  try {
    const tPrefill = performance.now();
    await model.run(ids);
    await ctx.settle();
    const tDecode = performance.now();
    const generated: number[] = [];
    for (let i = 0; i < o.maxTokens; i++) {
      sample(ctx, { logits: model.logitsBuffer, row: 0, vocab: vocabSize, result, options: o.options, u: o.rng.uniform() });
      const id = checkSampled((await ctx.readU32(result, 0, 1))[0]!, vocabSize, ids.length + i);
      generated.push(id);
      if (eosTokenIds.includes(id) || i === o.maxTokens - 1) break;
      await model.run([id]);
    }
    await ctx.settle();
    return { generated, prefillMs: tDecode - tPrefill, decodeMs: performance.now() - tDecode };
  } finally {
    result.destroy();
  }
}
