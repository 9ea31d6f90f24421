import source from '../../shaders/vision_attention.wgsl?raw';
import scoresSource from '../../shaders/vision_attention_scores.wgsl?raw';
import pvSource from '../../shaders/vision_attention_pv.wgsl?raw';
import softmaxSource from '../../shaders/vision_softmax.wgsl?raw';
import { type Binding, type GpuContext, grid1d, Params } from '../gpu/context.js';
import { plainPipeline } from './common.js';
import { variantsOf } from './variants.js';

export const VISION_ATTENTION_MAX_HEAD_DIM = 128;

/**
 * 'fused': one thread per (query, head), online softmax over the segment's keys in registers
 * (vision_attention.wgsl; GPUs). 'blocked': per chunk of queries, scores as a 4x4-blocked matmul
 * into a scratch buffer, a softmax pass, and a 4x4-blocked scores x values pass (software
 * rasterisers, where the fused kernel's per-thread arrays live in memory; needs head_dim % 4 == 0).
 * Unset: 'blocked' where the adapter runs the barrier-free prefill kernels (variants.ts).
 */
export type VisionAttentionVariant = 'fused' | 'blocked';

/** The blocked variant's scores chunk stays under this many bytes (and one storage binding). */
export const VISION_SCORES_BYTES = 32 << 20;

interface Shape {
  Tq: number;
  n: number;
  heads: number;
  segLen: number;
  /** cap on the blocked variant's scores chunk (default VISION_SCORES_BYTES; tests force small chunks) */
  maxScoresBytes?: number;
}

/** Queries per chunk and the padded row of the blocked variant's scores for this shape. */
function scoresLayout(ctx: GpuContext, a: Shape): { chunk: number; stride: number } {
  const stride = Math.ceil(Math.min(a.segLen, a.n) / 4) * 4;
  const budget = Math.min(a.maxScoresBytes ?? VISION_SCORES_BYTES, ctx.limits.maxStorageBufferBindingSize);
  const fit = Math.max(4, Math.floor(budget / (a.heads * stride * 4) / 4) * 4);
  return { chunk: Math.min(fit, Math.ceil(a.Tq / 4) * 4), stride };
}

/** Bytes of scratch visionAttention's blocked variant needs for this shape (0 for 'fused'). */
export function visionAttentionScratchBytes(ctx: GpuContext, a: Shape & { headDim: number; variant?: VisionAttentionVariant }): number {
  if (chooseVariant(ctx, a.headDim, a.variant) === 'fused') return 0;
  const { chunk, stride } = scoresLayout(ctx, a);
  return a.heads * chunk * stride * 4;
}

function chooseVariant(ctx: GpuContext, headDim: number, v?: VisionAttentionVariant): VisionAttentionVariant {
  if (v === 'blocked' && headDim % 4 !== 0) throw new Error(`visionAttention: the blocked variant needs head_dim % 4 == 0, got ${headDim}`);
  return v ?? (variantsOf(ctx).prefill === 'blocked' && headDim % 4 === 0 ? 'blocked' : 'fused');
}

/**
 * Bidirectional attention within segments of segLen tokens (the last may be shorter).
 * q: queries q0..q0+Tq-1 [Tq, heads, headDim]; k, v: all n tokens [n, heads, headDim]; out like q.
 * The blocked variant writes scores into `scratch` (visionAttentionScratchBytes); without one it
 * makes its own and submits before releasing it.
 */
export function visionAttention(
  ctx: GpuContext,
  a: Shape & { q: Binding; k: Binding; v: Binding; out: Binding; q0: number; headDim: number; variant?: VisionAttentionVariant; scratch?: GPUBuffer },
): void {
  if (a.headDim > VISION_ATTENTION_MAX_HEAD_DIM) throw new Error(`visionAttention: head_dim ${a.headDim} > ${VISION_ATTENTION_MAX_HEAD_DIM}`);
  const scale = 1 / Math.sqrt(a.headDim);
  if (chooseVariant(ctx, a.headDim, a.variant) === 'fused') {
    const params = new Params(8).u32(a.Tq).u32(a.q0).u32(a.n).u32(a.heads).u32(a.headDim).u32(a.segLen).f32(scale).u32(0);
    ctx.dispatch(plainPipeline(ctx, 'vision_attention', source), params.buffer, [a.q, a.k, a.v, a.out], grid1d(Math.ceil((a.Tq * a.heads) / 64)));
    return;
  }
  const { chunk, stride } = scoresLayout(ctx, a);
  const need = a.heads * chunk * stride * 4;
  if (a.scratch && a.scratch.size < need) throw new Error(`visionAttention: scratch of ${a.scratch.size} bytes, this shape needs ${need}`);
  const scores = a.scratch ?? ctx.createBuffer('vision attention scores', need); // [heads, chunk, stride]
  const D4 = a.headDim / 4;
  // walk the queries segment by segment, each in chunks against that segment's keys
  for (let g = a.q0; g < a.q0 + a.Tq;) {
    const k0 = g - (g % a.segLen);
    const L = Math.min(k0 + a.segLen, a.n) - k0;
    const end = Math.min(a.q0 + a.Tq, k0 + L);
    for (; g < end; g = Math.min(g + chunk, end)) {
      const Tq = Math.min(chunk, end - g), qOff = g - a.q0;
      const sp = new Params(8).u32(Tq).u32(L).u32(a.heads).u32(a.headDim).u32(qOff).u32(k0).u32(stride).f32(scale);
      ctx.dispatch(plainPipeline(ctx, 'vision_attention_scores', scoresSource), sp.buffer, [a.q, a.k, scores], [Math.ceil(L / 256), Math.ceil(Tq / 4), a.heads]);
      const mp = new Params(4).u32(a.heads * Tq).u32(L).u32(stride).u32(0);
      ctx.dispatch(plainPipeline(ctx, 'vision_softmax', softmaxSource), mp.buffer, [scores], grid1d(Math.ceil((a.heads * Tq) / 64)));
      const pp = new Params(8).u32(Tq).u32(L).u32(a.heads).u32(a.headDim).u32(qOff).u32(k0).u32(stride).u32(0);
      ctx.dispatch(plainPipeline(ctx, 'vision_attention_pv', pvSource), pp.buffer, [scores, a.v, a.out], [Math.ceil((D4 * Math.ceil(Tq / 4)) / 64), a.heads]);
    }
  }
  if (!a.scratch) {
    ctx.submit(); // the scratch may go once the work using it is submitted
    scores.destroy();
  }
}
