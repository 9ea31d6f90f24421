import source from '../../shaders/silu_mul.wgsl?raw';
import { type GpuContext, Params } from '../gpu/context.js';
import { elementGrid, plainPipeline } from './common.js';

/** out[r, i] = silu(gu[r, i]) * gu[r, inter + i]   gu: [rows, 2*inter], out: [rows, inter] */
export function siluMul(ctx: GpuContext, a: { gu: GPUBuffer; out: GPUBuffer; rows: number; inter: number }): void {
  const params = new Params(4).u32(a.rows).u32(a.inter).u32(0).u32(0);
  ctx.dispatch(plainPipeline(ctx, 'silu_mul', source), params.buffer, [a.gu, a.out], elementGrid(a.rows * a.inter));
}
