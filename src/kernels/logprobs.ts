// Log-probabilities on the GPU (shaders/logprobs.wgsl): the sampled token's and the `top` most
// likely ones, written after the sampled id in the same result buffer, so a step that asks for
// them still costs one readback.
import source from '../../shaders/logprobs.wgsl?raw';
import { type GpuContext, Params } from '../gpu/context.js';
import { plainPipeline } from './common.js';
import { MAX_TOP_LOGPROBS, type TokenLogprobs } from '../sampling/params.js';

export { MAX_TOP_LOGPROBS };

/** u32 words of a result buffer that holds the id, its log p and MAX_TOP_LOGPROBS pairs. */
export const LOGPROBS_RESULT_WORDS = 2 + 2 * MAX_TOP_LOGPROBS;


/**
 * Reads result[0] (an id sample() wrote) and writes its log p to result[1] and the `top`
 * best (id, log p) pairs from result[2]. `result` must hold 2 + 2 * top u32 words.
 */
export function logprobs(ctx: GpuContext, a: { logits: GPUBuffer; row: number; rowStride?: number; vocab: number; top: number; result: GPUBuffer }): void {
  if (!Number.isInteger(a.top) || a.top < 0 || a.top > MAX_TOP_LOGPROBS) throw new RangeError(`top must be an integer in [0, ${MAX_TOP_LOGPROBS}], got ${a.top}`);
  const params = new Params(4).u32(a.vocab).u32(a.row * (a.rowStride ?? a.vocab)).u32(a.top).u32(0);
  ctx.dispatch(plainPipeline(ctx, 'logprobs', source), params.buffer, [a.logits, a.result], [1]);
}

/** The words logprobs() wrote (result[0] being the id), decoded. */
export function readLogprobs(words: Uint32Array, top: number): TokenLogprobs {
  const f = new Float32Array(words.buffer, words.byteOffset, words.length);
  const out: TokenLogprobs = { logprob: f[1]!, top: [] };
  for (let r = 0; r < top; r++) out.top.push({ id: words[2 + 2 * r]!, logprob: f[3 + 2 * r]! });
  return out;
}
