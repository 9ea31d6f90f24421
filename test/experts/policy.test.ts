// Eviction policies and the trace simulator (no GPU): each policy's choice on a hand-made case,
// and the claims BENCHMARKS.md makes from bench:cache on a (smaller) synthetic trace.
import { describe, expect, it } from 'vitest';
import { LayeredPolicy, LfuDecayPolicy, LruPolicy } from '../../src/experts/policy.js';
import { simulate, syntheticTrace } from '../../src/experts/simulate.js';

describe('policies', () => {
  const g = { layers: 4, experts: 8 };
  it('LRU evicts the least recently used', () => {
    const p = new LruPolicy(g);
    [3, 9, 17].forEach((k, i) => p.touch(k, i));
    p.touch(3, 5);
    expect(p.victim([3, 9, 17])).toBe(9);
  });

  it('LFU with decay evicts the lowest decayed count, so old popularity fades', () => {
    const p = new LfuDecayPolicy(g, 1);
    for (let t = 0; t < 5; t++) p.touch(1, t); // popular long ago
    p.touch(2, 200);
    p.touch(3, 201);
    p.touch(3, 202);
    expect(p.victim([1, 2, 3], 0, 203)).toBe(1);
    expect(p.victim([2, 3], 0, 203)).toBe(2);
  });

  it('layered keeps the next layer\'s reused experts and evicts an expert its layer just dropped', () => {
    const p = new LayeredPolicy(g);
    const E = g.experts;
    let now = 0;
    // two tokens where every layer reuses expert 0 and picks 1 then 2
    for (let t = 0; t < 2; t++) {
      for (let l = 0; l < g.layers; l++) {
        const chosen = [l * E + 0, l * E + 1 + t];
        p.visit(l, chosen, now);
        chosen.forEach((k) => p.touch(k, now));
        now++;
      }
    }
    // serving layer 2 of token 3 (it chose 0 and 3): candidates are layer 1's just-used expert 0
    // (needed in 3 visits), layer 3's expert 0 (reused every token, needed next) and layer 2's
    // expert 2 (chosen last time, dropped now)
    p.visit(2, [2 * E + 0, 2 * E + 3], now);
    expect(p.victim([1 * E + 0, 3 * E + 0, 2 * E + 2], 2, now)).toBe(2 * E + 2);
    expect(p.victim([1 * E + 0, 3 * E + 0], 2, now)).toBe(1 * E + 0);
  });
});

describe('simulator', () => {
  const trace = syntheticTrace({ layers: 27, experts: 64, topK: 6, tokens: 120, seed: 3, skew: 1, reuse: 0.5, correlation: 0.3, predictAccuracy: 0.8 });
  const all = 27 * 64;

  it('with every expert resident nothing moves and a token needs one readback (the sampled id)', () => {
    const r = simulate(trace, { slots: all, policy: 'layered', prefetch: false, warmup: 20 });
    expect(r.uploadsPerToken).toBe(0);
    expect(r.hitRate).toBe(1);
    expect(r.readbacksPerToken).toBe(1);
  });

  it('at 25%: layered uploads fewer experts per token than LRU and LFU, and no policy beats Belady', () => {
    const run = (policy: 'lru' | 'lfu' | 'layered' | 'belady') => simulate(trace, { slots: all / 4, policy, prefetch: false, warmup: 20 }).uploadsPerToken;
    const lru = run('lru'), lfu = run('lfu'), layered = run('layered'), belady = run('belady');
    expect(layered).toBeLessThan(lru);
    expect(layered).toBeLessThan(lfu);
    expect(belady).toBeLessThanOrEqual(layered);
    expect(simulate(trace, { slots: all / 4, policy: 'lru', prefetch: false, warmup: 20 }).readbacksPerToken).toBe(28);
  });

  it('prefetch raises the hit rate and costs uploads; its recall is the predictor\'s accuracy', () => {
    const off = simulate(trace, { slots: all / 4, policy: 'layered', prefetch: false, warmup: 20 });
    const on = simulate(trace, { slots: all / 4, policy: 'layered', prefetch: true, warmup: 20 });
    expect(on.hitRate).toBeGreaterThan(off.hitRate);
    expect(on.uploadsPerToken).toBeGreaterThan(off.uploadsPerToken);
    expect(on.prefetchPrecision).toBeGreaterThan(0);
    expect(on.prefetchPrecision).toBeLessThanOrEqual(1);
    expect(on.prefetchRecall).toBeGreaterThan(0.7);
    expect(on.prefetchRecall).toBeLessThan(0.9);
  });

  it('at 25%: layered + prefetch keeps at most half of LRU\'s bytes on the critical path, but moves more in total, and no policy moves fewer in total than Belady', () => {
    const lru = simulate(trace, { slots: all / 4, policy: 'lru', prefetch: false, warmup: 20 });
    const ours = simulate(trace, { slots: all / 4, policy: 'layered', prefetch: true, warmup: 20 });
    const belady = simulate(trace, { slots: all / 4, policy: 'belady', prefetch: false, warmup: 20 });
    expect(lru.demandPerToken).toBe(lru.uploadsPerToken);
    expect(ours.demandPerToken).toBeLessThanOrEqual(lru.uploadsPerToken / 2);
    expect(ours.uploadsPerToken).toBeGreaterThan(lru.uploadsPerToken / 2);
    expect(belady.uploadsPerToken).toBeGreaterThan(lru.uploadsPerToken / 2);
    expect(ours.uploadsPerToken).toBeGreaterThanOrEqual(belady.uploadsPerToken);
    // uniform routing (nothing to learn): prefetch still takes most bytes off the critical path
    const uniform = syntheticTrace({ layers: 27, experts: 64, topK: 6, tokens: 60, seed: 3, skew: 0, reuse: 0, correlation: 0, predictAccuracy: 0.8 });
    const u = (policy: 'lru' | 'layered', prefetch: boolean) => simulate(uniform, { slots: all / 4, policy, prefetch, warmup: 20 });
    expect(u('layered', true).demandPerToken).toBeLessThanOrEqual(u('lru', false).uploadsPerToken / 2);
  });
});
