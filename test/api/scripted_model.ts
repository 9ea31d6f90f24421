// A LanguageModel that "generates" a fixed token sequence, then an end token: for tests that
// need an exact model output (tool calls, thinking) the tiny random model would never write.
import type { LanguageModel, SampleStep } from '../../src/engine/language_model';
import { throwIfAborted } from '../../src/errors';
import { maskHas } from '../../src/sampling/cpu_sampler';

export class ScriptedModel implements LanguageModel {
  readonly forwardLog: number[][] = [];
  private tokens: number[] = [];
  private step = 0;

  constructor(
    private readonly script: readonly number[],
    private readonly endId: number,
    readonly vocabSize: number,
    readonly contextLength = 4096,
  ) {}

  cachedTokens(): readonly number[] {
    return this.tokens;
  }

  truncate(length: number): void {
    this.tokens = this.tokens.slice(0, length);
  }

  async forward(ids: readonly number[], signal?: AbortSignal): Promise<void> {
    throwIfAborted(signal);
    this.forwardLog.push([...ids]);
    this.tokens.push(...ids);
  }

  async sample(params: SampleStep): Promise<number> {
    const id = this.step < this.script.length ? this.script[this.step]! : this.endId;
    this.step++;
    if (params.allowedTokens && !params.allowedTokens.includes(id)) throw new Error(`scripted token ${id} is not allowed here`);
    if (params.allowedMask && !maskHas(params.allowedMask, id)) throw new Error(`scripted token ${id} is not allowed here`);
    return id;
  }

  /** Plays the script again from the start (next request). */
  rewind(): void {
    this.step = 0;
  }

  dispose(): void {}
}
