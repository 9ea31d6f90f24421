// Quantized-weight matmuls (src/kernels/matmul_q.ts) on real WebGPU against the CPU reference:
// weights quantized by src/quant's quantize(), decoded by dequantizeRows() (the reference
// decoder), multiplied in f64. Every layout, odd shapes (partial last blocks, rows that are not
// multiples of the workgroup), 1..13 tokens (13 = a full pass of 8 plus 5), both kernel
// variants (one thread per row; one subgroup per row where the device has subgroups), the
// grouped-expert variant, and f16 scales that are subnormal. Outputs are poisoned with NaN
// before each run. The kernels compute each weight with the reference's f32 operations, so
// only the dot product's summation order differs: besides the brief's bound (1e-5 of the
// output scale) every output is held to the f32 summation bound (K + 2)·2⁻²³·Σ|x·w|.
import { describe, expect, it } from 'vitest';
import { checkMatmul } from './matmul_check.js';
import type { GpuContext } from '../../src/gpu/context.js';
import { QUANT_LAYOUTS, type GpuQuantWeight, type MatmulQKernel, type QuantLayout, matmulQ, moeMatmulQ } from '../../src/kernels/matmul_q.js';
import { expertSlotBytes, moeGroup, moeGroupsLength, moeMatmul } from '../../src/kernels/moe.js';
import { LAYOUTS, dequantizeRows, quantize, rowBytes } from '../../src/quant/layouts.js';
import { GgufFile } from '../../src/formats/gguf.js';
import { fromPath } from '../../src/formats/node_source.js';
import { gpuContext, poisoned, randn, rng } from '../helpers/gpu.js';

const BLOCK32: QuantLayout[] = ['q8_0', 'q4_0', 'iq4_nl', 'q2_g32'];
const BLOCK256: QuantLayout[] = ['q4_k', 'q2_k', 'q6_k'];
const ROWS = [1, 7, 65, 300];
// K % 4 != 0 makes the kernels read x as scalars (the q_x_f32 include instead of q_x_vec4). That
// reader is independent of the layout's decoder, and each (layout, reader) pair is a pipeline to
// compile (seconds each on SwiftShader), so one layout per block size reads a K of 130 (and the
// expert kernel's q8_0 case); the others take 132: the same partial last unit or block, read as vec4.
const SCALAR_X_LAYOUTS: readonly QuantLayout[] = ['q8_0', 'q4_k'];
const oddK = (layout: QuantLayout): number => (SCALAR_X_LAYOUTS.includes(layout) ? 130 : 132);
const TOKENS = [1, 3, 8, 13];

async function kernels(): Promise<MatmulQKernel[]> {
  const ctx = await gpuContext();
  return ctx.features.subgroups && ctx.features.subgroupMaxSize > 0 && ctx.features.subgroupMaxSize <= 64 ? ['single', 'subgroup'] : ['single'];
}

/** Byte offsets (within a block) of a layout's f16 scale fields. */
const F16_FIELDS: Record<QuantLayout, number[]> = {
  q8_0: [0], q4_0: [0], iq4_nl: [0], q2_g32: [0, 2], q4_k: [0, 2], q2_k: [80, 82], q6_k: [208],
};

/** Fraction of the blocks whose first f16 scale (d) is a nonzero subnormal. */
function subnormalScaleFraction(layout: QuantLayout, bytes: Uint8Array): number {
  const bb = LAYOUTS[layout].blockBytes, o = F16_FIELDS[layout][0]!;
  let sub = 0, n = 0;
  for (let p = 0; p + bb <= bytes.length; p += bb, n++) {
    const h = bytes[p + o]! | (bytes[p + o + 1]! << 8);
    if ((h & 0x7c00) === 0 && (h & 0x3ff) !== 0) sub++;
  }
  return sub / n;
}

interface Quantized {
  bytes: Uint8Array;
  /** dequantizeRows of bytes: the weights the GPU must see. */
  values: Float32Array;
  rb: number;
}

function quantized(layout: QuantLayout, values: Float32Array, rows: number, cols: number): Quantized {
  const bytes = quantize(layout, values, rows, cols, { effort: 'fast' });
  return { bytes, values: dequantizeRows(layout, bytes, rows, cols), rb: rowBytes(layout, cols) };
}

/** Weights N(0, scale) with a per-row offset, so the affine layouts' mins are exercised. */
function randomWeights(r: () => number, rows: number, cols: number, scale: number): Float32Array {
  const v = randn(r, rows * cols, scale);
  for (let i = 0; i < rows; i++) {
    const off = (r() - 0.5) * scale;
    for (let k = 0; k < cols; k++) v[i * cols + k]! += off;
  }
  return v;
}

/**
 * Whether every checked shape's outputs are not a near-total cancellation: max|y| at least 1% of
 * the largest Σ|x·w| (below that the 1e-5 bound on max|y| would measure the cancellation, not
 * the kernel). The first seed whose data passes is used.
 */
function wellConditioned(x: Float32Array, w: Float32Array, cols: number): boolean {
  for (const rows of ROWS) {
    for (const T of TOKENS) {
      let scale = 0, mag = 0;
      for (let t = 0; t < T; t++) {
        for (let n = 0; n < rows; n++) {
          let s = 0, m = 0;
          for (let k = 0; k < cols; k++) {
            const p = x[t * cols + k]! * w[n * cols + k]!;
            s += p;
            m += Math.abs(p);
          }
          scale = Math.max(scale, Math.abs(s));
          mag = Math.max(mag, m);
        }
      }
      if (scale < 0.01 * mag) return false;
    }
  }
  return true;
}

async function runMatmulQ(ctx: GpuContext, q: Quantized, layout: QuantLayout, rows: number, cols: number, x: Float32Array, T: number, kernel: MatmulQKernel, base: Float32Array | null): Promise<Float32Array> {
  const w: GpuQuantWeight = { buffer: ctx.upload('wq', q.bytes.subarray(0, rows * q.rb)), layout, rows, cols };
  const y = base ? ctx.upload('y', base) : poisoned(ctx, 'y', T * rows);
  const xb = ctx.upload('x', x);
  matmulQ(ctx, { x: xb, w, y, tokens: T, accumulate: base !== null, kernel });
  const out = await ctx.readF32(y, 0, T * rows);
  w.buffer.destroy();
  y.destroy();
  xb.destroy();
  return out;
}

describe('matmulQ vs dequantizeRows + f64 matmul', () => {
  const cases: [QuantLayout, number][] = [
    ...BLOCK32.flatMap((l) => [32, 48, 96, oddK(l)].map((c) => [l, c] as [QuantLayout, number])),
    ...BLOCK256.flatMap((l) => [oddK(l), 256, 300, 512, 768].map((c) => [l, c] as [QuantLayout, number])),
  ];
  it.each(cases)('%s, cols %i: rows 1/7/65/300 x tokens 1/3/8/13 x kernels', async (layout, cols) => {
    const ctx = await gpuContext();
    const maxRows = ROWS[ROWS.length - 1]!;
    let q: Quantized, x: Float32Array;
    for (let seed = cols * 31 + QUANT_LAYOUTS.indexOf(layout); ; seed += 1000) {
      const r = rng(seed);
      q = quantized(layout, randomWeights(r, maxRows, cols, 1), maxRows, cols);
      x = randn(r, 13 * cols);
      if (wellConditioned(x, q.values, cols)) break;
    }
    for (const kernel of await kernels()) {
      for (const rows of ROWS) {
        for (const T of TOKENS) {
          const got = await runMatmulQ(ctx, q, layout, rows, cols, x.subarray(0, T * cols), T, kernel, null);
          checkMatmul(got, x, q.values, T, cols, rows, null, `${layout} [${rows}, ${cols}] x ${T} tokens, ${kernel}`);
        }
      }
    }
  });

  it.each(QUANT_LAYOUTS.map((l) => [l]))('%s: accumulate adds into y; 40-token prefill', async (layout) => {
    const ctx = await gpuContext();
    const r = rng(7 + QUANT_LAYOUTS.indexOf(layout));
    const cols = LAYOUTS[layout].blockValues === 256 ? 512 : 96, rows = 33, T = 40;
    const q = quantized(layout, randomWeights(r, rows, cols, 0.5), rows, cols);
    const x = randn(r, T * cols);
    for (const kernel of [...(await kernels()), 'auto' as const]) {
      const base = randn(r, 5 * rows, 3);
      checkMatmul(await runMatmulQ(ctx, q, layout, rows, cols, x.subarray(0, 5 * cols), 5, kernel, base), x, q.values, 5, cols, rows, base, `${layout} accumulate, ${kernel}`);
      checkMatmul(await runMatmulQ(ctx, q, layout, rows, cols, x, T, kernel, null), x, q.values, T, cols, rows, null, `${layout} ${T} tokens, ${kernel}`);
    }
  });

  it.each(QUANT_LAYOUTS.map((l) => [l]))('%s: subnormal f16 scales (weights ~ N(0, 0.02) and smaller) decode exactly', async (layout) => {
    const ctx = await gpuContext();
    const r = rng(99 + QUANT_LAYOUTS.indexOf(layout));
    const cols = LAYOUTS[layout].blockValues === 256 ? 768 : oddK(layout), rows = 65;
    // Q6_K of N(0, 0.02) weights has subnormal d as real checkpoints do; the others need smaller weights.
    const scale = { q6_k: 0.02, q8_0: 5e-4, q4_0: 1e-4, iq4_nl: 1e-4, q2_g32: 2e-5, q4_k: 2e-4, q2_k: 2e-4 }[layout];
    const q = quantized(layout, randn(r, rows * cols, scale), rows, cols);
    expect(subnormalScaleFraction(layout, q.bytes)).toBeGreaterThan(0.5);
    const x = randn(r, 3 * cols);
    for (const kernel of await kernels()) {
      for (const T of [1, 3]) {
        checkMatmul(await runMatmulQ(ctx, q, layout, rows, cols, x.subarray(0, T * cols), T, kernel, null), x, q.values, T, cols, rows, null, `${layout} subnormal scales, ${T} tokens, ${kernel}`);
      }
    }
  });

  it('rejects layouts it does not decode and buffers that are too small', async () => {
    const ctx = await gpuContext();
    const x = ctx.createBuffer('x', 256 * 4), y = ctx.createBuffer('y', 4 * 4);
    const buf = ctx.createBuffer('w', 144);
    expect(() => matmulQ(ctx, { x, y, tokens: 1, w: { buffer: buf, layout: 'f16' as QuantLayout, rows: 1, cols: 256 } })).toThrow(/not a quantized layout/);
    expect(() => matmulQ(ctx, { x, y, tokens: 1, w: { buffer: buf, layout: 'q4_k', rows: 2, cols: 256 } })).toThrow(/needs 288 bytes/);
    expect(() => matmulQ(ctx, { x, y, tokens: 2, w: { buffer: buf, layout: 'q4_k', rows: 1, cols: 256 } })).toThrow(/x holds/);
  });
});

/** k distinct experts per token, uniformly at random. */
function randomRouting(r: () => number, T: number, E: number, k: number): Uint32Array {
  const ids = new Uint32Array(T * k);
  for (let t = 0; t < T; t++) {
    const pool = Array.from({ length: E }, (_, e) => e);
    for (let j = 0; j < k; j++) {
      const pick = j + Math.floor(r() * (E - j));
      [pool[j], pool[pick]] = [pool[pick]!, pool[j]!];
      ids[t * k + j] = pool[j]!;
    }
  }
  return ids;
}

/**
 * Stacked quantized experts ([E * N, K], `rb` bytes a row) laid into one slot buffer as the
 * GPU expert cache does: expert e at slot table[e] of `slots` (a shuffled permutation), each
 * slot expertSlotBytes() long. Unused slots are 0xff bytes.
 */
function slotted(ctx: GpuContext, layout: QuantLayout, bytes: Uint8Array, E: number, N: number, K: number, r: () => number): { buffer: GPUBuffer; table: Uint32Array; slots: number; stride: number } {
  const slots = E + 3, stride = expertSlotBytes(layout, N, K), per = N * rowBytes(layout, K);
  const perm = Array.from({ length: slots }, (_, i) => i);
  for (let i = slots - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [perm[i], perm[j]] = [perm[j]!, perm[i]!];
  }
  const table = Uint32Array.from({ length: E }, (_, e) => perm[e]!);
  const out = new Uint8Array(slots * stride).fill(0xff);
  for (let e = 0; e < E; e++) out.set(bytes.subarray(e * per, (e + 1) * per), table[e]! * stride);
  return { buffer: ctx.upload('slots', out), table, slots, stride };
}

describe('moeMatmulQ vs CPU matmul of the selected experts (dequantizeRows), through a shuffled slot table', () => {
  const shapes = [
    // T, experts, k, N (rows per expert), perToken, hot (one expert takes every token)
    [3, 8, 2, 48, true, false],
    [17, 4, 4, 7, false, false], // every expert gets all 17 tokens: batches of 8, 8, 1
    [20, 16, 3, 65, true, true],
  ] as const;
  const cases = QUANT_LAYOUTS.flatMap((l) => shapes.map((s) => [l, ...s] as const));
  it.each(cases)('%s: T %i, experts %i, k %i, N %i, perToken %s, hot %s', async (layout, T, E, k, N, perToken, hot) => {
    const ctx = await gpuContext();
    const r = rng(T * 7 + E * 13 + k * 101 + N + QUANT_LAYOUTS.indexOf(layout));
    const K = LAYOUTS[layout].blockValues === 256 ? (N === 7 ? 300 : 256) : N === 7 ? (layout === 'q8_0' ? 130 : 132) : 96;
    const A = T * k;
    const ids = randomRouting(r, T, E, k);
    if (hot) for (let t = 0; t < T; t++) if (!ids.subarray(t * k, (t + 1) * k).includes(5)) ids[t * k] = 5;
    const xRows = perToken ? T : A;
    const x = randn(r, xRows * K);
    const q = quantized(layout, randomWeights(r, E * N, K, 0.1), E * N, K);
    const groups = ctx.upload('groups', new Uint32Array(moeGroupsLength(E)).fill(0xffffffff));
    const order = ctx.upload('order', new Uint32Array(Math.max(A, 4)).fill(0xffffffff));
    const sl = slotted(ctx, layout, q.bytes, E, N, K, r);
    moeGroup(ctx, { ids: ctx.upload('ids', ids), slotTable: ctx.upload('table', sl.table), groups, order, assignments: A, experts: E });
    const w: GpuQuantWeight = { buffer: sl.buffer, layout, rows: N, cols: K };
    const xb = ctx.upload('x', x);
    for (const kernel of await kernels()) {
      const y = poisoned(ctx, 'y', A * N);
      moeMatmulQ(ctx, { x: xb, w, groups, order, y, experts: E, k, perToken, maxGroups: Math.min(E, A), kernel, slotStart: 0, slots: sl.slots, slotStride: sl.stride });
      const got = await ctx.readF32(y, 0, A * N);
      // per assignment: x row · expert slice
      for (let a = 0; a < A; a++) {
        const row = perToken ? Math.floor(a / k) : a;
        const e = ids[a]!;
        checkMatmul(got.subarray(a * N, (a + 1) * N), x.subarray(row * K, (row + 1) * K), q.values.subarray(e * N * K, (e + 1) * N * K), 1, K, N, null, `${layout} assignment ${a} (expert ${e}), ${kernel}`);
      }
      y.destroy();
    }
  });
});

describe('GGUF tensors as llama.cpp quantized them (test/fixtures/gguf) through the same kernels', () => {
  const LAYOUT_OF: Record<string, QuantLayout> = { Q4_K: 'q4_k', Q2_K: 'q2_k', Q6_K: 'q6_k', Q8_0: 'q8_0', Q4_0: 'q4_0' };
  const cases = [
    // file, tensor (Q6_K token_embd and ffn_down_exps have subnormal d, as real checkpoints do)
    ['ernie45-moe-k256-q4_k_m', 'token_embd.weight'],
    ['ernie45-moe-k256-q4_k_m', 'blk.1.attn_q.weight'],
    ['ernie45-moe-k256-q4_k_m', 'blk.1.ffn_down_exps.weight'],
    ['ernie45-moe-k256-q2_k', 'blk.1.ffn_gate_exps.weight'],
    ['ernie45-moe-tiny-q8_0', 'blk.1.attn_k.weight'],
    ['ernie45-moe-tiny-q8_0', 'blk.1.ffn_down_exps.weight'],
    ['ernie45-moe-tiny-q4_0', 'blk.1.attn_v.weight'],
    ['ernie45-moe-tiny-q4_0', 'blk.1.ffn_up_exps.weight'],
  ] as const;
  it.each(cases)('%s %s', async (file, name) => {
    const ctx = await gpuContext();
    const g = await GgufFile.open(fromPath(`test/fixtures/gguf/${file}.gguf`));
    const t = g.tensor(name);
    const layout = LAYOUT_OF[t.typeName]!;
    const cols = t.dims[0]!, experts = t.dims[2] ?? 1, N = t.dims[1]!, rows = N * experts;
    const bytes = await g.readRaw(name);
    const values = dequantizeRows(layout, bytes, rows, cols);
    const w: GpuQuantWeight = { buffer: ctx.upload('wq', bytes), layout, rows, cols };
    const r = rng(cols + rows);
    for (const kernel of await kernels()) {
      if (experts === 1) {
        const T = 5, x = randn(r, T * cols), y = poisoned(ctx, 'y', T * rows);
        matmulQ(ctx, { x: ctx.upload('x', x), w, y, tokens: T, kernel });
        checkMatmul(await ctx.readF32(y, 0, T * rows), x, values, T, cols, rows, null, `${file} ${name}, ${kernel}`);
        continue;
      }
      // every expert, through moeMatmulQ: T tokens, top-2
      const T = 9, k = 2, A = T * k;
      const ids = randomRouting(r, T, experts, k);
      const x = randn(r, T * cols);
      const groups = ctx.upload('groups', new Uint32Array(moeGroupsLength(experts)).fill(0xffffffff));
      const order = ctx.upload('order', new Uint32Array(A).fill(0xffffffff));
      const sl = slotted(ctx, layout, bytes, experts, N, cols, r);
      moeGroup(ctx, { ids: ctx.upload('ids', ids), slotTable: ctx.upload('table', sl.table), groups, order, assignments: A, experts });
      const y = poisoned(ctx, 'y', A * N);
      moeMatmul(ctx, { x: ctx.upload('x', x), w: { buffer: sl.buffer, dtype: layout, N, K: cols, slotStart: 0, slots: sl.slots }, groups, order, y, experts, k, perToken: true, maxGroups: Math.min(experts, A), kernel });
      const got = await ctx.readF32(y, 0, A * N);
      for (let a = 0; a < A; a++) {
        const e = ids[a]!, row = Math.floor(a / k);
        checkMatmul(got.subarray(a * N, (a + 1) * N), x.subarray(row * cols, (row + 1) * cols), values.subarray(e * N * cols, (e + 1) * N * cols), 1, cols, N, null, `${file} ${name} assignment ${a}, ${kernel}`);
      }
    }
  });
});
