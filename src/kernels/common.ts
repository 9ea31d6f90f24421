// Shared pieces of the kernels' host code.
import { type GpuContext, grid1d } from '../gpu/context.js';
import { preprocess, type WeightDtype } from '../gpu/wgsl.js';
import { type GpuQuantWeight, isQuantLayout, type QuantLayout } from './matmul_q.js';

/**
 * A weight matrix on the GPU: row-major [rows, cols], stored f32, f16, or in one of the
 * package's quantized block layouts (quantized row by row, src/quant/layouts.ts).
 */
export interface GpuWeight {
  buffer: GPUBuffer;
  dtype: WeightDtype | QuantLayout;
  rows: number;
  cols: number;
}

/** The same weight seen by the quantized kernels, or null when it is f32/f16. */
export function asQuant(w: GpuWeight): GpuQuantWeight | null {
  return isQuantLayout(w.dtype) ? { buffer: w.buffer, layout: w.dtype, rows: w.rows, cols: w.cols } : null;
}

/** Narrow a weight the caller knows is f32/f16. */
export function plainDtype(w: GpuWeight): WeightDtype {
  if (isQuantLayout(w.dtype)) throw new Error(`${w.dtype} weights need the quantized kernels`);
  return w.dtype;
}

/** Build (once) a pipeline whose shader reads weights in `dtype` through `#include "weights"`. */
export function weightPipeline(ctx: GpuContext, name: string, source: string, dtype: WeightDtype): GPUComputePipeline {
  return ctx.pipeline(`${name}:${dtype}`, () => preprocess(source, { weights: `weights_${dtype}` }));
}

export function plainPipeline(ctx: GpuContext, name: string, source: string): GPUComputePipeline {
  return ctx.pipeline(name, () => preprocess(source));
}

/** Workgroups for `elements` threads in groups of 256, split over x/y for big counts. */
export function elementGrid(elements: number): [number, number] {
  return grid1d(Math.ceil(elements / 256));
}
