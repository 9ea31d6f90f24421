// The embedding / lm_head matrix [vocab, hidden]. ERNIE 4.5's (103424 x 2560) is 149 MB even at
// 4.5 bits, more than the 128 MiB one storage binding may hold on many devices, so it is kept as
// row blocks that each fit a binding: the gather runs once per block (each writes the tokens
// it holds), the lm_head matmul once per block into a scratch row that is copied into place.
import type { GpuContext } from '../../gpu/context.js';
import type { GpuWeight } from '../../kernels/common.js';
import { embedding } from '../../kernels/embedding.js';
import { matmul } from '../../kernels/matmul.js';

export interface VocabMatrix {
  rows: number;
  cols: number;
  /** Row blocks in order; a single block when the matrix fits one binding. */
  blocks: { weight: GpuWeight; rowStart: number }[];
}

export function maxBlockRows(m: VocabMatrix): number {
  return Math.max(...m.blocks.map((b) => b.weight.rows));
}

/** out[t, :] = m[ids[t], :]   ids: [tokens] u32, out: [tokens, cols] f32 */
export function gatherRows(ctx: GpuContext, a: { m: VocabMatrix; ids: GPUBuffer; out: GPUBuffer; tokens: number }): void {
  for (const b of a.m.blocks) embedding(ctx, { table: b.weight, ids: a.ids, out: a.out, tokens: a.tokens, rowStart: b.rowStart });
}

/**
 * y[t, n] = sum_k x[t, k] * m[n, k]   x: [tokens, cols], y: [tokens, rows].
 * `scratch` ([tokens, maxBlockRows] f32) is needed only when the matrix has several blocks.
 */
export function vocabMatmul(ctx: GpuContext, a: { x: GPUBuffer; m: VocabMatrix; y: GPUBuffer; tokens: number; scratch?: GPUBuffer }): void {
  const { blocks, rows } = a.m;
  if (blocks.length === 1) return matmul(ctx, { x: a.x, w: blocks[0].weight, y: a.y, tokens: a.tokens });
  if (!a.scratch) throw new Error('vocabMatmul: a split matrix needs a scratch buffer');
  for (const b of blocks) {
    matmul(ctx, { x: a.x, w: b.weight, y: a.scratch, tokens: a.tokens });
    for (let t = 0; t < a.tokens; t++) ctx.copy(a.scratch, t * b.weight.rows * 4, a.y, (t * rows + b.rowStart) * 4, b.weight.rows * 4);
  }
}
