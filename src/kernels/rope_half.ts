import source from '../../shaders/rope_half.wgsl?raw';
import { type Binding, type GpuContext, Params } from '../gpu/context.js';
import { elementGrid, plainPipeline } from './common.js';

/**
 * Rotate-half RoPE in place: in each of `heads` heads of headDim at the start of every row of x
 * ([T, rowStride] f32), dims d and d + headDim/2 turn by the table's angle ([T, headDim/2] cos/sin).
 */
export function ropeHalf(ctx: GpuContext, a: { x: Binding; cosSin: GPUBuffer; T: number; heads: number; headDim: number; rowStride?: number }): void {
  const half = a.headDim / 2;
  const params = new Params(4).u32(a.T).u32(a.heads).u32(half).u32(a.rowStride ?? a.heads * a.headDim);
  ctx.dispatch(plainPipeline(ctx, 'rope_half', source), params.buffer, [a.x, a.cosSin], elementGrid(a.T * a.heads * half));
}

/**
 * cos/sin of the vision tower's 2D RoPE for patches at (row, col), in f64 stored as f32
 * [patches, headDim/2, 2]: angle d is row * f[d] for d < headDim/4, else col * f[d - headDim/4],
 * with f[i] = theta^(-2i / (headDim/2)).
 */
export function visionRopeTable(row: ArrayLike<number>, col: ArrayLike<number>, headDim: number, theta: number): Float32Array {
  const half = headDim / 2, quarter = headDim / 4;
  const out = new Float32Array(row.length * half * 2);
  for (let d = 0; d < half; d++) {
    const f = Math.pow(theta, (-2 * (d % quarter)) / half);
    for (let n = 0; n < row.length; n++) {
      const angle = (d < quarter ? row[n] : col[n]) * f;
      out[(n * half + d) * 2] = Math.cos(angle);
      out[(n * half + d) * 2 + 1] = Math.sin(angle);
    }
  }
  return out;
}
