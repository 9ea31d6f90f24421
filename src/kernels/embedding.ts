import source from '../../shaders/embedding.wgsl?raw';
import { type GpuContext, Params } from '../gpu/context.js';
import { asQuant, elementGrid, type GpuWeight, plainDtype, weightPipeline } from './common.js';
import { embeddingQ } from './embedding_q.js';

/**
 * out[t, :] = table[ids[t] - rowStart, :]   ids: [tokens] u32, out: [tokens, hidden] f32.
 * Tokens whose id is outside the table's rows are left untouched (row-split vocabularies).
 */
export function embedding(ctx: GpuContext, a: { table: GpuWeight; ids: GPUBuffer; out: GPUBuffer; tokens: number; rowStart?: number }): void {
  const quant = asQuant(a.table);
  if (quant) return embeddingQ(ctx, { table: quant, ids: a.ids, out: a.out, tokens: a.tokens, rowStart: a.rowStart });
  const params = new Params(4).u32(a.tokens).u32(a.table.cols).u32(a.table.rows).u32(a.rowStart ?? 0);
  ctx.dispatch(weightPipeline(ctx, 'embedding', source, plainDtype(a.table)), params.buffer, [a.table.buffer, a.ids, a.out], elementGrid(a.tokens * a.table.cols));
}
