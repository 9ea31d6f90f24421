import source from '../../shaders/vision_attention.wgsl?raw';
import { type Binding, type GpuContext, grid1d, Params } from '../gpu/context.js';
import { plainPipeline } from './common.js';

export const VISION_ATTENTION_MAX_HEAD_DIM = 128;

/**
 * Bidirectional attention within segments of segLen tokens (the last may be shorter).
 * q: queries q0..q0+Tq-1 [Tq, heads, headDim]; k, v: all n tokens [n, heads, headDim]; out like q.
 */
export function visionAttention(
  ctx: GpuContext,
  a: { q: Binding; k: Binding; v: Binding; out: Binding; Tq: number; q0: number; n: number; heads: number; headDim: number; segLen: number },
): void {
  if (a.headDim > VISION_ATTENTION_MAX_HEAD_DIM) throw new Error(`visionAttention: head_dim ${a.headDim} > ${VISION_ATTENTION_MAX_HEAD_DIM}`);
  const params = new Params(8).u32(a.Tq).u32(a.q0).u32(a.n).u32(a.heads).u32(a.headDim).u32(a.segLen).f32(1 / Math.sqrt(a.headDim)).u32(0);
  ctx.dispatch(plainPipeline(ctx, 'vision_attention', source), params.buffer, [a.q, a.k, a.v, a.out], grid1d(Math.ceil((a.Tq * a.heads) / 64)));
}
