import source from '../../shaders/embedding_q.wgsl?raw';
import { type GpuContext, grid1d, Params } from '../gpu/context.js';
import { preprocess } from '../gpu/wgsl.js';
import { rowBytes } from '../quant/layouts.js';
import type { GpuQuantWeight } from './matmul_q.js';

/** out[t, :] = dequant(table)[ids[t] - rowStart, :] for the ids in the table's rows; others untouched. */
export function embeddingQ(ctx: GpuContext, a: { table: GpuQuantWeight; ids: GPUBuffer; out: GPUBuffer; tokens: number; rowStart?: number }): void {
  const { layout, rows, cols } = a.table;
  const units = Math.ceil(cols / 32);
  const params = new Params(8).u32(a.tokens).u32(cols).u32(rows).u32(rowBytes(layout, cols)).u32(units).u32(a.rowStart ?? 0).u32(0).u32(0);
  const pipeline = ctx.pipeline(`embedding_q:${layout}`, () => preprocess(source, { q_layout: `q_${layout}` }));
  ctx.dispatch(pipeline, params.buffer, [a.table.buffer, a.ids, a.out], grid1d(Math.ceil((a.tokens * units) / 64)));
}
