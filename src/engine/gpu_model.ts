// LanguageModel on WebGPU: the forward pass plus on-GPU logit processing and sampling.
// Per generated token the CPU reads back 4 bytes (the token id).
import { ErnieError } from '../errors.js';
import type { GpuContext } from '../gpu/context.js';
import { allowedBitmask, logitsMask, logitsPenalty, penaltyEntries } from '../kernels/logits_process.js';
import { sample } from '../kernels/sample.js';
import type { ErnieForward } from '../model/ernie45/forward.js';
import type { LanguageModel, ModelStats, SamplingParams } from './language_model.js';

export class GpuLanguageModel implements LanguageModel {
  readonly contextLength: number;
  readonly vocabSize: number;
  private readonly tokens: number[] = [];
  private readonly result: GPUBuffer;
  /** A copy of the last logits that penalties and masks edit, so the originals stay intact. */
  private readonly processed: GPUBuffer;
  private hasLogits = false;

  /** `vocabSize`: the tokenizer's real size; logit rows at or above it are padding. */
  constructor(
    private readonly ctx: GpuContext,
    readonly model: ErnieForward,
    vocabSize = model.cfg.vocabSize,
  ) {
    this.contextLength = model.kv.capacity;
    this.vocabSize = Math.min(vocabSize, model.cfg.vocabSize);
    this.result = ctx.createBuffer('sampled token', 4);
    this.processed = ctx.createBuffer('processed logits', model.cfg.vocabSize * 4);
  }

  cachedTokens(): readonly number[] {
    return this.tokens;
  }

  truncate(length: number): void {
    if (length < this.tokens.length) {
      this.tokens.length = Math.max(0, length);
      this.model.truncate(this.tokens.length);
      this.hasLogits = false;
    }
  }

  async forward(ids: readonly number[], signal?: AbortSignal): Promise<void> {
    await this.model.run(ids, { signal });
    this.tokens.push(...ids);
    this.hasLogits = true;
  }

  async sample(p: SamplingParams): Promise<number> {
    if (!this.hasLogits) throw new ErnieError('BAD_REQUEST', 'sample() needs logits: call forward() with at least one token first');
    const { ctx } = this;
    const logits = this.model.logitsBuffer;
    // Processing edits the logits in place: work on a copy so a second sample() sees the originals.
    const row = this.processed;
    ctx.copy(logits, 0, row, 0, this.model.cfg.vocabSize * 4);
    const entries = penaltyEntries(p, this.vocabSize);
    const temp: GPUBuffer[] = [];
    if (entries.length > 0) {
      const buf = ctx.upload('penalties', entries);
      temp.push(buf);
      logitsPenalty(ctx, { logits: row, rowOffset: 0, entries: buf, count: entries.length / 4, adj: p });
    }
    if (p.allowedTokens) {
      if (p.allowedTokens.length === 0) throw new ErnieError('BAD_REQUEST', 'allowedTokens is empty: no token may be sampled');
      const buf = ctx.upload('allowed', allowedBitmask(p.allowedTokens, this.vocabSize));
      temp.push(buf);
      logitsMask(ctx, { logits: row, rowOffset: 0, allowed: buf, vocab: this.vocabSize });
    }
    sample(ctx, { logits: row, row: 0, vocab: this.vocabSize, result: this.result, options: p, u: p.u });
    const [id] = await ctx.readU32(this.result, 0, 1);
    temp.forEach((b) => b.destroy());
    return id;
  }

  stats(): ModelStats {
    return { experts: this.model.w.experts?.stats() ?? null };
  }

  dispose(): void {
    this.model.w.experts?.destroy();
    this.result.destroy();
    this.processed.destroy();
  }
}
