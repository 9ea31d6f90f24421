// The four MoE kernels (route -> group -> grouped matmul -> combine) against f64 CPU
// references (test/reference/ops.ts), one by one and chained into a whole routed-expert layer.
// Random inputs at several shapes, sizes that are not multiples of the workgroup size, f32 and
// f16 stacked expert weights. Outputs are poisoned (NaN / 0xffffffff) before each run.
import { describe, expect, it } from 'vitest';
import type { GpuContext } from '../../src/gpu/context.js';
import { type ExpertSlots, expertSlotBytes, moeCombine, moeGroup, moeGroupsLength, moeMatmul, moeRoute, NO_SLOT } from '../../src/kernels/moe.js';
import { siluMul } from '../../src/kernels/silu_mul.js';
import * as ref from '../reference/ops.js';
import { f32ToF16Bits, gpuContext, poisoned, randn, rng } from '../helpers/gpu.js';

type Dtype = 'f32' | 'f16';

/** Max abs error divided by the reference's largest magnitude. */
function relErr(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let scale = 1e-6;
  for (let i = 0; i < want.length; i++) scale = Math.max(scale, Math.abs(want[i]));
  return ref.maxAbsDiff(got, want) / scale;
}

/** f32 bits -> f16 bits, round to nearest even (no allocation: the weights have millions of values). */
function f16Bits(u: number): number {
  const sign = (u >>> 16) & 0x8000, exp = (u >>> 23) & 0xff;
  let mant = u & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 112;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e, rem = mant & ((1 << shift) - 1), mid = 1 << (shift - 1);
    let half = mant >>> shift;
    if (rem > mid || (rem === mid && half & 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && half & 1)) half++;
  return sign | half;
}

function f16Decode(h: number): number {
  const s = h & 0x8000 ? -1 : 1, e = (h >> 10) & 31, m = h & 1023;
  if (e === 31) return m ? NaN : s * Infinity;
  return e === 0 ? s * m * 2 ** -24 : s * (1 + m / 1024) * 2 ** (e - 15);
}

/** A weight's bytes in `dtype` and the values the GPU actually sees. */
function weight(values: Float32Array, dtype: Dtype): { bytes: Uint8Array; dtype: Dtype; values: Float32Array } {
  if (dtype === 'f32') return { bytes: new Uint8Array(values.buffer, values.byteOffset, values.byteLength), dtype, values };
  const u32 = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const bits = new Uint16Array(values.length);
  const rounded = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) rounded[i] = f16Decode((bits[i] = f16Bits(u32[i])));
  return { bytes: new Uint8Array(bits.buffer), dtype, values: rounded };
}

function poisonedU32(ctx: GpuContext, label: string, n: number): GPUBuffer {
  return ctx.upload(label, new Uint32Array(Math.max(n, 4)).fill(0xffffffff));
}

/** k distinct experts per token, uniformly at random (what a router produces). */
function randomRouting(r: () => number, T: number, E: number, k: number): Uint32Array {
  const ids = new Uint32Array(T * k);
  for (let t = 0; t < T; t++) {
    const pool = Array.from({ length: E }, (_, e) => e);
    for (let j = 0; j < k; j++) {
      const pick = j + Math.floor(r() * (E - j));
      [pool[j], pool[pick]] = [pool[pick], pool[j]];
      ids[t * k + j] = pool[j];
    }
  }
  return ids;
}

/**
 * Smallest gap, over all tokens, between consecutive biased scores among the first k+1 in
 * the reference's order. The GPU computes the scores in f32, so ids are only well defined
 * (and can be compared exactly) when this is far above f32 rounding.
 */
function selectionMargin(logits: Float32Array, bias: Float32Array, T: number, E: number, k: number): number {
  let margin = Infinity;
  for (let t = 0; t < T; t++) {
    const p = ref.softmax(logits.subarray(t * E, (t + 1) * E));
    const s = Array.from(p, (v, e) => v + bias[e]).sort((a, b) => b - a);
    for (let j = 0; j < Math.min(k, E - 1); j++) margin = Math.min(margin, s[j] - s[j + 1]);
  }
  return margin;
}

/** CPU check that groups/order describe a valid grouping of `ids` through `table` (see moe_group.wgsl). */
function checkGrouping(ids: ArrayLike<number>, E: number, table: Uint32Array, groups: Uint32Array, order: Uint32Array): void {
  const A = ids.length;
  const byExpert = new Map<number, number[]>();
  for (let a = 0; a < A; a++) {
    const list = byExpert.get(ids[a]) ?? [];
    list.push(a);
    byExpert.set(ids[a], list);
  }
  const experts = [...byExpert.keys()].sort((a, b) => a - b);
  expect(groups[0]).toBe(experts.length);
  let start = 0;
  const seen = new Uint8Array(A);
  for (let g = 0; g < experts.length; g++) {
    const e = experts[g], s = groups[1 + E + g], c = groups[1 + 2 * E + g];
    expect(groups[1 + g], `group ${g} slot`).toBe(table[e]); // ascending expert id, each active expert once, as its slot
    expect(s, `group ${g} start`).toBe(start); // contiguous, in group order
    expect(c, `group ${g} count`).toBe(byExpert.get(e)!.length);
    const members = Array.from(order.subarray(s, s + c));
    expect(members, `group ${g} members`).toEqual(byExpert.get(e)); // ascending assignments of that expert
    for (const a of members) seen[a]++;
    start += c;
  }
  expect(start).toBe(A);
  expect(seen.every((v) => v === 1)).toBe(true); // every assignment exactly once
}

/** Expert `e`'s [N, K] block of stacked [E*N, K] weights. */
function expertSlice(w: Float32Array, e: number, N: number, K: number): Float32Array {
  return w.subarray(e * N * K, (e + 1) * N * K);
}

/** A shuffled expert -> slot table over `slots` >= E slots (leaves slots unused when more). */
function shuffledTable(r: () => number, E: number, slots: number): Uint32Array {
  const free = Array.from({ length: slots }, (_, i) => i);
  for (let i = slots - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [free[i], free[j]] = [free[j], free[i]];
  }
  return Uint32Array.from({ length: E }, (_, e) => free[e]);
}

/**
 * Lays stacked expert weights ([E, N, K] in `w`'s dtype) into slot buffers as the GPU expert
 * cache does: expert e at slot table[e] (skipped when NO_SLOT), `split` slots per buffer.
 */
function slotBuffers(ctx: GpuContext, w: { bytes: Uint8Array; dtype: Dtype }, E: number, N: number, K: number, table: Uint32Array, slots: number, split = slots): ExpertSlots[] {
  const stride = expertSlotBytes(w.dtype, N, K);
  const perExpert = w.bytes.length / E;
  const out: ExpertSlots[] = [];
  for (let first = 0; first < slots; first += split) {
    const n = Math.min(split, slots - first);
    const buf = new Uint8Array(n * stride).fill(0xff); // NaN in unused slots
    for (let e = 0; e < E; e++) {
      const s = table[e];
      if (s !== NO_SLOT && s >= first && s < first + n) buf.set(w.bytes.subarray(e * perExpert, (e + 1) * perExpert), (s - first) * stride);
    }
    out.push({ buffer: ctx.upload('slots', buf), dtype: w.dtype, N, K, slotStart: first, slots: n });
  }
  return out;
}

describe('test helpers', () => {

  it('the fast f16 rounding here agrees with the shared helper', () => {
    const r = rng(99);
    const xs = Float32Array.from([0, -0, 1, -1, 65504, 65520, 1e6, -1e6, 6e-8, 3e-8, 2.9e-8, 1e-9, 6.1e-5, 6.2e-5, Infinity, -Infinity, ...randn(r, 5000, 3), ...randn(r, 2000, 1e-5)]);
    const u32 = new Uint32Array(xs.buffer);
    for (let i = 0; i < xs.length; i++) expect(f16Bits(u32[i]), `x = ${xs[i]}`).toBe(f32ToF16Bits(xs[i]));
  });
});

describe('moe_route vs ref.route', () => {
  const cases = [
    // T, experts, k, bias scale, normMin, seed
    [1, 4, 1, 0, 1e-12, 1],
    [3, 4, 2, 0.2, 1e-12, 2],
    [3, 4, 4, 0, 1e-12, 3],
    [17, 16, 4, 0.05, 1e-12, 4],
    [40, 16, 1, 0.05, 1e-12, 5],
    [40, 64, 6, 0, 1e-12, 6],
    [40, 64, 6, 0.02, 1e-12, 7],
    [17, 64, 8, 0.02, 1e-12, 8],
    [3, 130, 6, 0.01, 1e-12, 9],
    [40, 130, 8, 0.01, 1e-12, 10],
    [17, 16, 4, 0, 2, 11], // normMin above every chosen sum: weights = p / normMin
  ] as const;

  it.each(cases)('T %i, experts %i, k %i, bias scale %f, normMin %f', async (T, E, k, biasScale, normMin, seed) => {
    const ctx = await gpuContext();
    const r = rng(seed * 7919 + T * 1009 + E * 31 + k);
    const logits = randn(r, T * E, 1.5);
    const bias = biasScale ? randn(r, E, biasScale) : new Float32Array(E);
    // f32 scores on the GPU are within ~1e-7 of these: a gap above 2e-6 makes the ids well defined
    expect(selectionMargin(logits, bias, T, E, k), 'test input has a near-tie; pick another seed').toBeGreaterThan(2e-6);
    const want = ref.route(logits, bias, T, E, k, normMin);
    if (biasScale) {
      // the bias must matter here: some token's chosen set differs from plain softmax top-k
      const plain = ref.route(logits, null, T, E, k, normMin);
      let changed = 0;
      for (let t = 0; t < T; t++) {
        const a = [...want.ids.subarray(t * k, (t + 1) * k)].sort().join();
        const b = [...plain.ids.subarray(t * k, (t + 1) * k)].sort().join();
        if (a !== b) changed++;
      }
      expect(changed, 'the correction bias changed no selection').toBeGreaterThan(0);
    }
    const ids = poisonedU32(ctx, 'ids', T * k);
    const weights = poisoned(ctx, 'weights', T * k);
    moeRoute(ctx, { logits: ctx.upload('logits', logits), bias: ctx.upload('bias', bias), ids, weights, T, experts: E, k, normMin });
    expect(Array.from(await ctx.readU32(ids, 0, T * k))).toEqual(Array.from(want.ids));
    expect(ref.maxAbsDiff(await ctx.readF32(weights, 0, T * k), want.weights)).toBeLessThan(1e-6);
  });
});

describe('moe_group builds a valid grouping', () => {
  const cases = [
    // T, experts, k, kind
    [1, 4, 1, 'routed'],
    [3, 4, 4, 'routed'],
    [17, 16, 2, 'routed'],
    [40, 64, 6, 'routed'],
    [40, 130, 8, 'routed'],
    [17, 130, 8, 'skewed'], // a few hot experts
    [40, 16, 6, 'any'], // arbitrary ids, duplicates within a token
    [40, 4, 8, 'same'], // every assignment to one expert (not expert 0)
  ] as const;
  it.each(cases)('T %i, experts %i, k %i, %s ids', async (T, E, k, kind) => {
    const ctx = await gpuContext();
    const r = rng(T * 131 + E * 17 + k);
    const A = T * k;
    let ids: Uint32Array;
    if (kind === 'routed') ids = randomRouting(r, T, E, k);
    else if (kind === 'skewed') ids = randomRouting(r, T, E, k).map((e) => (e < 100 ? [3, 77, 129][e % 3] : e));
    else if (kind === 'any') ids = Uint32Array.from({ length: A }, () => Math.floor(r() * E));
    else ids = new Uint32Array(A).fill(E - 1);
    const groups = poisonedU32(ctx, 'groups', moeGroupsLength(E));
    const order = poisonedU32(ctx, 'order', A);
    // the layer's row (row 2 of 3) of a table of shuffled slots, one expert not resident
    const table = shuffledTable(r, E, E + 3);
    table[Math.floor(r() * E)] = NO_SLOT;
    const rows = new Uint32Array(3 * E).fill(7);
    rows.set(table, 2 * E);
    moeGroup(ctx, { ids: ctx.upload('ids', ids), slotTable: ctx.upload('table', rows), tableOffset: 2 * E, groups, order, assignments: A, experts: E });
    checkGrouping(ids, E, table, await ctx.readU32(groups, 0, moeGroupsLength(E)), await ctx.readU32(order, 0, A));
  });

  it('more experts than one workgroup can hold are refused, not silently dropped', async () => {
    const ctx = await gpuContext();
    const ids = ctx.upload('ids', new Uint32Array([300]));
    const groups = poisonedU32(ctx, 'groups', moeGroupsLength(300));
    expect(() => moeGroup(ctx, { ids, slotTable: poisonedU32(ctx, 'table', 300), groups, order: poisonedU32(ctx, 'order', 1), assignments: 1, experts: 300 })).toThrow(/300 experts/);
  });
});

describe('moe_matmul vs CPU matmul of the selected expert slices, read through a shuffled slot table', () => {
  const cases = [
    // T, experts, k, N, K, dtype, perToken, ids kind, slot buffers
    // (SwiftShader runs ~N x active-experts workgroups at well under 1 ms each: shapes kept small)
    [1, 4, 1, 48, 96, 'f32', true, 'routed', 1],
    [3, 16, 2, 130, 48, 'f16', true, 'routed', 2],
    [17, 64, 6, 48, 130, 'f32', false, 'routed', 3],
    [17, 4, 4, 96, 48, 'f16', false, 'routed', 1], // every expert gets all 17 tokens: batches of 8, 8, 1
    [40, 16, 4, 130, 96, 'f32', true, 'routed', 2],
    [3, 130, 8, 48, 96, 'f16', true, 'routed', 1],
    [17, 130, 2, 48, 130, 'f32', false, 'routed', 4],
    [40, 16, 6, 48, 130, 'f16', false, 'hot', 1], // one expert holds all 40 tokens: 5 batches of 8
    [5, 16, 3, 33, 47, 'f16', true, 'missing', 2], // odd N*K (f16 slots padded); one expert not resident
  ] as const;
  it.each(cases)('T %i, experts %i, k %i, N %i, K %i, %s weights, perToken %s, %s, %i slot buffers', async (T, E, k, N, K, dtype, perToken, kind, buffers) => {
    const ctx = await gpuContext();
    const r = rng(T * 7 + E * 13 + k * 101 + N + K * 3 + (perToken ? 1 : 0));
    const A = T * k;
    const ids = randomRouting(r, T, E, k);
    if (kind === 'hot') for (let t = 0; t < T; t++) if (!ids.subarray(t * k, (t + 1) * k).includes(5)) ids[t * k] = 5;
    const rows = perToken ? T : A;
    const x = randn(r, rows * K);
    const w = weight(randn(r, E * N * K, 0.1), dtype);
    const slots = E + 5;
    const table = shuffledTable(r, E, slots);
    const absent = kind === 'missing' ? ids[0] : -1;
    if (absent >= 0) table[absent] = NO_SLOT;
    const groups = poisonedU32(ctx, 'groups', moeGroupsLength(E));
    const order = poisonedU32(ctx, 'order', A);
    moeGroup(ctx, { ids: ctx.upload('ids', ids), slotTable: ctx.upload('table', table), groups, order, assignments: A, experts: E });
    const y = poisoned(ctx, 'y', A * N);
    const xb = ctx.upload('x', x);
    // maxGroups = min(experts, assignments), the bound the forward pass uses; one call per slot buffer
    for (const part of slotBuffers(ctx, w, E, N, K, table, slots, Math.ceil(slots / buffers))) {
      moeMatmul(ctx, { x: xb, w: part, groups, order, y, experts: E, k, perToken, maxGroups: Math.min(E, A) });
    }
    const got = await ctx.readF32(y, 0, A * N);
    for (let a = 0; a < A; a++) {
      const row = perToken ? Math.floor(a / k) : a;
      const out = got.subarray(a * N, (a + 1) * N);
      // an expert that is not resident is skipped: its rows keep their old (NaN) contents
      if (ids[a] === absent) expect(out.every(Number.isNaN), `assignment ${a} of the absent expert`).toBe(true);
      else expect(relErr(out, ref.matmul(x.subarray(row * K, (row + 1) * K), expertSlice(w.values, ids[a], N, K), 1, K, N)), `assignment ${a}`).toBeLessThan(1e-5);
    }
  });
});

describe('moe_combine vs CPU', () => {
  it.each([
    // T, hidden, k
    [1, 48, 1], [3, 130, 2], [17, 96, 6], [40, 130, 8], [40, 48, 4],
  ])('T %i, hidden %i, k %i', async (T, H, k) => {
    const ctx = await gpuContext();
    const r = rng(T * 3 + H * 5 + k);
    const y = randn(r, T * k * H), weights = randn(r, T * k, 0.3), h0 = randn(r, T * H);
    const h = ctx.upload('h', h0);
    moeCombine(ctx, { y: ctx.upload('y', y), weights: ctx.upload('weights', weights), h, T, hidden: H, k });
    const want = Float64Array.from(h0);
    for (let t = 0; t < T; t++)
      for (let j = 0; j < k; j++)
        for (let i = 0; i < H; i++) want[t * H + i] += weights[t * k + j] * y[(t * k + j) * H + i];
    expect(relErr(await ctx.readF32(h, 0, T * H), want)).toBeLessThan(1e-6);
  });
});

describe('whole MoE layer: route -> group -> gate_up -> silu_mul -> down -> combine', () => {
  const cases = [
    // T, experts, k, hidden, inter, dtype, bias scale
    [1, 4, 1, 48, 96, 'f32', 0],
    [3, 16, 4, 96, 48, 'f16', 0.05],
    [3, 64, 6, 130, 48, 'f32', 0.02],
    [17, 4, 2, 130, 48, 'f16', 0],
    [40, 16, 2, 48, 96, 'f32', 0.05],
    [1, 130, 8, 48, 130, 'f16', 0.01],
  ] as const;
  it.each(cases)('T %i, experts %i, k %i, hidden %i, inter %i, %s weights, bias scale %f', async (T, E, k, H, I, dtype, biasScale) => {
    const ctx = await gpuContext();
    const r = rng(T * 4099 + E * 11 + k * 3 + H + I * 7);
    const A = T * k, normMin = 1e-12;
    const x = randn(r, T * H);
    const h0 = randn(r, T * H);
    // router logits in f32 (the GPU forward computes them with a plain matmul first)
    const logits = Float32Array.from(ref.matmul(x, randn(r, E * H, 0.3), T, H, E));
    const bias = biasScale ? randn(r, E, biasScale) : new Float32Array(E);
    // f32 scores on the GPU are within ~1e-7 of these: a gap above 2e-6 makes the ids well defined
    expect(selectionMargin(logits, bias, T, E, k), 'test input has a near-tie; pick another seed').toBeGreaterThan(2e-6);
    // stacked [E, 2I, H] (gate rows then up rows per expert) and [E, H, I]
    const gu = weight(randn(r, E * 2 * I * H, 1 / Math.sqrt(H)), dtype);
    const down = weight(randn(r, E * H * I, 1 / Math.sqrt(I)), dtype);
    const table = shuffledTable(r, E, E);
    const [guSlots] = slotBuffers(ctx, gu, E, 2 * I, H, table, E);
    const [downSlots] = slotBuffers(ctx, down, E, H, I, table, E);

    const ids = poisonedU32(ctx, 'ids', A);
    const weights = poisoned(ctx, 'weights', A);
    const groups = poisonedU32(ctx, 'groups', moeGroupsLength(E));
    const order = poisonedU32(ctx, 'order', A);
    const guOut = poisoned(ctx, 'gu', A * 2 * I);
    const act = poisoned(ctx, 'act', A * I);
    const y = poisoned(ctx, 'y', A * H);
    const h = ctx.upload('h', h0);
    const maxGroups = Math.min(E, A);
    moeRoute(ctx, { logits: ctx.upload('logits', logits), bias: ctx.upload('bias', bias), ids, weights, T, experts: E, k, normMin });
    moeGroup(ctx, { ids, slotTable: ctx.upload('table', table), groups, order, assignments: A, experts: E });
    moeMatmul(ctx, { x: ctx.upload('x', x), w: guSlots, groups, order, y: guOut, experts: E, k, perToken: true, maxGroups });
    siluMul(ctx, { gu: guOut, out: act, rows: A, inter: I });
    moeMatmul(ctx, { x: act, w: downSlots, groups, order, y, experts: E, k, perToken: false, maxGroups });
    moeCombine(ctx, { y, weights, h, T, hidden: H, k });
    const got = await ctx.readF32(h, 0, T * H);

    // CPU MoE, like moe() in test/reference/forward_ref.ts: softmax routing + SwiGLU experts
    const routing = ref.route(logits, bias, T, E, k, normMin);
    expect(Array.from(await ctx.readU32(ids, 0, A))).toEqual(Array.from(routing.ids));
    const want = Float64Array.from(h0);
    for (let t = 0; t < T; t++) {
      const xt = x.subarray(t * H, (t + 1) * H);
      for (let j = 0; j < k; j++) {
        const e = routing.ids[t * k + j];
        const g = expertSlice(gu.values, e, 2 * I, H);
        const out = ref.swiglu(xt, g.subarray(0, I * H), g.subarray(I * H), expertSlice(down.values, e, H, I), 1, H, I);
        for (let i = 0; i < H; i++) want[t * H + i] += routing.weights[t * k + j] * out[i];
      }
    }
    expect(relErr(got, want)).toBeLessThan(1e-4);
  });
});
