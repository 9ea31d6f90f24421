import source from '../../shaders/sample.wgsl?raw';
import { type GpuContext, Params } from '../gpu/context.js';
import { plainPipeline } from './common.js';
import { NonFiniteError } from '../errors.js';
import { resolveSampling, type ResolvedSampling, type SamplingParams } from '../sampling/params.js';

/** What the sample kernel reads: temperature (required), top-k, top-p, min-p (unset = off). */
export type SampleOptions = Pick<ResolvedSampling, 'temperature'> & Pick<SamplingParams, 'topK' | 'topP' | 'minP'>;

/**
 * Choose one token among the first `vocab` logits of row `row` (rows are `rowStride` apart) on the GPU and write its id to result[0].
 * `u` is a uniform random number in [0, 1) from the caller's seeded generator.
 */
export function sample(
  ctx: GpuContext,
  a: { logits: GPUBuffer; row: number; rowStride?: number; vocab: number; result: GPUBuffer; options: SampleOptions; u: number },
): void {
  const o = resolveSampling(a.options);
  const params = new Params(8)
    .u32(a.vocab)
    .u32(o.topK)
    .f32(o.temperature)
    .f32(o.topP)
    .f32(o.minP)
    .f32(a.u)
    .u32(a.row * (a.rowStride ?? a.vocab))
    .u32(0);
  ctx.dispatch(plainPipeline(ctx, 'sample', source), params.buffer, [a.logits, a.result], [1]);
}

/** What sample() writes instead of a token id when the row holds a NaN or +inf logit (or nothing but -inf). */
export const NON_FINITE_TOKEN = 0xffffffff;

/**
 * `id` as sample() wrote it, checked: NON_FINITE_TOKEN (or any id past the vocabulary) becomes
 * a NonFiniteError naming the step, `position` being the number of tokens the logits follow.
 */
export function checkSampled(id: number, vocab: number, position: number): number {
  if (id < vocab) return id;
  throw new NonFiniteError(position, `the logits for position ${position} (after ${position} tokens) hold NaN or infinite values, so no token can be sampled; the weights or the config (e.g. rms_norm_eps, rope_theta) produce non-finite numbers`);
}
