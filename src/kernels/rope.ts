import source from '../../shaders/rope.wgsl?raw';
import { type GpuContext, Params } from '../gpu/context.js';
import { elementGrid, plainPipeline } from './common.js';

/** Interleaved RoPE in place on x: [T, heads, headDim], with cos/sin from ropeTable(). */
export function rope(ctx: GpuContext, a: { x: GPUBuffer; cosSin: GPUBuffer; T: number; heads: number; headDim: number }): void {
  const half = a.headDim / 2;
  const params = new Params(4).u32(a.T).u32(a.heads).u32(half).u32(0);
  ctx.dispatch(plainPipeline(ctx, 'rope', source), params.buffer, [a.x, a.cosSin], elementGrid(a.T * a.heads * half));
}

/**
 * cos/sin of pos * theta^(-2i/headDim) for each position, computed in f64 and stored
 * interleaved as f32: [positions, headDim/2, 2].
 */
export function ropeTable(positions: ArrayLike<number>, headDim: number, theta: number): Float32Array {
  const half = headDim / 2;
  const out = new Float32Array(positions.length * half * 2);
  for (let i = 0; i < half; i++) {
    const invFreq = Math.pow(theta, (-2 * i) / headDim);
    for (let t = 0; t < positions.length; t++) {
      const angle = positions[t] * invFreq;
      out[(t * half + i) * 2] = Math.cos(angle);
      out[(t * half + i) * 2 + 1] = Math.sin(angle);
    }
  }
  return out;
}
