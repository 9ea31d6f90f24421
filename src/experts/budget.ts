// How many GPU slots and RAM bytes the expert caches get, from loadEngine's `expertCache`
// options and the adapter's limits.
import { ErnieError } from '../errors.js';
import { expertBytes, type ExpertSource, setsOf } from './source.js';

export interface ExpertCacheOptions {
  /** GPU bytes for routed experts' slots. Default: defaultGpuExpertBytes(). */
  gpuBytes?: number;
  /** Instead of gpuBytes: experts per MoE layer and expert set (an integer, e.g. 6; a VL layer has two sets) or a share of all experts ('25%'). */
  gpuExperts?: number | string;
  /** RAM bytes for verified expert bytes between the source and the GPU. Default: min(all experts, 512 MiB). */
  ramBytes?: number;
  /** Instead of ramBytes: experts per MoE layer or a share of all experts ('50%'). */
  ramExperts?: number | string;
  /** Eviction policy (default 'layered'; 'lru' and 'lfu' for comparison). */
  policy?: 'lru' | 'lfu' | 'layered';
  /** Predict the next layer's experts while a decode step streams, read them and upload them into free or evictable slots before that layer runs (default true). */
  prefetch?: boolean;
}

/**
 * The default GPU budget: all experts when they fit in 8 x maxBufferSize, else that much.
 * WebGPU exposes no memory size; maxBufferSize tracks the adapter's class (256 MiB on the
 * default limits, 2-4 GiB on desktop GPUs), so the default is 2 GiB where the adapter offers the
 * defaults and all experts of a 21B-A3B q4 model (~11 GB) where it offers 2 GiB buffers.
 */
export function defaultGpuExpertBytes(limits: { maxBufferSize: number }, allExpertBytes: number): number {
  return Math.min(allExpertBytes, 8 * limits.maxBufferSize);
}

export const DEFAULT_RAM_BYTES = 512 * 2 ** 20;

/** Bytes of every routed expert of the source (every set), as the GPU stores them. */
export function allExpertBytes(src: ExpertSource): number {
  let total = 0;
  for (const l of src.layers) for (let set = 0; set < setsOf(src); set++) total += src.experts * expertBytes(src.format(l, set));
  return total;
}

/** A count per layer (and set) or a percentage, as bytes (the mean expert size times the experts it names). */
export function expertsToBytes(spec: number | string, src: ExpertSource, what: string): number {
  const rows = src.layers.length * setsOf(src);
  const total = allExpertBytes(src), all = rows * src.experts;
  let experts: number;
  const m = typeof spec === 'string' ? /^\s*(\d+(?:\.\d+)?)\s*%\s*$/.exec(spec) : null;
  if (m) experts = Math.ceil((Number(m[1]) / 100) * all);
  else if (typeof spec === 'number' || /^\s*\d+\s*$/.test(spec)) experts = Number(spec) * rows;
  else throw new ErnieError('BAD_REQUEST', `${what}: ${JSON.stringify(spec)} is neither a count of experts per layer (e.g. 6) nor a percentage (e.g. "25%")`);
  if (!(Number.isFinite(experts) && experts >= 0)) throw new ErnieError('BAD_REQUEST', `${what}: ${JSON.stringify(spec)} is not a valid expert count`);
  return Math.min(total, Math.ceil((experts * total) / all));
}

export interface ResolvedBudget {
  gpuBytes: number;
  ramBytes: number;
}

export function resolveBudget(opts: ExpertCacheOptions, src: ExpertSource, limits: { maxBufferSize: number }): ResolvedBudget {
  const total = allExpertBytes(src);
  const gpuBytes = opts.gpuExperts !== undefined ? expertsToBytes(opts.gpuExperts, src, 'expertCache.gpuExperts') : opts.gpuBytes ?? defaultGpuExpertBytes(limits, total);
  const ramBytes = opts.ramExperts !== undefined ? expertsToBytes(opts.ramExperts, src, 'expertCache.ramExperts') : opts.ramBytes ?? Math.min(total, DEFAULT_RAM_BYTES);
  for (const [k, v] of [['gpuBytes', gpuBytes], ['ramBytes', ramBytes]] as const) {
    if (!(Number.isFinite(v) && v >= 0)) throw new ErnieError('BAD_REQUEST', `expertCache.${k} must be a non-negative number of bytes, got ${v}`);
  }
  return { gpuBytes, ramBytes };
}
