// LanguageModel on WebGPU: the forward pass plus on-GPU logit processing and sampling.
// Per generated token the CPU reads back 4 bytes (the token id), or the id and its
// log-probabilities when the step asks for them (same readback). Every buffer sampling uses is
// made once here and rewritten per token: decoding allocates no GPU memory.
import { ErnieError } from '../errors.js';
import type { GpuContext } from '../gpu/context.js';
import { allowedBitmask, logitsMask, logitsPenalty, penaltyEntries } from '../kernels/logits_process.js';
import { checkSampled, sample } from '../kernels/sample.js';
import { logprobs, LOGPROBS_RESULT_WORDS, readLogprobs } from '../kernels/logprobs.js';
import { ErnieForward } from '../model/ernie45/forward.js';
import type { CachedImage, LanguageModel, ModelStats, PromptPart, SampleStep, TokenLogprobs, VisionSpec } from './language_model.js';
import { textForward, type GpuForward } from './gpu_forward.js';

export class GpuLanguageModel implements LanguageModel {
  readonly contextLength: number;
  readonly vocabSize: number;
  readonly vision: VisionSpec | null;
  /** The forward pass this model samples from (text, or VL with its vision tower). */
  readonly model: GpuForward;
  private readonly tokens: number[] = [];
  private images: CachedImage[] = [];
  private readonly result: GPUBuffer; //     [LOGPROBS_RESULT_WORDS] u32: the sampled id, then logprobs
  /** A copy of the last logits that penalties and masks edit, so the originals stay intact. */
  private readonly processed: GPUBuffer; //  [vocab] f32
  /** Penalty / logit_bias entries: at most one per real token. */
  private readonly entries: GPUBuffer; //    [vocabSize, 4] u32 (id, count, bias, pad)
  private readonly allowed: GPUBuffer; //    [ceil(vocabSize / 32)] u32  grammar bitmask
  private hasLogits = false;
  private logprobsOfLast: TokenLogprobs | null = null;

  /** `vocabSize`: the tokenizer's real size; logit rows at or above it are padding. */
  constructor(
    private readonly ctx: GpuContext,
    forward: ErnieForward | GpuForward,
    vocabSize?: number,
  ) {
    const model = forward instanceof ErnieForward ? textForward(forward) : forward;
    this.model = model;
    this.vision = model.vision;
    this.contextLength = model.capacity;
    this.vocabSize = Math.min(vocabSize ?? model.vocabRows, model.vocabRows);
    this.result = ctx.createBuffer('sampled token', LOGPROBS_RESULT_WORDS * 4);
    this.processed = ctx.createBuffer('processed logits', model.vocabRows * 4);
    this.entries = ctx.createBuffer('penalty entries', this.vocabSize * 16);
    this.allowed = ctx.createBuffer('allowed tokens', Math.ceil(this.vocabSize / 32) * 4);
  }

  cachedTokens(): readonly number[] {
    return this.tokens;
  }

  cachedImages(): readonly CachedImage[] {
    return this.images;
  }

  truncate(length: number): void {
    if (length < this.tokens.length) {
      this.tokens.length = Math.max(0, length);
      this.model.truncate(this.tokens.length);
      this.images = this.images.filter((im) => im.end <= this.tokens.length);
      this.hasLogits = false;
    }
  }

  async forward(ids: readonly number[], signal?: AbortSignal, prompt?: PromptPart): Promise<void> {
    const start = this.tokens.length;
    try {
      await this.model.run(ids, signal, prompt);
    } catch (e) {
      // An abort between prefill chunks keeps the chunks that ran: they stay a reusable prefix
      // (a VL prompt with images is undone whole: its positions depend on all of it).
      const done = Math.max(0, this.model.length - start);
      this.tokens.push(...ids.slice(0, done));
      this.hasLogits = false;
      throw e;
    }
    this.tokens.push(...ids);
    for (const m of prompt?.media ?? []) this.images.push({ start: start + m.start, end: start + m.start + m.tokens, key: m.key });
    this.hasLogits = true;
  }

  async sample(p: SampleStep): Promise<number> {
    if (!this.hasLogits) throw new ErnieError('BAD_REQUEST', 'sample() needs logits: call forward() with at least one token first');
    const { ctx } = this;
    // Processing edits the logits in place: work on a copy so a second sample() sees the originals.
    const row = this.processed;
    ctx.copy(this.model.logitsBuffer, 0, row, 0, this.model.vocabRows * 4);
    const entries = penaltyEntries(p, this.vocabSize);
    if (entries.length > 0) {
      ctx.write(this.entries, entries);
      logitsPenalty(ctx, { logits: row, rowOffset: 0, entries: this.entries, count: entries.length / 4, adj: p });
    }
    if (p.allowedTokens || p.allowedMask) {
      if (p.allowedTokens && p.allowedTokens.length === 0) throw new ErnieError('BAD_REQUEST', 'allowedTokens is empty: no token may be sampled');
      const bits = p.allowedTokens ? allowedBitmask(p.allowedTokens, this.vocabSize) : new Uint32Array(Math.ceil(this.vocabSize / 32)).fill(0xffffffff);
      if (p.allowedMask) {
        for (let w = 0; w < bits.length; w++) bits[w]! &= p.allowedMask[w] ?? 0;
        if (bits.every((x) => x === 0)) throw new ErnieError('BAD_REQUEST', 'allowedMask is empty: no token may be sampled');
      }
      ctx.write(this.allowed, bits);
      logitsMask(ctx, { logits: row, rowOffset: 0, allowed: this.allowed, vocab: this.vocabSize });
    }
    sample(ctx, { logits: row, row: 0, vocab: this.vocabSize, result: this.result, options: p, u: p.u });
    const top = p.logprobs ?? null;
    // Log-probabilities of the model's own logits, not of the processed copy.
    if (top !== null) logprobs(ctx, { logits: this.model.logitsBuffer, row: 0, vocab: this.vocabSize, top, result: this.result });
    const words = await ctx.readU32(this.result, 0, top === null ? 1 : 2 + 2 * top);
    const id = checkSampled(words[0]!, this.vocabSize, this.tokens.length);
    this.logprobsOfLast = top === null ? null : readLogprobs(words, top);
    return id;
  }

  lastLogprobs(): TokenLogprobs | null {
    return this.logprobsOfLast;
  }

  settle(): Promise<void> {
    return this.ctx.settle();
  }

  stats(): ModelStats {
    return { experts: this.model.experts?.stats() ?? null };
  }

  dispose(): void {
    this.model.experts?.destroy();
    for (const b of [this.result, this.processed, this.entries, this.allowed]) b.destroy();
  }
}
