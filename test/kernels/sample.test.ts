// The GPU sampler (shaders/sample.wgsl) against a CPU f64 model of the same rule.
//  - temperature 0: argmax, lowest id on ties, never a padding column past `vocab`;
//  - temperature > 0: the kept set (top-k, nucleus top-p, min-p, and their intersection) is
//    computed on the CPU; the draw is an inverse CDF over the kept ids in index order, so with
//    u_i = (i + 0.5) / N the expected token of every draw is known exactly. A mismatch is allowed
//    only where u lies within 1e-5 of a CDF boundary (f32 vs f64 sums), and then only to a token
//    whose CDF interval comes that close. The same expected token is also checked against the
//    library's CPU sampler (src/sampling/cpu_sampler.ts), which documents these semantics.
// SwiftShader runs one sample() (a ~40-step bisection, each a workgroup reduction) in tens of
// ms, so draw counts are sized per case.
import { describe, expect, it } from 'vitest';
import type { GpuContext } from '../../src/gpu/context.js';
import { sample, type SampleOptions } from '../../src/kernels/sample.js';
import { sampleProcessed } from '../../src/sampling/cpu_sampler.js';
import type { SampleStep } from '../../src/engine/language_model.js';
import { gpuContext, randn, rng } from '../helpers/gpu.js';

const BOUNDARY = 1e-5;

/** Run one sample() per u (all recorded before a single readback); returns the token ids. */
async function draws(ctx: GpuContext, logits: GPUBuffer, a: { row: number; rowStride?: number; vocab: number; options: SampleOptions }, us: number[]): Promise<number[]> {
  const result = ctx.upload('result', new Uint32Array(4).fill(0xffffffff));
  const all = ctx.upload('all', new Uint32Array(Math.max(us.length, 4)).fill(0xffffffff));
  us.forEach((u, i) => {
    sample(ctx, { logits, result, u, ...a });
    ctx.copy(result, 0, all, i * 4, 4);
  });
  return Array.from(await ctx.readU32(all, 0, us.length));
}

function argmax(x: ArrayLike<number>, from: number, n: number): number {
  let best = 0;
  for (let i = 1; i < n; i++) if (x[from + i] > x[from + best]) best = i;
  return best;
}

interface Kept {
  /** kept ids, ascending */
  ids: number[];
  /** unnormalised probabilities q_i = exp((l_i - max) / temperature) of all ids */
  q: Float64Array;
}

/**
 * The kept set on the CPU: tokens with q > 0 in the intersection of top-k (k largest q),
 * nucleus (smallest prefix by descending q whose mass >= top_p of the total) and min-p
 * (q >= min_p; q_max = 1). Fails the test if a token that passes the other filters sits on one
 * filter's boundary within f32 reach, where the GPU could fairly decide either way (then pick
 * another seed).
 */
function keptSet(logits: ArrayLike<number>, from: number, vocab: number, o: SampleOptions): Kept {
  const mx = logits[from + argmax(logits, from, vocab)];
  const q = new Float64Array(vocab);
  for (let i = 0; i < vocab; i++) q[i] = Math.exp((logits[from + i] - mx) / o.temperature);
  const byProb = [...q.keys()].sort((a, b) => q[b] - q[a] || a - b);
  const topK = o.topK ?? 0, topP = o.topP ?? 1, minP = o.minP ?? 0;
  const EPS = 1e-5;
  // per filter: 1 = in, 0 = out, 0.5 = too close to call
  const inK = new Float64Array(vocab).fill(1), inP = new Float64Array(vocab).fill(1), inMin = new Float64Array(vocab).fill(1);
  if (topK > 0 && topK < vocab) {
    // the k-th and (k+1)-th largest: if they are within rounding, so is everything between
    const qk = q[byProb[topK - 1]], qk1 = q[byProb[topK]];
    const close = qk - qk1 <= EPS * qk;
    byProb.forEach((i, rank) => {
      inK[i] = close && q[i] <= qk && q[i] >= qk1 ? 0.5 : rank < topK ? 1 : 0;
    });
  }
  if (topP < 1) {
    let total = 0;
    for (const v of q) total += v;
    let before = 0;
    for (const i of byProb) {
      // kept iff the mass strictly before it is still short of top_p
      inP[i] = Math.abs(before - topP * total) <= EPS * total ? 0.5 : before < topP * total ? 1 : 0;
      before += q[i];
    }
  }
  if (minP > 0) for (let i = 0; i < vocab; i++) inMin[i] = Math.abs(q[i] - minP) <= EPS * minP ? 0.5 : q[i] >= minP ? 1 : 0;
  const ids: number[] = [];
  for (let i = 0; i < vocab; i++) {
    const v = Math.min(inK[i], inP[i], inMin[i]);
    expect(v, `token ${i} sits on a filter boundary`).not.toBe(0.5);
    if (v === 1 && q[i] > 0) ids.push(i);
  }
  return { ids, q };
}

/**
 * Inverse CDF over the kept ids in index order: the token whose interval [before, after) of
 * cumulative mass holds u * mass, and every kept token whose interval comes within BOUNDARY
 * (relative to the kept mass) of that point: the ones f32 rounding could fairly give instead.
 */
function expectedDraw(k: Kept, u: number): { token: number; near: number[] } {
  let mass = 0;
  for (const i of k.ids) mass += k.q[i];
  const target = Math.fround(u) * mass; // the shader receives u as f32
  const slack = BOUNDARY * mass;
  let run = 0, token = -1;
  const near: number[] = [];
  for (const i of k.ids) {
    const before = run;
    run += k.q[i];
    if (token < 0 && run > target) token = i;
    if (before <= target + slack && run >= target - slack) near.push(i);
  }
  if (token < 0) token = k.ids[k.ids.length - 1];
  return { token, near };
}

/**
 * Draw nDraws tokens from row `row` with u = (i + 0.5) / nDraws and check each against the CPU
 * inverse CDF, the frequencies against the renormalised distribution, and determinism.
 */
async function checkDraws(ctx: GpuContext, logits: Float32Array, stride: number, vocab: number, options: SampleOptions, nDraws: number, row = 1): Promise<void> {
  const kept = keptSet(logits, row * stride, vocab, options);
  const us = Array.from({ length: nDraws }, (_, i) => (i + 0.5) / nDraws);
  const buf = ctx.upload('logits', logits);
  const got = await draws(ctx, buf, { row, rowStride: stride, vocab, options }, us);

  // the library's CPU sampler on the same row (masked and padding ids excluded by construction)
  const row64 = Float64Array.from(logits.subarray(row * stride, row * stride + vocab));
  const params = (u: number): SampleStep => ({
    temperature: options.temperature, topK: options.topK ?? 0, topP: options.topP ?? 1, minP: options.minP ?? 0, u: Math.fround(u),
    repetitionPenalty: 1, frequencyPenalty: 0, presencePenalty: 0, penaltyTokens: [], logitBias: new Map(),
  });

  const allowed = new Set(kept.ids);
  const counts = new Map<number, number>();
  const mismatchesAt = new Map<number, number>();
  got.forEach((t, i) => {
    expect(allowed.has(t), `draw ${i} (u=${us[i]}) picked ${t}, outside the kept set`).toBe(true);
    counts.set(t, (counts.get(t) ?? 0) + 1);
    const want = expectedDraw(kept, us[i]);
    const cpu = sampleProcessed(row64, params(us[i]));
    if (cpu !== want.token) expect(want.near, `u=${us[i]}: CPU sampler ${cpu} vs this test's model ${want.token}`).toContain(cpu);
    if (t !== want.token) {
      expect(want.near, `u=${us[i]}: got ${t}, want ${want.token}, not within ${BOUNDARY} of a CDF boundary`).toContain(t);
      for (const id of [t, want.token]) mismatchesAt.set(id, (mismatchesAt.get(id) ?? 0) + 1);
    }
  });
  // Frequencies: with evenly spaced u, token i gets the grid points inside its CDF interval,
  // N*p_i of them up to +-1; each boundary mismatch moves one more draw to or from it.
  let mass = 0;
  for (const i of kept.ids) mass += kept.q[i];
  for (const i of kept.ids) {
    const dev = Math.abs((counts.get(i) ?? 0) - (nDraws * kept.q[i]) / mass);
    expect(dev, `token ${i}`).toBeLessThanOrEqual(1 + (mismatchesAt.get(i) ?? 0) + 1e-9);
  }

  // Determinism: the same u gives the same token (other draws in between, reversed order).
  const some = us.filter((_, i) => i % Math.max(1, Math.floor(nDraws / 8)) === 0);
  const again = await draws(ctx, buf, { row, rowStride: stride, vocab, options }, [...some].reverse());
  expect(again.reverse()).toEqual(some.map((u) => got[us.indexOf(u)]));
}

describe('sample: greedy (temperature 0)', () => {
  it.each([1, 7, 1000, 5003])('argmax, vocab %i', async (vocab) => {
    const ctx = await gpuContext();
    const r = rng(vocab);
    const rows = 3;
    const logits = randn(r, rows * vocab, 4);
    const buf = ctx.upload('logits', logits);
    for (let row = 0; row < rows; row++) {
      const got = await draws(ctx, buf, { row, vocab, options: { temperature: 0 } }, [0.5]);
      expect(got[0]).toBe(argmax(logits, row * vocab, vocab));
    }
  });

  it.each([
    // vocab, tied ids (all set to the same largest logit)
    [7, [2, 6]],
    [7, [0, 1, 2, 3, 4, 5, 6]],
    [1000, [999, 700, 444, 300]], // in different threads' strides (id % 256)
    [1000, [600, 344, 88]], // all in one thread's stride (ids 256 apart)
    [5003, [5002, 4097, 257, 1]],
  ] as const)('ties go to the lowest id: vocab %i, tied %j', async (vocab, tied) => {
    const ctx = await gpuContext();
    const logits = randn(rng(vocab + tied.length), vocab, 2);
    for (const i of tied) logits[i] = 100;
    const got = await draws(ctx, ctx.upload('logits', logits), { row: 0, vocab, options: { temperature: 0 } }, [0.5]);
    expect(got[0]).toBe(Math.min(...tied));
  });

  it.each([
    // vocab, row stride
    [1, 4], [7, 8], [1000, 1024], [5003, 5120],
  ])('padded rows are never chosen: vocab %i, stride %i', async (vocab, stride) => {
    const ctx = await gpuContext();
    const r = rng(vocab * 3 + stride);
    const rows = 3;
    const logits = randn(r, rows * stride, 2);
    for (let row = 0; row < rows; row++) for (let i = vocab; i < stride; i++) logits[row * stride + i] = 1e30;
    const buf = ctx.upload('logits', logits);
    for (const row of [0, 2]) {
      const greedy = await draws(ctx, buf, { row, rowStride: stride, vocab, options: { temperature: 0 } }, [0.5]);
      expect(greedy[0]).toBe(argmax(logits, row * stride, vocab));
      // and with sampling on: every draw stays inside [0, vocab)
      const us = Array.from({ length: 12 }, (_, i) => (i + 0.5) / 12);
      const sampled = await draws(ctx, buf, { row, rowStride: stride, vocab, options: { temperature: 1.5 } }, us);
      for (const t of sampled) expect(t).toBeLessThan(vocab);
    }
  });
});

describe('sample: temperature > 0 is an exact inverse CDF over the kept set', () => {
  const cases: [number, SampleOptions, number, number][] = [
    // vocab, options, logit scale, draws
    [1, { temperature: 1 }, 1, 8],
    [1, { temperature: 0.7, topK: 5, topP: 0.5, minP: 0.3 }, 1, 8],
    [7, { temperature: 1 }, 1, 64],
    [7, { temperature: 0.7, topK: 3 }, 1, 32],
    [7, { temperature: 1, topP: 0.5 }, 1, 32],
    [7, { temperature: 1.3, minP: 0.2 }, 1, 32],
    [1000, { temperature: 1, topK: 1 }, 2, 8],
    [1000, { temperature: 1, topK: 50 }, 2, 32],
    [1000, { temperature: 0.8, topP: 0.9 }, 2, 64],
    [1000, { temperature: 1, minP: 0.1 }, 2, 32],
    [1000, { temperature: 0.5, topK: 20, topP: 0.8 }, 2, 32],
    [5003, { temperature: 1 }, 3, 64],
    [5003, { temperature: 1.2, topK: 40, topP: 0.95, minP: 0.05 }, 3, 200],
  ];
  it.each(cases)('vocab %i, %j, logit scale %i, %i draws', async (vocab, options, scale, nDraws) => {
    const ctx = await gpuContext();
    const r = rng(vocab * 7 + (options.topK ?? 0) * 13 + Math.round((options.topP ?? 1) * 100) + Math.round((options.minP ?? 0) * 1000) + options.temperature * 10);
    const stride = vocab + 3; // row 1 of 2, with padding that must be ignored
    const logits = randn(r, 2 * stride, scale);
    for (let i = vocab; i < stride; i++) logits[stride + i] = 1e30;
    await checkDraws(ctx, logits, stride, vocab, options, nDraws);
  });

  it.each([
    // vocab, options, fraction masked
    [1000, { temperature: 1 }, 0.9],
    [1000, { temperature: 0.7, topK: 30 }, 0.5],
    [5003, { temperature: 1, topP: 0.9 }, 0.99],
  ] as [number, SampleOptions, number][])('masked logits (-Infinity, as for allowedTokens) are never drawn: vocab %i, %j, %f masked', async (vocab, options, masked) => {
    const ctx = await gpuContext();
    const r = rng(vocab + Math.round(masked * 100));
    const logits = randn(r, vocab, 2);
    for (let i = 0; i < vocab; i++) if (r() < masked) logits[i] = -Infinity;
    const greedy = await draws(ctx, ctx.upload('logits', logits), { row: 0, vocab, options: { temperature: 0 } }, [0.5]);
    expect(greedy[0]).toBe(argmax(logits, 0, vocab));
    await checkDraws(ctx, logits, vocab, vocab, options, 32, 0);
  });

  it('extreme u: 0 gives the first kept token, the largest f32 below 1 the last one', async () => {
    const ctx = await gpuContext();
    const vocab = 1000;
    const logits = randn(rng(5), vocab, 2);
    const buf = ctx.upload('logits', logits);
    for (const options of [{ temperature: 1 }, { temperature: 0.9, topK: 17 }, { temperature: 1, topP: 0.7 }] as SampleOptions[]) {
      const kept = keptSet(logits, 0, vocab, options);
      const us = [0, 1 - 2 ** -24];
      const got = await draws(ctx, buf, { row: 0, vocab, options }, us);
      expect(expectedDraw(kept, us[0]).token).toBe(kept.ids[0]);
      expect(got[0]).toBe(kept.ids[0]);
      // u = 1 - 2^-24 lies within BOUNDARY of the end of the CDF: the last kept token, or one
      // of the tokens just before it whose shares are below that
      const last = expectedDraw(kept, us[1]);
      expect(last.near).toContain(kept.ids[kept.ids.length - 1]);
      expect(last.near).toContain(got[1]);
    }
  });
});
