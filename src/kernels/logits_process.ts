// Host code of logits_penalty.wgsl and logits_mask.wgsl: what the sampler sees is the model's
// logits after penalties, logit_bias and a grammar's allowed-token mask.
import penaltySource from '../../shaders/logits_penalty.wgsl?raw';
import maskSource from '../../shaders/logits_mask.wgsl?raw';
import { type GpuContext, Params } from '../gpu/context.js';
import { elementGrid, plainPipeline } from './common.js';
import { penalised, type LogitAdjustments } from '../sampling/params.js';

export type { LogitAdjustments };

/** One entry per distinct token: id, count, bias (16 bytes each, as the shader's Entry). */
export function penaltyEntries(a: LogitAdjustments, vocab: number): Uint32Array {
  const counts = new Map<number, number>();
  if (penalised(a)) for (const id of a.penaltyTokens) if (id >= 0 && id < vocab) counts.set(id, (counts.get(id) ?? 0) + 1);
  for (const id of a.logitBias.keys()) if (id >= 0 && id < vocab && !counts.has(id)) counts.set(id, 0);
  const out = new Uint32Array(counts.size * 4);
  const f = new Float32Array(out.buffer);
  let j = 0;
  for (const [id, count] of counts) {
    out[j * 4] = id;
    out[j * 4 + 1] = count;
    f[j * 4 + 2] = a.logitBias.get(id) ?? 0;
    j++;
  }
  return out;
}

/** Apply penalties and logit_bias in place to the row of `logits` starting at rowOffset (floats). */
export function logitsPenalty(ctx: GpuContext, a: { logits: GPUBuffer; rowOffset: number; entries: GPUBuffer; count: number; adj: LogitAdjustments }): void {
  if (a.count === 0) return;
  const params = new Params(8).u32(a.count).u32(a.rowOffset).f32(a.adj.repetitionPenalty).f32(a.adj.frequencyPenalty).f32(a.adj.presencePenalty).u32(0).u32(0).u32(0);
  ctx.dispatch(plainPipeline(ctx, 'logits_penalty', penaltySource), params.buffer, [a.logits, a.entries], [Math.ceil(a.count / 64)]);
}

/** Set every token whose bit is clear in `allowed` ([ceil(vocab/32)] u32) to the lowest logit. */
export function logitsMask(ctx: GpuContext, a: { logits: GPUBuffer; rowOffset: number; allowed: GPUBuffer; vocab: number }): void {
  const params = new Params(4).u32(a.vocab).u32(a.rowOffset).u32(0).u32(0);
  ctx.dispatch(plainPipeline(ctx, 'logits_mask', maskSource), params.buffer, [a.logits, a.allowed], elementGrid(a.vocab));
}

/** Token ids -> bitmask with one bit per id. */
export function allowedBitmask(ids: ArrayLike<number>, vocab: number): Uint32Array {
  const mask = new Uint32Array(Math.ceil(vocab / 32));
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    if (id >= 0 && id < vocab) mask[id >>> 5] |= 1 << (id & 31);
  }
  return mask;
}
