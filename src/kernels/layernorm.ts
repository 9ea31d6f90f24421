import source from '../../shaders/layernorm.wgsl?raw';
import { type Binding, type GpuContext, grid1d, Params } from '../gpu/context.js';
import { plainPipeline } from './common.js';

/** y = (x - mean) / sqrt(var + eps) * w + b per row. x, y: [rows, cols] f32 (distinct); w, b: [cols] f32. */
export function layerNorm(ctx: GpuContext, a: { x: Binding; w: GPUBuffer; b: GPUBuffer; y: Binding; rows: number; cols: number; eps: number }): void {
  const params = new Params(4).u32(a.rows).u32(a.cols).f32(a.eps).u32(0);
  ctx.dispatch(plainPipeline(ctx, 'layernorm', source), params.buffer, [a.x, a.w, a.b, a.y], grid1d(Math.ceil(a.rows / 64)));
}
