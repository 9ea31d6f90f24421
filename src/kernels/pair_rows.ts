import source from '../../shaders/pair_rows.wgsl?raw';
import { type Binding, type GpuContext, Params } from '../gpu/context.js';
import { elementGrid, plainPipeline } from './common.js';

/** out[r] = [x[pairs[2r]], x[pairs[2r+1]]]; x: [*, cols] f32, pairs: [rows, 2] u32, out: [rows, 2*cols]. */
export function pairRows(ctx: GpuContext, a: { x: Binding; pairs: GPUBuffer; out: Binding; rows: number; cols: number }): void {
  const params = new Params(4).u32(a.rows).u32(a.cols).u32(0).u32(0);
  ctx.dispatch(plainPipeline(ctx, 'pair_rows', source), params.buffer, [a.x, a.pairs, a.out], elementGrid(a.rows * 2 * a.cols));
}

/** Row pairs of the resampler's temporal merge: frames (2k, 2k+1) of each item; a still image with itself. */
export function temporalPairTable(items: Array<{ frames: number; perFrame: number }>): Uint32Array {
  const out: number[] = [];
  let offset = 0;
  for (const it of items) {
    for (let f = 0; f < it.frames; f += 2) {
      const second = it.frames > 1 ? f + 1 : f;
      for (let r = 0; r < it.perFrame; r++) out.push(offset + f * it.perFrame + r, offset + second * it.perFrame + r);
    }
    offset += it.frames * it.perFrame;
  }
  return Uint32Array.from(out);
}
