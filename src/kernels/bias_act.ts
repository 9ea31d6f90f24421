import source from '../../shaders/bias_act.wgsl?raw';
import { type Binding, type GpuContext, Params } from '../gpu/context.js';
import { preprocess } from '../gpu/wgsl.js';
import { elementGrid } from './common.js';

export type Activation = 'none' | 'quick_gelu' | 'gelu_erf';
const ACT: Record<Activation, number> = { none: 0, quick_gelu: 1, gelu_erf: 2 };

/** x = act(x + b) in place; x: [rows, cols] f32, b: [cols] f32. */
export function biasAct(ctx: GpuContext, a: { x: Binding; b: GPUBuffer; rows: number; cols: number; act: Activation }): void {
  const params = new Params(4).u32(a.rows).u32(a.cols).u32(0).u32(0);
  const pipeline = ctx.pipeline(`bias_act:${a.act}`, () => preprocess(source), { ACT: ACT[a.act] });
  ctx.dispatch(pipeline, params.buffer, [a.x, a.b], elementGrid(a.rows * a.cols));
}
