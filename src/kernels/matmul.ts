import matvecSource from '../../shaders/matvec.wgsl?raw';
import matvecSubgroupSource from '../../shaders/matvec_subgroup.wgsl?raw';
import matmulSource from '../../shaders/matmul.wgsl?raw';
import matmulK4Source from '../../shaders/matmul_k4.wgsl?raw';
import matmulK4SubgroupSource from '../../shaders/matmul_k4_subgroup.wgsl?raw';
import matmulTiledSource from '../../shaders/matmul_wg_tiled.wgsl?raw';
import { type Binding, type GpuContext, grid1d, Params } from '../gpu/context.js';
import { asQuant, type GpuWeight, plainDtype, weightPipeline } from './common.js';
import { matmulQ } from './matmul_q.js';
import { subgroupsUsable, variantsOf } from './variants.js';

/**
 * The f32/f16 kernels: 'matvec' (one thread per row), 'matvec_subgroup' (one subgroup per row,
 * subgroupAdd), 'tiled' (barrier-free 4x4 register blocks: matmul_k4.wgsl's vec4 steps when K % 4 == 0,
 * else matmul.wgsl), 'tiled_subgroup' (the same, 8 tokens x 4 rows, inputs loaded once per subgroup:
 * matmul_k4_subgroup.wgsl; 'tiled' where K % 4 != 0 or no subgroups), 'workgroup_tiled' (64 rows x 32
 * tokens tiles in workgroup memory). Unset: variantsOf(ctx) decides (decode for <= 8 tokens).
 */
export type MatmulKernel = 'matvec' | 'matvec_subgroup' | 'tiled' | 'tiled_subgroup' | 'workgroup_tiled';

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
  a: { x: Binding; w: GpuWeight; y: Binding; tokens: number; accumulate?: boolean; kernel?: MatmulKernel },
): void {
  const quant = asQuant(a.w);
  if (quant) {
    const prefill = a.kernel === 'workgroup_tiled' ? 'workgroup_tiled' : a.kernel === 'tiled' || a.kernel === 'tiled_subgroup' ? 'blocked' : undefined;
    return matmulQ(ctx, { x: a.x, w: quant, y: a.y, tokens: a.tokens, accumulate: a.accumulate, prefill });
  }
  const { rows: N, cols: K } = a.w;
  const dtype = plainDtype(a.w);
  const params = new Params(4).u32(a.tokens).u32(K).u32(N).u32(a.accumulate ? 1 : 0);
  const v = variantsOf(ctx);
  const kernel = a.kernel ?? (a.tokens <= MATVEC_MAX_TOKENS ? (v.decode === 'subgroup' ? 'matvec_subgroup' : 'matvec') : v.prefill === 'workgroup_tiled' ? 'workgroup_tiled' : subgroupsUsable(ctx) ? 'tiled_subgroup' : 'tiled');
  if (kernel === 'matvec' || kernel === 'matvec_subgroup') {
    if (a.tokens > MATVEC_MAX_TOKENS) throw new Error(`matvec handles at most ${MATVEC_MAX_TOKENS} tokens`);
    const sg = ctx.features.subgroupMaxSize;
    if (kernel === 'matvec_subgroup' && subgroupsUsable(ctx) && K % 4 === 0) {
      // one row per subgroup: 64 / sg rows per workgroup at the largest subgroup size
      ctx.dispatch(weightPipeline(ctx, 'matvec_subgroup', matvecSubgroupSource, dtype), params.buffer, [a.w.buffer, a.x, a.y], grid1d(Math.ceil((N * sg) / 64)));
    } else {
      ctx.dispatch(weightPipeline(ctx, 'matvec', matvecSource, dtype), params.buffer, [a.w.buffer, a.x, a.y], grid1d(Math.ceil(N / 64)));
    }
  } else if (kernel === 'workgroup_tiled') {
    // 64 rows of N per workgroup in x, 32 tokens in y
    ctx.dispatch(weightPipeline(ctx, 'matmul_wg_tiled', matmulTiledSource, dtype), params.buffer, [a.w.buffer, a.x, a.y], [Math.ceil(N / 64), Math.ceil(a.tokens / 32)]);
  } else {
    // 64 threads x 4 rows of N per workgroup in x; 8 tokens (subgroup kernel) or 4 per workgroup in y
    const shared = kernel === 'tiled_subgroup' && K % 4 === 0 && subgroupsUsable(ctx);
    const pipeline = shared ? weightPipeline(ctx, 'matmul_k4_subgroup', matmulK4SubgroupSource, dtype)
      : K % 4 === 0 ? weightPipeline(ctx, 'matmul_k4', matmulK4Source, dtype) : weightPipeline(ctx, 'matmul', matmulSource, dtype);
    ctx.dispatch(pipeline, params.buffer, [a.w.buffer, a.x, a.y], [Math.ceil(N / 256), Math.ceil(a.tokens / (shared ? 8 : 4))]);
  }
}

