// Host code of the four MoE kernels: route -> group -> grouped matmul -> combine.
import routeSource from '../../shaders/moe_route.wgsl?raw';
import groupSource from '../../shaders/moe_group.wgsl?raw';
import matmulSource from '../../shaders/moe_matmul.wgsl?raw';
import combineSource from '../../shaders/moe_combine.wgsl?raw';
import { type GpuContext, Params } from '../gpu/context.js';
import { asQuant, elementGrid, plainDtype, plainPipeline, type GpuWeight, weightPipeline } from './common.js';
import { moeMatmulQ } from './matmul_q.js';

export const MOE_MAX_EXPERTS = 256;

/** logits: [T, E] f32, bias: [E] f32 -> ids: [T, k] u32, weights: [T, k] f32 */
export function moeRoute(ctx: GpuContext, a: { logits: GPUBuffer; bias: GPUBuffer; ids: GPUBuffer; weights: GPUBuffer; T: number; experts: number; k: number; normMin: number }): void {
  if (a.experts > MOE_MAX_EXPERTS) throw new Error(`moe_route: ${a.experts} experts > ${MOE_MAX_EXPERTS}`);
  const params = new Params(4).u32(a.T).u32(a.experts).u32(a.k).f32(a.normMin);
  ctx.dispatch(plainPipeline(ctx, 'moe_route', routeSource), params.buffer, [a.logits, a.bias, a.ids, a.weights], [Math.ceil(a.T / 64)]);
}

/** Size in u32 of the `groups` buffer moeGroup writes. */
export const moeGroupsLength = (experts: number) => 1 + 3 * experts;

/** ids: [assignments] -> groups (active experts, their start and count) + order (assignments by expert). */
export function moeGroup(ctx: GpuContext, a: { ids: GPUBuffer; groups: GPUBuffer; order: GPUBuffer; assignments: number; experts: number }): void {
  // one workgroup of 256 threads, one per expert: more experts would be silently dropped
  if (a.experts > MOE_MAX_EXPERTS) throw new Error(`moe_group: ${a.experts} experts > ${MOE_MAX_EXPERTS}`);
  const params = new Params(4).u32(a.assignments).u32(a.experts).u32(0).u32(0);
  ctx.dispatch(plainPipeline(ctx, 'moe_group', groupSource), params.buffer, [a.ids, a.groups, a.order], [1]);
}

/**
 * y[a, :] = W[expert(a)] · x[row(a), :] for every assignment, where `w` holds all experts
 * stacked ([experts * N, K], rows = experts * N). `perToken`: x has one row per token
 * (row(a) = a / k), else one row per assignment. `maxGroups` bounds the active experts
 * (min(experts, assignments)); extra workgroups exit at once. A stack too big for one binding
 * is split into expert blocks, one call each (expertStart, expertCount): workgroups of other
 * blocks' experts exit.
 */
export function moeMatmul(
  ctx: GpuContext,
  a: {
    x: GPUBuffer; w: GpuWeight; groups: GPUBuffer; order: GPUBuffer; y: GPUBuffer; experts: number; k: number; perToken: boolean; maxGroups: number;
    /** When `w` holds only experts expertStart..expertStart+expertCount-1 (one block of a split stack). */
    expertStart?: number;
    expertCount?: number;
  },
): void {
  const quant = asQuant(a.w);
  if (quant) return moeMatmulQ(ctx, { ...a, w: quant });
  const first = a.expertStart ?? 0, held = a.expertCount ?? a.experts;
  const N = a.w.rows / held;
  const params = new Params(8).u32(N).u32(a.w.cols).u32(a.experts).u32(a.perToken ? a.k : 1).u32(first).u32(first + held).u32(0).u32(0);
  ctx.dispatch(weightPipeline(ctx, 'moe_matmul', matmulSource, plainDtype(a.w)), params.buffer, [a.w.buffer, a.x, a.groups, a.order, a.y], [Math.ceil(N / 64), a.maxGroups]);
}

/** h[t, :] += sum_j weights[t, j] * y[t*k + j, :] */
export function moeCombine(ctx: GpuContext, a: { y: GPUBuffer; weights: GPUBuffer; h: GPUBuffer; T: number; hidden: number; k: number }): void {
  const params = new Params(4).u32(a.T).u32(a.hidden).u32(a.k).u32(0);
  ctx.dispatch(plainPipeline(ctx, 'moe_combine', combineSource), params.buffer, [a.y, a.weights, a.h], elementGrid(a.T * a.hidden));
}
