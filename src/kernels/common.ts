// Shared pieces of the kernels' host code.
import { type GpuContext, grid1d } from '../gpu/context.js';
import { preprocess, type WeightDtype } from '../gpu/wgsl.js';

/** A weight matrix on the GPU: row-major [rows, cols] in `dtype`. */
export interface GpuWeight {
  buffer: GPUBuffer;
  dtype: WeightDtype;
  rows: number;
  cols: number;
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
