// expertCache budgets (no GPU): the documented default and the per-layer / percentage forms.
import { describe, expect, it } from 'vitest';
import { allExpertBytes, defaultGpuExpertBytes, expertsToBytes, resolveBudget } from '../../src/experts/budget.js';
import type { ExpertSource } from '../../src/experts/source.js';

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
});
