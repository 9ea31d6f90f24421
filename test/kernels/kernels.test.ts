// Every WGSL kernel against its f64 CPU reference (test/reference/ops.ts), on fresh random
// inputs at several shapes, including sizes that are not multiples of the workgroup size.
// Outputs are poisoned with NaN before each run.
import { describe, expect, it } from 'vitest';
import type { GpuContext } from '../../src/gpu/context.js';
import { embedding } from '../../src/kernels/embedding.js';
import { rmsnorm } from '../../src/kernels/rmsnorm.js';
import { matmul } from '../../src/kernels/matmul.js';
import { rope, ropeTable } from '../../src/kernels/rope.js';
import { attention } from '../../src/kernels/attention.js';
import { siluMul } from '../../src/kernels/silu_mul.js';
import type { GpuWeight } from '../../src/kernels/common.js';
import * as ref from '../reference/ops.js';
import { f32ToF16Bits, gpuContext, poisoned, randn, rng } from '../helpers/gpu.js';

/** Relative max error, scaled by the reference's magnitude. */
function relErr(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let scale = 1e-6;
  for (let i = 0; i < want.length; i++) scale = Math.max(scale, Math.abs(want[i]));
  return ref.maxAbsDiff(got, want) / scale;
}

function f16Round(a: Float32Array): { bits: Uint16Array; values: Float32Array } {
  const bits = new Uint16Array(a.length);
  const values = new Float32Array(a.length);
  const tmp = new Float32Array(1);
  for (let i = 0; i < a.length; i++) {
    bits[i] = f32ToF16Bits(a[i]);
    // decode back for the reference
    const h = bits[i], s = h & 0x8000 ? -1 : 1, e = (h >> 10) & 31, m = h & 1023;
    tmp[0] = e === 0 ? s * m * 2 ** -24 : s * (1 + m / 1024) * 2 ** (e - 15);
    values[i] = tmp[0];
  }
  return { bits, values };
}

function weight(ctx: GpuContext, values: Float32Array, rows: number, cols: number, dtype: 'f32' | 'f16'): { w: GpuWeight; values: Float32Array } {
  if (dtype === 'f32') return { w: { buffer: ctx.upload('w', values), dtype, rows, cols }, values };
  const { bits, values: rounded } = f16Round(values);
  return { w: { buffer: ctx.upload('w16', bits), dtype, rows, cols }, values: rounded };
}

describe('kernels vs CPU reference', () => {
  it.each([
    [1, 7, 'f32'], [5, 300, 'f32'], [3, 129, 'f16'], [2, 64, 'f16'],
  ] as const)('embedding: %i tokens, hidden %i, %s table', async (tokens, hidden, dtype) => {
    const ctx = await gpuContext();
    const r = rng(tokens * 1000 + hidden);
    const vocab = 37;
    const { w, values } = weight(ctx, randn(r, vocab * hidden), vocab, hidden, dtype);
    const ids = Array.from({ length: tokens }, () => Math.floor(r() * vocab));
    const out = poisoned(ctx, 'out', tokens * hidden);
    embedding(ctx, { table: w, ids: ctx.upload('ids', new Uint32Array(ids)), out, tokens });
    const got = await ctx.readF32(out, 0, tokens * hidden);
    expect(ref.maxAbsDiff(got, ref.embedding(values, hidden, ids))).toBe(0);
  });

  it.each([[1, 1], [3, 7], [4, 128], [2, 1000], [1, 2560]])('rmsnorm: %i rows x %i cols', async (rows, cols) => {
    const ctx = await gpuContext();
    const r = rng(rows * 31 + cols);
    const x = randn(r, rows * cols, 3), w = randn(r, cols);
    const y = poisoned(ctx, 'y', rows * cols);
    rmsnorm(ctx, { x: ctx.upload('x', x), w: ctx.upload('w', w), y, rows, cols, eps: 1e-5 });
    const got = await ctx.readF32(y, 0, rows * cols);
    expect(relErr(got, ref.rmsnorm(x, w, rows, cols, 1e-5))).toBeLessThan(2e-6);
  });

  const matmulCases = [
    // tokens, K, N, dtype, kernel
    [1, 1, 1, 'f32', 'matvec'], [1, 128, 2048, 'f32', 'matvec'], [3, 67, 45, 'f32', 'matvec'], [8, 130, 17, 'f16', 'matvec'],
    [1, 96, 48, 'f16', 'matvec'], [1, 128, 2048, 'f32', 'matvec_subgroup'], [3, 68, 45, 'f16', 'matvec_subgroup'], [8, 132, 17, 'f32', 'matvec_subgroup'],
    [1, 2560, 300, 'f16', 'matvec_subgroup'], [2, 36, 5, 'f32', 'matvec_subgroup'], [9, 33, 70, 'f32', 'tiled'], [65, 128, 130, 'f32', 'tiled'], [7, 48, 96, 'f16', 'tiled'], [1, 5, 3, 'f32', 'tiled'],
    [9, 33, 70, 'f32', 'workgroup_tiled'], [65, 128, 130, 'f32', 'workgroup_tiled'], [7, 48, 96, 'f16', 'workgroup_tiled'], [1, 5, 3, 'f32', 'workgroup_tiled'],
    [40, 100, 200, 'f16', 'workgroup_tiled'], [33, 2560, 65, 'f32', 'workgroup_tiled'],
    // 'tiled' with K % 4 == 0 runs matmul_k4.wgsl: partial token and row blocks, one row, one token
    [6, 588, 257, 'f16', 'tiled'], [70, 12, 1, 'f32', 'tiled'], [1, 4, 9, 'f16', 'tiled'],
    // 'tiled_subgroup' (matmul_k4_subgroup.wgsl; K % 4 != 0 falls back to matmul.wgsl)
    [9, 36, 70, 'f32', 'tiled_subgroup'], [65, 128, 130, 'f32', 'tiled_subgroup'], [7, 48, 96, 'f16', 'tiled_subgroup'], [1, 4, 9, 'f16', 'tiled_subgroup'],
    [17, 588, 257, 'f16', 'tiled_subgroup'], [70, 12, 1, 'f32', 'tiled_subgroup'], [9, 33, 70, 'f32', 'tiled_subgroup'],
  ] as const;
  it.each(matmulCases)('matmul: %i tokens, K %i, N %i, %s weights, %s kernel', async (T, K, N, dtype, kernel) => {
    const ctx = await gpuContext();
    const r = rng(T * 7 + K * 13 + N);
    const x = randn(r, T * K);
    const { w, values } = weight(ctx, randn(r, N * K, 0.1), N, K, dtype);
    const want = ref.matmul(x, values, T, K, N);
    const y = poisoned(ctx, 'y', T * N);
    matmul(ctx, { x: ctx.upload('x', x), w, y, tokens: T, kernel });
    expect(relErr(await ctx.readF32(y, 0, T * N), want)).toBeLessThan(1e-5);
    // accumulate: y += x·Wᵀ on top of the previous result
    matmul(ctx, { x: ctx.upload('x', x), w, y, tokens: T, kernel, accumulate: true });
    expect(relErr(await ctx.readF32(y, 0, T * N), want.map((v) => 2 * v))).toBeLessThan(1e-5);
  });

  it.each([[1, 4, 32, 0], [5, 2, 32, 7], [3, 20, 128, 1000], [2, 3, 6, 4095]])('rope: T %i, heads %i, dim %i, start %i', async (T, heads, D, start) => {
    const ctx = await gpuContext();
    const r = rng(T + heads + D + start);
    const x = randn(r, T * heads * D);
    const positions = Array.from({ length: T }, (_, i) => start + i);
    const buf = ctx.upload('x', x);
    rope(ctx, { x: buf, cosSin: ctx.upload('cs', ropeTable(positions, D, 500000)), T, heads, headDim: D });
    const got = await ctx.readF32(buf, 0, T * heads * D);
    expect(ref.maxAbsDiff(got, ref.rope(x, T, heads, D, positions, 500000))).toBeLessThan(5e-6 * 4);
  });

  const attentionCases = [
    // T, start, heads, kvHeads, headDim
    [1, 0, 4, 2, 32], [7, 0, 4, 2, 32], [1, 70, 4, 4, 32], [5, 130, 6, 2, 48], [33, 0, 2, 1, 128], [3, 10, 20, 4, 128], [2, 1, 1, 1, 256],
  ] as const;
  it.each(attentionCases)('attention: T %i, start %i, heads %i/%i, dim %i', async (T, start, H, KVH, D) => {
    const ctx = await gpuContext();
    const r = rng(T * 3 + start + H * 5 + D);
    const S = start + T;
    const q = randn(r, T * H * D), k = randn(r, S * KVH * D), v = randn(r, S * KVH * D);
    const out = poisoned(ctx, 'out', T * H * D);
    attention(ctx, { q: ctx.upload('q', q), kCache: ctx.upload('k', k), vCache: ctx.upload('v', v), out, T, start, heads: H, kvHeads: KVH, headDim: D });
    const got = await ctx.readF32(out, 0, T * H * D);
    expect(ref.maxAbsDiff(got, ref.attention(q, k, v, T, start, H, KVH, D))).toBeLessThan(2e-5);
  });

  it.each([[1, 32], [5, 300], [3, 1536]])('silu_mul: %i rows, inter %i', async (rows, inter) => {
    const ctx = await gpuContext();
    const r = rng(rows + inter);
    const gu = randn(r, rows * 2 * inter, 4);
    const out = poisoned(ctx, 'out', rows * inter);
    siluMul(ctx, { gu: ctx.upload('gu', gu), out, rows, inter });
    const want = new Float64Array(rows * inter);
    for (let i = 0; i < rows; i++)
      for (let j = 0; j < inter; j++) want[i * inter + j] = ref.silu(gu[i * 2 * inter + j]) * gu[i * 2 * inter + inter + j];
    expect(relErr(await ctx.readF32(out, 0, rows * inter), want)).toBeLessThan(1e-6);
  });
});
