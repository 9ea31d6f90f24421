import source from '../../shaders/embedding.wgsl?raw';
import { type GpuContext, Params } from '../gpu/context.js';
import { elementGrid, type GpuWeight, weightPipeline } from './common.js';

/** out[t, :] = table[ids[t], :]   ids: [tokens] u32, out: [tokens, hidden] f32 */
export function embedding(ctx: GpuContext, a: { table: GpuWeight; ids: GPUBuffer; out: GPUBuffer; tokens: number }): void {
  const params = new Params(4).u32(a.tokens).u32(a.table.cols).u32(a.table.rows).u32(0);
  ctx.dispatch(weightPipeline(ctx, 'embedding', source, a.table.dtype), params.buffer, [a.table.buffer, a.ids, a.out], elementGrid(a.tokens * a.table.cols));
}
