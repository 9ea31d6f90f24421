// Kernel variants (src/kernels/variants.ts): the choice from an adapter's key, forcing, and the
// workgroup-tiled quantized prefill kernel on this device against dequantizeRows + f64 (the
// f32/f16 workgroup-tiled matmul is in kernels.test.ts's matmul table). Each variant is selected
// explicitly, so SwiftShader runs the GPU variants too.
import { afterEach, describe, expect, it } from 'vitest';
import { checkMatmul } from './matmul_check.js';
import type { GpuContext } from '../../src/gpu/context.js';
import { ErnieError } from '../../src/errors.js';
import { type AdapterKey, chooseVariants, forceVariants, parseVariants, variantsOf } from '../../src/kernels/variants.js';
import { type GpuQuantWeight, type QuantLayout, matmulQ } from '../../src/kernels/matmul_q.js';
import { matmul } from '../../src/kernels/matmul.js';
import { dequantizeRows, quantize, rowBytes } from '../../src/quant/layouts.js';
import { expertSlotBytes, moeGroup, moeGroupsLength, moeMatmul } from '../../src/kernels/moe.js';
import { gpuContext, poisoned, randn, rng } from '../helpers/gpu.js';

const key = (o: { description?: string; vendor?: string; architecture?: string; subgroups?: boolean; sg?: number; wgBytes?: number; inv?: number }): AdapterKey => ({
  features: { subgroups: o.subgroups ?? true, subgroupMaxSize: o.sg ?? 32, shaderF16: true },
  limits: { maxComputeWorkgroupStorageSize: o.wgBytes ?? 32768, maxComputeInvocationsPerWorkgroup: o.inv ?? 1024 },
  adapterInfo: { vendor: o.vendor ?? 'nvidia', architecture: o.architecture ?? 'hopper', description: o.description ?? 'NVIDIA H200' },
});

describe('choosing variants', () => {
  it('software rasterisers keep the barrier-free prefill; GPUs tile in workgroup memory', () => {
    expect(chooseVariants(key({ vendor: 'google', architecture: 'swiftshader', description: 'SwiftShader driver', sg: 4 }))).toEqual({ decode: 'subgroup', prefill: 'blocked' });
    expect(chooseVariants(key({ vendor: 'mesa', architecture: '', description: 'llvmpipe (LLVM 15.0.7, 256 bits)', subgroups: false }))).toEqual({ decode: 'single', prefill: 'blocked' });
    expect(chooseVariants(key({}))).toEqual({ decode: 'subgroup', prefill: 'workgroup_tiled' });
    expect(chooseVariants(key({ vendor: 'amd', architecture: 'rdna-3', description: '', sg: 64 }))).toEqual({ decode: 'subgroup', prefill: 'workgroup_tiled' });
  });

  it('limits and features decide what a GPU may run', () => {
    expect(chooseVariants(key({ sg: 128 })).decode).toBe('single'); // the shaders size workgroups for subgroups <= 64
    expect(chooseVariants(key({ subgroups: false })).decode).toBe('single');
    expect(chooseVariants(key({ wgBytes: 8192 })).prefill).toBe('blocked');
    expect(chooseVariants(key({ inv: 64 })).prefill).toBe('blocked');
  });

  it('ERNIE_KERNELS syntax; a bad entry is a typed error naming the choices', () => {
    expect(parseVariants('prefill=workgroup_tiled, decode=single')).toEqual({ prefill: 'workgroup_tiled', decode: 'single' });
    expect(parseVariants('')).toEqual({});
    const err = (() => {
      try {
        parseVariants('prefill=fast');
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(ErnieError);
    expect((err as ErnieError).message).toMatch(/prefill=fast.*blocked\|workgroup_tiled/);
  });
});

describe('forcing', () => {
  const fake = (o: Parameters<typeof key>[0]) => key(o) as unknown as GpuContext;
  it('a variant the device cannot run is an UNSUPPORTED ErnieError', () => {
    const small = fake({ wgBytes: 8192, subgroups: false });
    for (const v of [{ prefill: 'workgroup_tiled' as const }, { decode: 'subgroup' as const }]) {
      let err: unknown;
      try {
        forceVariants(small, v);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ErnieError);
      expect((err as ErnieError).code).toBe('UNSUPPORTED');
    }
    expect(variantsOf(small)).toEqual({ decode: 'single', prefill: 'blocked' });
  });

  it('ERNIE_KERNELS overrides the choice of a context made after it is set', () => {
    const before = process.env.ERNIE_KERNELS;
    process.env.ERNIE_KERNELS = 'prefill=blocked,decode=single';
    try {
      expect(variantsOf(fake({}))).toEqual({ decode: 'single', prefill: 'blocked' });
    } finally {
      if (before === undefined) delete process.env.ERNIE_KERNELS;
      else process.env.ERNIE_KERNELS = before;
    }
    expect(variantsOf(fake({}))).toEqual({ decode: 'subgroup', prefill: 'workgroup_tiled' });
  });
});

describe('forced variants on this device', () => {
  let restore: (() => void) | null = null;
  afterEach(() => {
    restore?.();
    restore = null;
  });

  it('forceVariants switches the kernel matmul() runs by default (pipeline keys show which)', async () => {
    const ctx = await gpuContext();
    const before = forceVariants(ctx, { prefill: 'workgroup_tiled' });
    restore = () => forceVariants(ctx, before);
    expect(variantsOf(ctx).prefill).toBe('workgroup_tiled');
    const w = { buffer: ctx.upload('w', new Float32Array(16 * 40).fill(0.5)), dtype: 'f32' as const, rows: 16, cols: 40 };
    const y = poisoned(ctx, 'y', 20 * 16);
    const pipelines = (ctx as unknown as { pipelines: Map<string, unknown> }).pipelines;
    pipelines.delete('matmul_wg_tiled:f32');
    matmul(ctx, { x: ctx.upload('x', new Float32Array(20 * 40).fill(1)), w, y, tokens: 20 });
    expect(pipelines.has('matmul_wg_tiled:f32')).toBe(true);
    expect([...(await ctx.readF32(y, 0, 20 * 16))].every((v) => v === 20)).toBe(true);
  });
});

describe('workgroup-tiled quantized prefill vs dequantizeRows + f64', () => {
  // the experts' layouts (q4_k, q2_k) and Q8_0 with K % 4 != 0 (x read as scalars); the other
  // layouts share the decode includes that quant_matmul.test.ts checks; odd shapes: partial units and
  // blocks, rows and tokens past one tile, accumulate
  const cases: [QuantLayout, number, number, number][] = [
    ['q4_k', 300, 70, 9], ['q4_k', 512, 130, 40], ['q2_k', 300, 65, 33], ['q8_0', 130, 64, 64],
  ];
  it.each(cases)('%s [rows x cols %i -> %i rows], %i tokens', async (layout, cols, rows, T) => {
    const ctx = await gpuContext();
    const r = rng(cols * 3 + rows * 7 + T);
    const values = randn(r, rows * cols, 0.05);
    const bytes = quantize(layout, values, rows, cols, { effort: 'fast' });
    const deq = dequantizeRows(layout, bytes, rows, cols);
    const w: GpuQuantWeight = { buffer: ctx.upload('wq', bytes), layout, rows, cols };
    const x = randn(r, T * cols);
    const xb = ctx.upload('x', x);
    const y = poisoned(ctx, 'y', T * rows);
    matmulQ(ctx, { x: xb, w, y, tokens: T, prefill: 'workgroup_tiled' });
    const got = await ctx.readF32(y, 0, T * rows);
    checkMatmul(got, x, deq, T, cols, rows, null, `${layout} workgroup_tiled`);
    // accumulate: y += x·Wᵀ again
    matmulQ(ctx, { x: xb, w, y, tokens: T, prefill: 'workgroup_tiled', accumulate: true });
    const twice = await ctx.readF32(y, 0, T * rows);
    checkMatmul(twice.map((v) => v / 2), x, deq, T, cols, rows, null, `${layout} workgroup_tiled accumulate`);
    for (const b of [w.buffer, xb, y]) b.destroy();
  });
});

describe('workgroup-tiled grouped expert matmul (prefill) vs dequantizeRows + f64, through a slot table', () => {
  // (the per-assignment input of the down projection differs only in input_div = 1)
  // T 40, 4 experts, top-2; expert 1 takes every token (two blocks of 32 assignments), the
  // others share the rest; experts sit in slots (e + 2) % 6 of a 6-slot buffer
  it.each([['q4_k', 300, 33, true]] as const)('%s: K %i, N %i, perToken %s', async (layout, K, N, perToken) => {
    const ctx = await gpuContext();
    const T = 40, E = 4, k = 2, A = T * k, slots = 6;
    const r = rng(K + N);
    const ids = new Uint32Array(A);
    for (let t = 0; t < T; t++) {
      ids[t * k] = 1;
      ids[t * k + 1] = [0, 2, 3][t % 3]!;
    }
    const values = randn(r, E * N * K, 0.05);
    const bytes = quantize(layout, values, E * N, K, { effort: 'fast' });
    const deq = dequantizeRows(layout, bytes, E * N, K);
    const stride = expertSlotBytes(layout, N, K), per = N * rowBytes(layout, K);
    const table = Uint32Array.from({ length: E }, (_, e) => (e + 2) % slots);
    const slab = new Uint8Array(slots * stride).fill(0xff);
    for (let e = 0; e < E; e++) slab.set(bytes.subarray(e * per, (e + 1) * per), table[e]! * stride);
    const groups = ctx.createBuffer('groups', moeGroupsLength(E) * 4), order = ctx.createBuffer('order', A * 4);
    moeGroup(ctx, { ids: ctx.upload('ids', ids), slotTable: ctx.upload('table', table), groups, order, assignments: A, experts: E });
    const x = randn(r, (perToken ? T : A) * K);
    const y = poisoned(ctx, 'y', A * N);
    const buffer = ctx.upload('slots', slab);
    moeMatmul(ctx, { x: ctx.upload('x', x), w: { buffer, dtype: layout, N, K, slotStart: 0, slots }, groups, order, y, experts: E, k, perToken, maxGroups: E, tokens: T, prefill: 'workgroup_tiled' });
    const got = await ctx.readF32(y, 0, A * N);
    for (let a = 0; a < A; a++) {
      const row = perToken ? Math.floor(a / k) : a, e = ids[a]!;
      checkMatmul(got.subarray(a * N, (a + 1) * N), x.subarray(row * K, (row + 1) * K), deq.subarray(e * N * K, (e + 1) * N * K), 1, K, N, null, `${layout} assignment ${a} (expert ${e})`);
    }
    const pipelines = (ctx as unknown as { pipelines: Map<string, unknown> }).pipelines;
    expect([...pipelines.keys()].some((key) => key.startsWith(`moe_matmul_q_wg_tiled:${layout}`))).toBe(true);
  });
});

