// The contract between the OpenAI-style API (src/api/) and a loaded model. The API knows
// nothing of the GPU: it renders and tokenizes, then drives one of these. The WebGPU
// implementation is src/engine/gpu_model.ts; tests may drive a CPU one.
import type { ExpertStats } from '../experts/stats.js';
import type { SampleStep, TokenLogprobs } from '../sampling/params';

export type { SampleStep, TokenLogprobs };

/** What engine.stats() reports: the routed-expert cache's counters (null without MoE layers or on the CPU). */
export interface ModelStats {
  experts: ExpertStats | null;
}

export interface LanguageModel {
  /** Maximum tokens the KV cache holds. */
  readonly contextLength: number;
  /** Logit rows that are real tokens (ids >= this are padding and never sampled). */
  readonly vocabSize: number;
  /** The token ids whose keys/values are in the cache, in order. */
  cachedTokens(): readonly number[];
  /** Forget cached positions >= length (keeps a shared prefix for the next request). */
  truncate(length: number): void;
  /** Append `ids` to the cache and compute the logits of the last one (kept on the GPU). */
  forward(ids: readonly number[], signal?: AbortSignal): Promise<void>;
  /** Choose the next token from the last logits. Only the id is read back. */
  sample(step: SampleStep): Promise<number>;
  /**
   * The log-probabilities of the last sample() whose step set `logprobs`, read back with its
   * id (null after a sample() that did not ask). Optional: a model without it refuses logprobs.
   */
  lastLogprobs?(): TokenLogprobs | null;
  /** Counters of the model's caches (optional: CPU and scripted models have none). */
  stats?(): ModelStats;
  dispose(): void;
}
