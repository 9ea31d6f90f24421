// The vision tower's kernels against their f64 CPU references (test/reference/vl_ops.ts), on
// random inputs at odd shapes; outputs are poisoned with NaN before each run.
import { describe, expect, it } from 'vitest';
import { layerNorm } from '../../src/kernels/layernorm.js';
import { ropeHalf, visionRopeTable } from '../../src/kernels/rope_half.js';
import { rope } from '../../src/kernels/rope.js';
import { VISION_SCORES_BYTES, visionAttention, visionAttentionScratchBytes } from '../../src/kernels/vision_attention.js';
import { forceVariants } from '../../src/kernels/variants.js';
import { biasAct } from '../../src/kernels/bias_act.js';
import { mropeTable } from '../../src/model/ernie45_vl/rope3d.js';
import { maxAbsDiff } from '../reference/ops.js';
import * as vl from '../reference/vl_ops.js';
import { gpuContext, poisoned, randn, rng } from '../helpers/gpu.js';

function relErr(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let scale = 1e-6;
  for (let i = 0; i < want.length; i++) scale = Math.max(scale, Math.abs(want[i]));
  return maxAbsDiff(got, want) / scale;
}

describe('vision kernels vs CPU reference', () => {
  it.each([[1, 1], [3, 7], [5, 64], [2, 1000], [4, 1280], [300, 5]])('layernorm: %i rows x %i cols', async (rows, cols) => {
    const ctx = await gpuContext();
    const r = rng(rows * 17 + cols);
    const x = randn(r, rows * cols, 3).map((v) => v + 5); // an offset mean, as real activations have
    const w = randn(r, cols), b = randn(r, cols);
    const y = poisoned(ctx, 'y', rows * cols);
    layerNorm(ctx, { x: ctx.upload('x', x), w: ctx.upload('w', w), b: ctx.upload('b', b), y, rows, cols, eps: 1e-6 });
    const want = vl.layerNorm(x, w, b, rows, cols, 1e-6);
    // a 1-column row is all mean: (x - mean) is 0 and the output is the bias
    expect(relErr(await ctx.readF32(y, 0, rows * cols), want)).toBeLessThan(cols === 1 ? 1e-6 : 5e-6);
  });

  it.each([[1, 1, 8], [7, 4, 16], [48, 16, 80], [5, 3, 64]])('rope_half (vision 2D): %i patches, %i heads, dim %i, inside qk rows', async (N, heads, D) => {
    const ctx = await gpuContext();
    const r = rng(N + heads * 3 + D);
    const stride = 3 * heads * D; // q | k | v per row: turn q and k (2 * heads heads), leave v
    const x = randn(r, N * stride);
    const row = Int32Array.from({ length: N }, () => Math.floor(r() * 40)), col = Int32Array.from({ length: N }, () => Math.floor(r() * 40));
    const buf = ctx.upload('x', x);
    ropeHalf(ctx, { x: buf, cosSin: ctx.upload('cs', visionRopeTable(row, col, D, 10000)), T: N, heads: 2 * heads, headDim: D, rowStride: stride });
    const got = await ctx.readF32(buf, 0, N * stride);
    const want = Float64Array.from(x);
    for (const part of [0, 1]) {
      const sub = new Float64Array(N * heads * D);
      for (let n = 0; n < N; n++) sub.set(x.subarray(n * stride + part * heads * D, n * stride + (part + 1) * heads * D), n * heads * D);
      const rot = vl.rope2d(sub, N, heads, D, row, col, 10000);
      for (let n = 0; n < N; n++) want.set(rot.subarray(n * heads * D, (n + 1) * heads * D), n * stride + part * heads * D);
    }
    expect(maxAbsDiff(got, want)).toBeLessThan(2e-5);
  });

  it.each([[[6, 6, 4], 32], [[22, 22, 20], 128], [[2, 2, 12], 32]] as const)('rope with the 3D table (mrope_section %j, dim %i) equals the 3D reference', async (section, D) => {
    const ctx = await gpuContext();
    const r = rng(D + section[2]);
    const T = 9, heads = 3;
    const x = randn(r, T * heads * D);
    const pos = { t: [0, 1, 2, 3, 3, 3, 3, 5, 6], h: [0, 1, 2, 3, 3, 4, 4, 5, 6], w: [0, 1, 2, 3, 4, 3, 4, 5, 6] };
    const buf = ctx.upload('x', x);
    rope(ctx, { x: buf, cosSin: ctx.upload('cs', mropeTable(pos, D, 500000, [...section])), T, heads, headDim: D });
    expect(maxAbsDiff(await ctx.readF32(buf, 0, T * heads * D), vl.rope3d(x, T, heads, D, pos, [...section], 500000))).toBeLessThan(2e-5);
  });

  const attentionCases = [
    // n, segLen, heads, headDim, query chunk, variant, the blocked variant's scores cap (bytes)
    [1, 1, 1, 16, 1, 'fused', 0], [12, 12, 4, 16, 12, 'fused', 0], [70, 70, 2, 80, 70, 'fused', 0], [130, 65, 3, 64, 130, 'fused', 0],
    [100, 37, 2, 16, 23, 'fused', 0], [200, 200, 1, 128, 64, 'fused', 0],
    [1, 1, 1, 16, 1, 'blocked', 0], [12, 12, 4, 16, 12, 'blocked', 0], [70, 70, 2, 80, 70, 'blocked', 0], [130, 65, 3, 64, 130, 'blocked', 0],
    [100, 37, 2, 16, 23, 'blocked', 0], [200, 200, 1, 128, 64, 'blocked', 0],
    // scores chunks of 4 and 8 queries (2 heads x 4 x 72 floats, 3 heads x 8 x 68 floats)
    [70, 70, 2, 80, 70, 'blocked', 2 * 4 * 72 * 4], [130, 65, 3, 64, 130, 'blocked', 3 * 8 * 68 * 4 + 100],
  ] as const;
  it.each(attentionCases)('vision_attention: %i tokens, segments of %i, %i heads, dim %i, queries in chunks of %i, %s (scores cap %i)', async (n, segLen, heads, D, chunk, variant, cap) => {
    const ctx = await gpuContext();
    const r = rng(n * 7 + segLen + heads + D);
    const q = randn(r, n * heads * D), k = randn(r, n * heads * D), v = randn(r, n * heads * D);
    const segments = [];
    for (let s = 0; s < n; s += segLen) segments.push(s);
    segments.push(n);
    const want = vl.segmentAttention(q, k, v, n, heads, D, segments);
    const kb = ctx.upload('k', k), vb = ctx.upload('v', v);
    const got = new Float32Array(n * heads * D);
    for (let q0 = 0; q0 < n; q0 += chunk) {
      const Tq = Math.min(chunk, n - q0);
      const out = poisoned(ctx, 'out', Tq * heads * D);
      visionAttention(ctx, { q: ctx.upload('q', q.subarray(q0 * heads * D, (q0 + Tq) * heads * D)), k: kb, v: vb, out, Tq, q0, n, heads, headDim: D, segLen, variant, maxScoresBytes: cap || undefined });
      got.set(await ctx.readF32(out, 0, Tq * heads * D), q0 * heads * D);
    }
    expect(maxAbsDiff(got, want)).toBeLessThan(2e-5);
  });

  it('vision_attention follows the prefill variant; the blocked scores of a 6,000-token image stay under 32 MiB', async () => {
    const ctx = await gpuContext();
    const shape = { Tq: 6000, n: 6000, heads: 16, headDim: 80, segLen: 6000 };
    const before = forceVariants(ctx, { prefill: 'workgroup_tiled' });
    try {
      expect(visionAttentionScratchBytes(ctx, shape)).toBe(0); // fused: no scratch
      forceVariants(ctx, { prefill: 'blocked' });
      const bytes = visionAttentionScratchBytes(ctx, shape);
      expect(bytes).toBeGreaterThan(0);
      expect(bytes).toBeLessThanOrEqual(VISION_SCORES_BYTES);
      expect(visionAttentionScratchBytes(ctx, { ...shape, headDim: 18 })).toBe(0); // head_dim % 4 != 0: fused
    } finally {
      forceVariants(ctx, before);
    }
  });

  it.each([['none', 3, 5], ['quick_gelu', 7, 129], ['gelu_erf', 4, 300], ['gelu_erf', 1, 1]] as const)('bias_act %s: %i rows x %i cols', async (act, rows, cols) => {
    const ctx = await gpuContext();
    const r = rng(rows * cols + act.length);
    const x = randn(r, rows * cols, 3), b = randn(r, cols);
    const buf = ctx.upload('x', x);
    biasAct(ctx, { x: buf, b: ctx.upload('b', b), rows, cols, act });
    const f = act === 'none' ? (z: number) => z : act === 'quick_gelu' ? vl.quickGelu : vl.geluErf;
    const want = Float64Array.from(x, (z, i) => f(z + b[i % cols]));
    expect(maxAbsDiff(await ctx.readF32(buf, 0, rows * cols), want)).toBeLessThan(1e-5);
  });
});

describe('CPU reference pieces', () => {
  it('erf matches known values to 1e-14', () => {
    const known: Array<[number, number]> = [[0, 0], [0.5, 0.5204998778130465], [1, 0.8427007929497149], [2, 0.9953222650189527], [3.5, 0.9999992569016276], [-1.5, -0.9661051464753108]];
    for (const [x, e] of known) expect(Math.abs(vl.erf(x) - e)).toBeLessThan(1e-14);
  });

  it('the 3D table with t = h = w is the 1D RoPE table', async () => {
    const { ropeTable } = await import('../../src/kernels/rope.js');
    const p = [0, 5, 17, 4000];
    expect(Array.from(mropeTable({ t: p, h: p, w: p }, 32, 500000, [6, 6, 4]))).toEqual(Array.from(ropeTable(p, 32, 500000)));
  });
});
