// expertCache budgets (no GPU): the documented default and the per-layer / percentage forms.
import { describe, expect, it } from 'vitest';
import { allExpertBytes, defaultGpuExpertBytes, expertsToBytes, resolveBudget } from '../../src/experts/budget.js';
import { type ExpertSource, expertSets } from '../../src/experts/source.js';

// 21B-A3B at q4_k: 27 MoE layers x 64 experts of 6,635,520 bytes
const src: ExpertSource = {
  layers: Array.from({ length: 27 }, (_, i) => i + 1),
  experts: 64,
  topK: 6,
  format: () => ({ gateUp: { dtype: 'q4_k', rows: 3072, cols: 2560 }, down: { dtype: 'q4_k', rows: 2560, cols: 1536 } }),
  read: () => Promise.reject(new Error('not read')),
};

describe('expert budgets', () => {
  it('21B-A3B q4 experts take 11.5 GB; the default budget is 8 x maxBufferSize, or all of them when they fit', () => {
    expect(allExpertBytes(src)).toBe(27 * 64 * 6_635_520);
    expect(defaultGpuExpertBytes({ maxBufferSize: 256 * 2 ** 20 }, allExpertBytes(src))).toBe(2 * 2 ** 30);
    expect(defaultGpuExpertBytes({ maxBufferSize: 2 * 2 ** 30 }, allExpertBytes(src))).toBe(allExpertBytes(src));
    expect(resolveBudget({}, src, { maxBufferSize: 256 * 2 ** 20 })).toEqual({ gpuBytes: 2 * 2 ** 30, ramBytes: 512 * 2 ** 20 });
  });

  it('counts per layer and percentages become bytes', () => {
    expect(expertsToBytes(6, src, 'x')).toBe(6 * 27 * 6_635_520);
    expect(expertsToBytes('6', src, 'x')).toBe(6 * 27 * 6_635_520);
    expect(expertsToBytes('25%', src, 'x')).toBe(432 * 6_635_520);
    expect(expertsToBytes('100%', src, 'x')).toBe(allExpertBytes(src));
    expect(expertsToBytes(1000, src, 'x')).toBe(allExpertBytes(src));
    expect(() => expertsToBytes('half', src, 'expertCache.gpuExperts')).toThrow(/expertCache.gpuExperts: "half" is neither/);
    expect(() => resolveBudget({ gpuBytes: -1 }, src, { maxBufferSize: 1 })).toThrow(/gpuBytes must be a non-negative/);
  });

  it('a VL source has two expert sets per layer (vision experts of their own width): bytes and per-layer counts cover both', async () => {
    const fmt = (inter: number) => ({ gateUp: { dtype: 'f32' as const, rows: 2 * inter, cols: 128 }, down: { dtype: 'f32' as const, rows: 128, cols: inter } });
    const one = (inter: number, tag: string): ExpertSource => ({
      layers: [1, 2], experts: 16, topK: 4, format: () => fmt(inter),
      read: async (layer, e) => ({ gateUp: new TextEncoder().encode(`${tag} ${layer}/${e}`), down: new Uint8Array(0) }),
    });
    const vl = expertSets([one(32, 'text'), one(16, 'vision')]);
    expect(vl.sets).toBe(2);
    expect(vl.format(1, 1)).toEqual(fmt(16));
    const text = 3 * 32 * 128 * 4, vision = 3 * 16 * 128 * 4; // bytes of one expert of each set
    expect(allExpertBytes(vl)).toBe(2 * 16 * (text + vision));
    // 4 per layer and set: a quarter of all experts
    expect(expertsToBytes(4, vl, 'x')).toBe(allExpertBytes(vl) / 4);
    // experts are numbered across a layer's sets, as the package's shards are: 16 + e is vision expert e
    expect(new TextDecoder().decode((await vl.read(2, 3)).gateUp)).toBe('text 2/3');
    expect(new TextDecoder().decode((await vl.read(2, 16 + 3)).gateUp)).toBe('vision 2/3');
    expect(() => expertSets([one(32, 'a'), { ...one(16, 'b'), experts: 8 }])).toThrow(/same layers, expert count and top-k/);
  });
});
