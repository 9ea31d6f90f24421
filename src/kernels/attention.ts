import source from '../../shaders/attention.wgsl?raw';
import { type GpuContext, Params } from '../gpu/context.js';
import { plainPipeline } from './common.js';

export const ATTENTION_MAX_HEAD_DIM = 256;

/**
 * Causal GQA attention. q: [T, heads, headDim] at positions start..start+T-1; the caches
 * [capacity, kvHeads, headDim] must already hold keys/values for positions 0..start+T-1.
 */
export function attention(
  ctx: GpuContext,
  a: { q: GPUBuffer; kCache: GPUBuffer; vCache: GPUBuffer; out: GPUBuffer; T: number; start: number; heads: number; kvHeads: number; headDim: number },
): void {
  if (a.headDim > ATTENTION_MAX_HEAD_DIM) throw new Error(`attention: head_dim ${a.headDim} > ${ATTENTION_MAX_HEAD_DIM}`);
  const params = new Params(8).u32(a.T).u32(a.start).u32(a.heads).u32(a.kvHeads).u32(a.headDim).f32(1 / Math.sqrt(a.headDim)).u32(0).u32(0);
  ctx.dispatch(plainPipeline(ctx, 'attention', source), params.buffer, [a.q, a.kCache, a.vCache, a.out], [a.heads, a.T]);
}
