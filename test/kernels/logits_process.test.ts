// Penalties, logit_bias and the allowed-token mask against a CPU reference; and the GPU
// LanguageModel (forward + processing + sampling) on the tiny fixture.
import { describe, expect, it } from 'vitest';
import { allowedBitmask, logitsMask, logitsPenalty, penaltyEntries, type LogitAdjustments } from '../../src/kernels/logits_process.js';
import { GpuLanguageModel } from '../../src/engine/gpu_model.js';
import { loadErnieFromFolder } from '../../src/model/ernie45/load.js';
import { gpuContext, randn, rng } from '../helpers/gpu.js';
import { TINY, nodeFolder, readTinyReference } from '../helpers/fixtures.js';
import type { SampleStep } from '../../src/engine/language_model.js';

function cpuPenalty(logits: Float32Array, a: LogitAdjustments): Float64Array {
  const out = Float64Array.from(logits);
  const counts = new Map<number, number>();
  for (const id of a.penaltyTokens) counts.set(id, (counts.get(id) ?? 0) + 1);
  for (const [id, c] of counts) {
    let l = out[id];
    l = l > 0 ? l / a.repetitionPenalty : l * a.repetitionPenalty;
    out[id] = l - a.frequencyPenalty * c - a.presencePenalty;
  }
  for (const [id, b] of a.logitBias) out[id] += b;
  return out;
}

const greedy: Omit<SampleStep, 'u'> = {
  temperature: 0, topK: 0, topP: 1, minP: 0, repetitionPenalty: 1, frequencyPenalty: 0, presencePenalty: 0, penaltyTokens: [], logitBias: new Map(),
};

describe('logit processing', () => {
  it.each([[1000, 0], [5003, 1], [7, 2]])('penalties + logit_bias, vocab %i (seed %i)', async (V, seed) => {
    const ctx = await gpuContext();
    const r = rng(seed + 100);
    const logits = randn(r, V, 3);
    const tokens = Array.from({ length: 40 }, () => Math.floor(r() * Math.min(V, 50)));
    const adj: LogitAdjustments = {
      repetitionPenalty: 1.3, frequencyPenalty: 0.2, presencePenalty: 0.5, penaltyTokens: tokens,
      logitBias: new Map([[0, -100], [V - 1, 5], [tokens[0], 1.5]]),
    };
    const buf = ctx.upload('logits', logits);
    const entries = penaltyEntries(adj, V);
    logitsPenalty(ctx, { logits: buf, rowOffset: 0, entries: ctx.upload('e', entries), count: entries.length / 4, adj });
    const got = await ctx.readF32(buf, 0, V);
    const want = cpuPenalty(logits, adj);
    for (let i = 0; i < V; i++) expect(got[i]).toBeCloseTo(want[i], 4);
  });

  it('mask: masked tokens are never chosen, even the best one', async () => {
    const ctx = await gpuContext();
    const V = 777;
    const r = rng(3);
    const logits = randn(r, V);
    const allowed = [5, 17, 400, 776];
    const buf = ctx.upload('logits', logits);
    logitsMask(ctx, { logits: buf, rowOffset: 0, allowed: ctx.upload('m', allowedBitmask(allowed, V)), vocab: V });
    const got = await ctx.readF32(buf, 0, V);
    for (let i = 0; i < V; i++) {
      if (allowed.includes(i)) expect(got[i]).toBe(logits[i]);
      else expect(got[i]).toBeLessThan(-1e38);
    }
  });
});

describe('GpuLanguageModel on the tiny fixture', () => {
  it('greedy continuation, prefix truncation, bias and mask', async () => {
    const ctx = await gpuContext();
    const { forward } = await loadErnieFromFolder(ctx, nodeFolder(TINY));
    const lm = new GpuLanguageModel(ctx, forward);
    const ref = readTinyReference();
    await lm.forward(ref.prompts[1]);
    expect(await lm.sample({ ...greedy, u: 0 })).toBe(ref.greedy[1][0]);
    // sampling does not consume the logits: the same call gives the same token
    expect(await lm.sample({ ...greedy, u: 0 })).toBe(ref.greedy[1][0]);
    // a bias can force any token; a mask can forbid the greedy one
    expect(await lm.sample({ ...greedy, u: 0, logitBias: new Map([[42, 1000]]) })).toBe(42);
    const forbidden = ref.greedy[1][0];
    const allowed = Uint32Array.from({ length: 2048 }, (_, i) => i).filter((i) => i !== forbidden);
    expect(await lm.sample({ ...greedy, u: 0, allowedTokens: allowed })).not.toBe(forbidden);
    // the same as a bitmask (what constrained decoding passes): only the allowed id can come out
    const only = (ref.greedy[1][0] + 7) % 2048;
    const bits = new Uint32Array(64);
    bits[only >>> 5] = 1 << (only & 31);
    expect(await lm.sample({ ...greedy, u: 0, allowedMask: bits })).toBe(only);
    await expect(lm.sample({ ...greedy, u: 0, allowedMask: new Uint32Array(64) })).rejects.toThrow(/allowedMask is empty/);
    // truncate to a prefix and recompute the rest: same next token as before
    lm.truncate(3);
    expect(lm.cachedTokens()).toEqual(ref.prompts[1].slice(0, 3));
    await lm.forward(ref.prompts[1].slice(3));
    expect(await lm.sample({ ...greedy, u: 0 })).toBe(ref.greedy[1][0]);
    expect(lm.contextLength).toBeGreaterThan(1000);
  });
});
