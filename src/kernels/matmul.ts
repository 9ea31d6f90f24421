import matvecSource from '../../shaders/matvec.wgsl?raw';
import matvecSubgroupSource from '../../shaders/matvec_subgroup.wgsl?raw';
import matmulSource from '../../shaders/matmul.wgsl?raw';
import { type Binding, type GpuContext, grid1d, Params } from '../gpu/context.js';
import { asQuant, type GpuWeight, plainDtype, weightPipeline } from './common.js';
import { matmulQ } from './matmul_q.js';

/** Batches up to this many tokens go through the matrix-vector kernel (weights read once). */
export const MATVEC_MAX_TOKENS = 8;

/**
 * y[t, n] (+)= sum_k x[t, k] * W[n, k]   x: [tokens, K] f32, W: [N, K], y: [tokens, N] f32.
 * Small batches (decode) use the matrix-vector kernel, larger ones (prefill) the blocked one.
 * `accumulate` adds into y instead of overwriting it (fuses the residual add).
 * Quantized weights go to matmulQ (matmul_q.ts), which dequantises in registers.
 */
export function matmul(
  ctx: GpuContext,
  a: { x: Binding; w: GpuWeight; y: Binding; tokens: number; accumulate?: boolean; kernel?: 'matvec' | 'matvec_subgroup' | 'tiled' },
): void {
  const quant = asQuant(a.w);
  if (quant) return matmulQ(ctx, { x: a.x, w: quant, y: a.y, tokens: a.tokens, accumulate: a.accumulate });
  const { rows: N, cols: K } = a.w;
  const dtype = plainDtype(a.w);
  const params = new Params(4).u32(a.tokens).u32(K).u32(N).u32(a.accumulate ? 1 : 0);
  const kernel = a.kernel ?? (a.tokens <= MATVEC_MAX_TOKENS ? 'matvec_subgroup' : 'tiled');
  if (kernel !== 'tiled') {
    if (a.tokens > MATVEC_MAX_TOKENS) throw new Error(`matvec handles at most ${MATVEC_MAX_TOKENS} tokens`);
    const sg = ctx.features.subgroupMaxSize;
    if (ctx.features.subgroups && sg > 0 && sg <= 64 && K % 4 === 0 && a.kernel !== 'matvec') {
      // one row per subgroup: 64 / sg rows per workgroup at the largest subgroup size
      ctx.dispatch(weightPipeline(ctx, 'matvec_subgroup', matvecSubgroupSource, dtype), params.buffer, [a.w.buffer, a.x, a.y], grid1d(Math.ceil((N * sg) / 64)));
    } else {
      ctx.dispatch(weightPipeline(ctx, 'matvec', matvecSource, dtype), params.buffer, [a.w.buffer, a.x, a.y], grid1d(Math.ceil(N / 64)));
    }
  } else {
    // 64 threads x 4 rows of N per workgroup in x, 4 tokens per workgroup in y
    ctx.dispatch(weightPipeline(ctx, 'matmul', matmulSource, dtype), params.buffer, [a.w.buffer, a.x, a.y], [Math.ceil(N / 256), Math.ceil(a.tokens / 4)]);
  }
}
