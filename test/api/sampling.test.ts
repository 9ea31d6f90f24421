import { describe, expect, it } from 'vitest';
import type { SampleStep } from '../../src/engine/language_model';
import { processLogits, sampleLogits } from '../../src/sampling/cpu_sampler';
import { Rng, randomSeed } from '../../src/sampling/rng';
import { StopMatcher } from '../../src/sampling/stop';

describe('Rng', () => {
  it('gives the same stream for the same seed, another for another seed', () => {
    const take = (seed: number) => {
      const r = new Rng(seed);
      return Array.from({ length: 64 }, () => r.nextU32());
    };
    expect(take(42)).toEqual(take(42));
    expect(take(42)).not.toEqual(take(43));
    expect(take(0)).not.toEqual(take(2 ** 32)); // bits above 31 count
    expect(take(-1)).not.toEqual(take(1));
  });

  it('draws f32-exact uniforms in [0, 1) with a sane mean', () => {
    const r = new Rng(7);
    let sum = 0;
    for (let i = 0; i < 20000; i++) {
      const u = r.uniform();
      expect(u >= 0 && u < 1).toBe(true);
      expect(Math.fround(u)).toBe(u);
      sum += u;
    }
    expect(Math.abs(sum / 20000 - 0.5)).toBeLessThan(0.01);
  });

  it('is pinned: the first draws of seed 1 do not change between releases', () => {
    const r = new Rng(1);
    const first = [r.nextU32(), r.nextU32(), r.nextU32()];
    const again = new Rng(1);
    expect([again.nextU32(), again.nextU32(), again.nextU32()]).toEqual(first);
    expect(Number.isSafeInteger(randomSeed())).toBe(true);
    expect(() => new Rng(1.5)).toThrow(RangeError);
  });
});

describe('StopMatcher', () => {
  /** Feeds `pieces`; returns the emitted text and whether it stopped. */
  const run = (stops: string[], pieces: string[]) => {
    const m = new StopMatcher(stops);
    let out = '';
    let stopped = false;
    const held: string[] = [];
    for (const p of pieces) {
      const r = m.push(p);
      out += r.text;
      held.push(m.pending);
      if (r.stopped) {
        stopped = true;
        break;
      }
    }
    if (!stopped) out += m.flush();
    return { out, stopped, held };
  };

  it('cuts exactly before a stop string that spans pieces', () => {
    const r = run(['</end>'], ['Hello wor', 'ld</', 'en', 'd> and more', 'text']);
    expect(r).toMatchObject({ out: 'Hello world', stopped: true });
  });

  it('holds back only the tail that could begin a stop string', () => {
    const r = run(['STOP'], ['abc S', 'T', 'x', 'yz']);
    expect(r.held).toEqual(['S', 'ST', '', '']);
    expect(r.out).toBe('abc STxyz');
    expect(r.stopped).toBe(false);
  });

  it('picks the earliest of several stop strings', () => {
    expect(run(['world', 'lo w'], ['hello world']).out).toBe('hel');
    expect(run(['b', 'abc'], ['xab', 'c']).out).toBe('xa');
  });

  it('matches what cutting the whole text would give, for any split', () => {
    const r = new Rng(3);
    const alphabet = 'ab<>/ 中🙂';
    const chars = [...alphabet];
    for (let trial = 0; trial < 500; trial++) {
      const len = 1 + (r.nextU32() % 30);
      const text = Array.from({ length: len }, () => chars[r.nextU32() % chars.length]).join('');
      const stops = Array.from({ length: 1 + (r.nextU32() % 3) }, () =>
        Array.from({ length: 1 + (r.nextU32() % 3) }, () => chars[r.nextU32() % chars.length]).join(''),
      );
      const cut = Math.min(...stops.map((s) => (text.indexOf(s) < 0 ? Infinity : text.indexOf(s))));
      const expected = cut === Infinity ? text : text.slice(0, cut);
      // split into random pieces on character boundaries
      const cps = [...text];
      const pieces: string[] = [];
      for (let i = 0; i < cps.length; ) {
        const n = 1 + (r.nextU32() % 4);
        pieces.push(cps.slice(i, i + n).join(''));
        i += n;
      }
      const got = run(stops, pieces);
      expect(got.out).toBe(expected);
      expect(got.stopped).toBe(cut !== Infinity);
    }
  });

  it('refuses empty stop strings', () => {
    expect(() => new StopMatcher([''])).toThrow(RangeError);
  });
});

describe('CPU sampler (SampleStep semantics)', () => {
  const base: SampleStep = {
    temperature: 1, topK: 0, topP: 1, minP: 0, u: 0.5,
    repetitionPenalty: 1, frequencyPenalty: 0, presencePenalty: 0, penaltyTokens: [], logitBias: new Map(),
  };
  const logits = [1, 3, 3, 0.5, 2, -1];

  it('greedy takes the lowest id among the best', () => {
    expect(sampleLogits(logits, 6, { ...base, temperature: 0 })).toBe(1);
  });

  it('ids at or above vocab are never chosen', () => {
    expect(sampleLogits([0, 0, 9], 2, { ...base, temperature: 0 })).toBe(0);
  });

  it('top_k = 1 and a tiny top_p are greedy whatever u is', () => {
    for (const u of [0, 0.3, 0.999]) {
      expect(sampleLogits([1, 4, 3, 2], 4, { ...base, topK: 1, u })).toBe(1);
      expect(sampleLogits([1, 5, 2], 3, { ...base, topP: 0.01, u })).toBe(1);
    }
  });

  it('draws in id order over the kept mass', () => {
    // probs of [0, 0] at T=1 are equal: u < 0.5 -> 0, else 1
    expect(sampleLogits([0, 0], 2, { ...base, u: 0.49 })).toBe(0);
    expect(sampleLogits([0, 0], 2, { ...base, u: 0.51 })).toBe(1);
    // top_k 2 keeps ids 1 and 2 (both 3): u splits them
    expect(sampleLogits(logits, 6, { ...base, topK: 2, u: 0.25 })).toBe(1);
    expect(sampleLogits(logits, 6, { ...base, topK: 2, u: 0.75 })).toBe(2);
  });

  it('min_p drops tokens far below the best', () => {
    // relative probabilities: id 4 has e^-1 = 0.37, id 0 e^-2 = 0.14
    const kept = (minP: number) => {
      const seen = new Set<number>();
      for (let i = 0; i < 100; i++) seen.add(sampleLogits(logits, 6, { ...base, minP, u: i / 100 }));
      return [...seen].sort();
    };
    expect(kept(0.3)).toEqual([1, 2, 4]);
    expect(kept(0.5)).toEqual([1, 2]);
  });

  it('applies logit_bias, the allowed set and penalties', () => {
    const p = processLogits(logits, 6, { ...base, logitBias: new Map([[0, 10]]), allowedTokens: Uint32Array.of(0, 3, 4) });
    expect([...p]).toEqual([11, -Infinity, -Infinity, 0.5, 2, -Infinity]);
    // The same set as a bitmask (TokenTable.allowedMask), alone and with a list (both must allow).
    const bits = Uint32Array.of((1 << 0) | (1 << 3) | (1 << 4));
    expect([...processLogits(logits, 6, { ...base, logitBias: new Map([[0, 10]]), allowedMask: bits })]).toEqual([11, -Infinity, -Infinity, 0.5, 2, -Infinity]);
    expect([...processLogits(logits, 6, { ...base, allowedMask: bits, allowedTokens: Uint32Array.of(1, 3) })]).toEqual([-Infinity, -Infinity, -Infinity, 0.5, -Infinity, -Infinity]);
    const pen = processLogits([2, -2, 1], 3, { ...base, repetitionPenalty: 2, frequencyPenalty: 0.5, presencePenalty: 0.25, penaltyTokens: [0, 0, 1] });
    expect([...pen]).toEqual([2 / 2 - 2 * 0.5 - 0.25, -2 * 2 - 0.5 - 0.25, 1]);
  });
});
