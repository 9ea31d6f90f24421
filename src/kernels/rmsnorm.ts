import source from '../../shaders/rmsnorm.wgsl?raw';
import { type Binding, type GpuContext, Params } from '../gpu/context.js';
import { plainPipeline } from './common.js';

/** y = w * x / sqrt(mean(x^2) + eps) per row. x, y: [rows, cols] f32; w: [cols] f32. y may be x. */
export function rmsnorm(ctx: GpuContext, a: { x: Binding; w: GPUBuffer; y: Binding; rows: number; cols: number; eps: number }): void {
  const params = new Params(4).u32(a.rows).u32(a.cols).f32(a.eps).u32(0);
  ctx.dispatch(plainPipeline(ctx, 'rmsnorm', source), params.buffer, [a.x, a.w, a.y], [a.rows]);
}
