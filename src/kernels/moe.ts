// Host code of the four MoE kernels: route -> group -> grouped matmul -> combine.
import routeSource from '../../shaders/moe_route.wgsl?raw';
import groupSource from '../../shaders/moe_group.wgsl?raw';
import matmulSource from '../../shaders/moe_matmul.wgsl?raw';
import combineSource from '../../shaders/moe_combine.wgsl?raw';
import { type GpuContext, Params } from '../gpu/context.js';
import { elementGrid, plainPipeline, type GpuWeight, weightPipeline } from './common.js';
import { isQuantLayout, type MatmulQKernel, moeMatmulQ } from './matmul_q.js';
import type { PrefillVariant } from './variants.js';
import { rowBytes } from '../quant/layouts.js';

export const MOE_MAX_EXPERTS = 256;

/** logits: [T, E] f32, bias: [E] f32 -> ids: [T, k] u32, weights: [T, k] f32 */
export function moeRoute(ctx: GpuContext, a: { logits: GPUBuffer; bias: GPUBuffer; ids: GPUBuffer; weights: GPUBuffer; T: number; experts: number; k: number; normMin: number }): void {
  if (a.experts > MOE_MAX_EXPERTS) throw new Error(`moe_route: ${a.experts} experts > ${MOE_MAX_EXPERTS}`);
  const params = new Params(4).u32(a.T).u32(a.experts).u32(a.k).f32(a.normMin);
  ctx.dispatch(plainPipeline(ctx, 'moe_route', routeSource), params.buffer, [a.logits, a.bias, a.ids, a.weights], [Math.ceil(a.T / 64)]);
}

/** Size in u32 of the `groups` buffer moeGroup writes. */
export const moeGroupsLength = (experts: number) => 1 + 3 * experts;

/**
 * ids: [assignments] -> groups (active experts' slots, their start and count) + order
 * (assignments by expert). `slotTable` row `tableOffset / experts` maps expert -> cache slot
 * (u32, 0xffffffff = not resident): the grouped matmuls read each expert from its slot.
 */
export function moeGroup(ctx: GpuContext, a: { ids: GPUBuffer; slotTable: GPUBuffer; tableOffset?: number; groups: GPUBuffer; order: GPUBuffer; assignments: number; experts: number }): void {
  // one workgroup of 256 threads, one per expert: more experts would be silently dropped
  if (a.experts > MOE_MAX_EXPERTS) throw new Error(`moe_group: ${a.experts} experts > ${MOE_MAX_EXPERTS}`);
  const offset = a.tableOffset ?? 0;
  if (a.slotTable.size < (offset + a.experts) * 4) throw new Error(`moe_group: the slot table (${a.slotTable.size} bytes) has no row at ${offset} for ${a.experts} experts`);
  const params = new Params(4).u32(a.assignments).u32(a.experts).u32(offset).u32(0);
  ctx.dispatch(plainPipeline(ctx, 'moe_group', groupSource), params.buffer, [a.ids, a.groups, a.order, a.slotTable], [1]);
}

/** The "not resident" entry of a slot table. */
export const NO_SLOT = 0xffffffff;

/**
 * Bytes one expert matrix [rows, cols] in `dtype` takes in a slot buffer: its stored bytes
 * rounded up to 4, so every slot starts where queue.writeBuffer may write.
 */
export function expertSlotBytes(dtype: GpuWeight['dtype'], rows: number, cols: number): number {
  const bytes = dtype === 'f32' ? rows * cols * 4 : dtype === 'f16' ? rows * cols * 2 : rows * rowBytes(dtype, cols);
  return Math.ceil(bytes / 4) * 4;
}

/** One buffer of expert slots: slots slotStart..slotStart+slots-1, each an [N, K] matrix. */
export interface ExpertSlots {
  buffer: GPUBuffer;
  dtype: GpuWeight['dtype'];
  /** rows of one expert's matrix */
  N: number;
  /** columns */
  K: number;
  slotStart: number;
  slots: number;
}

/**
 * y[a, :] = W[slot(a)] · x[row(a), :] for every assignment whose expert sits in a slot of `w`
 * (slot(a) from moeGroup's slot table). `perToken`: x has one row per token (row(a) = a / k),
 * else one row per assignment. `maxGroups` bounds the active experts (min(experts,
 * assignments)); extra workgroups exit at once, as do those of experts in other buffers or not
 * resident (their rows of y are left as they were).
 */
export function moeMatmul(
  ctx: GpuContext,
  a: {
    x: GPUBuffer; w: ExpertSlots; groups: GPUBuffer; order: GPUBuffer; y: GPUBuffer; experts: number; k: number; perToken: boolean; maxGroups: number; kernel?: MatmulQKernel;
    /** the step's tokens (most assignments one expert can have): quantized experts then use the adapter's prefill variant above 8 */
    tokens?: number;
    prefill?: PrefillVariant;
  },
): void {
  const { N, K, dtype } = a.w;
  const stride = expertSlotBytes(dtype, N, K);
  if (a.w.buffer.size < a.w.slots * stride) throw new Error(`moeMatmul: ${a.w.slots} slots of ${stride} bytes need ${a.w.slots * stride} bytes, the buffer has ${a.w.buffer.size}`);
  if (isQuantLayout(dtype)) return moeMatmulQ(ctx, { ...a, w: { buffer: a.w.buffer, layout: dtype, rows: N, cols: K }, slotStart: a.w.slotStart, slots: a.w.slots, slotStride: stride });
  const elem = dtype === 'f32' ? 4 : 2;
  const params = new Params(8).u32(N).u32(K).u32(a.experts).u32(a.perToken ? a.k : 1).u32(a.w.slotStart).u32(a.w.slotStart + a.w.slots).u32(stride / elem).u32(0);
  ctx.dispatch(weightPipeline(ctx, 'moe_matmul', matmulSource, dtype), params.buffer, [a.w.buffer, a.x, a.groups, a.order, a.y], [Math.ceil(N / 64), a.maxGroups]);
}

/** h[t, :] += sum_j weights[t, j] * y[t*k + j, :] */
export function moeCombine(ctx: GpuContext, a: { y: GPUBuffer; weights: GPUBuffer; h: GPUBuffer; T: number; hidden: number; k: number }): void {
  const params = new Params(4).u32(a.T).u32(a.hidden).u32(a.k).u32(0);
  ctx.dispatch(plainPipeline(ctx, 'moe_combine', combineSource), params.buffer, [a.y, a.weights, a.h], elementGrid(a.T * a.hidden));
}
