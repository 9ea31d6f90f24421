// The GPU log-softmax + top-k (shaders/logprobs.wgsl) against the f64 reference
// (test/reference/logprobs_ref.ts): the sampled id's log p, the top alternatives in order
// (ties: lowest id first), a row inside a larger buffer, a vocabulary that is not a multiple of
// the workgroup, padding columns past `vocab` never reported.
import { describe, expect, it } from 'vitest';
import { logprobs, LOGPROBS_RESULT_WORDS, MAX_TOP_LOGPROBS, readLogprobs } from '../../src/kernels/logprobs.js';
import { sample } from '../../src/kernels/sample.js';
import { logSoftmax, topLogprobs } from '../reference/logprobs_ref.js';
import { gpuContext, randn, rng } from '../helpers/gpu.js';

describe('logprobs kernel', () => {
  it('matches a CPU log-softmax and top-k, for the id sample() wrote', async () => {
    const ctx = await gpuContext();
    const vocab = 1000, stride = 1030, rows = 3, row = 2;
    const data = randn(rng(11), rows * stride, 3);
    // Padding columns of the row hold the largest values: they must never be reported.
    for (let i = vocab; i < stride; i++) data[row * stride + i] = 100;
    // A three-way tie above every other logit of the row (ids 7, 300, 901), so order on ties is checked.
    const tie = Math.max(...data.subarray(row * stride, row * stride + vocab)) + 1;
    for (const id of [901, 300, 7]) data[row * stride + id] = tie;
    const logits = ctx.upload('logits', data);
    const result = ctx.upload('result', new Uint32Array(LOGPROBS_RESULT_WORDS).fill(0xffffffff));
    const rowData = data.subarray(row * stride, row * stride + vocab);
    for (const top of [0, 5, MAX_TOP_LOGPROBS]) {
      sample(ctx, { logits, row, rowStride: stride, vocab, result, options: { temperature: 0.7 }, u: 0.37 });
      logprobs(ctx, { logits, row, rowStride: stride, vocab, top, result });
      const words = await ctx.readU32(result, 0, LOGPROBS_RESULT_WORDS);
      const got = readLogprobs(words, top);
      const ref = logSoftmax(rowData);
      expect(words[0]).toBeLessThan(vocab);
      expect(got.logprob).toBeCloseTo(ref[words[0]!]!, 4);
      const want = topLogprobs(rowData, top);
      expect(got.top.map((t) => t.id)).toEqual(want.map((t) => t.id));
      got.top.forEach((t, i) => expect(t.logprob).toBeCloseTo(want[i]!.logprob, 4));
      if (top >= 3) expect(got.top.slice(0, 3).map((t) => t.id)).toEqual([7, 300, 901]);
    }
  });

  it('a row of 100K logits: the top ids, and the argmax id\'s log p is the best one', async () => {
    const ctx = await gpuContext();
    const vocab = 100_003;
    const data = randn(rng(5), vocab, 4);
    const logits = ctx.upload('logits', data);
    const result = ctx.upload('result', new Uint32Array(LOGPROBS_RESULT_WORDS));
    sample(ctx, { logits, row: 0, vocab, result, options: { temperature: 0 }, u: 0 });
    logprobs(ctx, { logits, row: 0, vocab, top: 3, result });
    const got = readLogprobs(await ctx.readU32(result, 0, LOGPROBS_RESULT_WORDS), 3);
    const want = topLogprobs(data, 3);
    expect(got.top.map((t) => t.id)).toEqual(want.map((t) => t.id));
    got.top.forEach((t, i) => expect(t.logprob).toBeCloseTo(want[i]!.logprob, 3));
    expect(got.logprob).toBe(got.top[0]!.logprob);
  });

  it('refuses more alternatives than OpenAI allows', async () => {
    const ctx = await gpuContext();
    const b = ctx.upload('x', new Float32Array(4));
    expect(() => logprobs(ctx, { logits: b, row: 0, vocab: 4, top: 21, result: b })).toThrow(RangeError);
  });
});
