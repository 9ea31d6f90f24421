// The contract between the OpenAI-style API (src/api/) and a loaded model. The API knows
// nothing of the GPU: it renders and tokenizes, then drives one of these. The WebGPU
// implementation is src/engine/gpu_model.ts; tests may drive a CPU one.
//
// A prompt is token ids plus media segments: for each image, its preprocessed pixels and grid
// and where its placeholder tokens start in the ids. A model with a vision tower says how it
// wants images prepared (`vision`); one without refuses media with a BadRequestError.
import type { ExpertStats } from '../experts/stats.js';
import type { RgbImage } from '../image/rgb.js';
import type { SampleStep, TokenLogprobs } from '../sampling/params';

export type { SampleStep, TokenLogprobs };

/** What engine.stats() reports: the routed-expert cache's counters (null without MoE layers or on the CPU). */
export interface ModelStats {
  experts: ExpertStats | null;
}

/** One image in a prompt: its placeholder run is ids[start, start + tokens). */
export interface ImageSegment {
  /** Index in the forwarded ids of the image's first placeholder token. */
  start: number;
  /** Placeholder tokens the image takes (one per merged patch). */
  tokens: number;
  /** [patches, C * tp * p * p] f32, the processor's window order. */
  pixelValues: Float32Array;
  grid: { t: number; h: number; w: number };
  /** Identity of the image's content (a digest of its pixels): the same key means the same KV. */
  key: string;
}

/** An image whose keys/values are in the cache: placeholders at cache positions [start, end). */
export interface CachedImage {
  start: number;
  end: number;
  key: string;
}

/** What a vision model asks of the API to turn a picture into a prompt segment. */
export interface VisionSpec {
  /** The token the chat template writes once per image; the API expands it to `tokens` copies. */
  placeholderId: number;
  /** Placeholder tokens an image of this size (before resizing) becomes; throws ImageError for a size the processor refuses. */
  tokensFor(width: number, height: number, source: string): number;
  /** Largest image (in pixels, before resizing) the API decodes. */
  maxDecodePixels: number;
  /** Resize, rescale, normalise and patchify one decoded image. */
  prepare(image: RgbImage, source: string): { pixelValues: Float32Array; grid: { t: number; h: number; w: number }; tokens: number };
}

/** The rest of a prompt forward: its media (none for generated tokens). */
export interface PromptPart {
  media: readonly ImageSegment[];
}

export interface LanguageModel {
  /** Maximum tokens the KV cache holds. */
  readonly contextLength: number;
  /** Logit rows that are real tokens (ids >= this are padding and never sampled). */
  readonly vocabSize: number;
  /** Present on models with a vision tower. */
  readonly vision?: VisionSpec | null;
  /** The token ids whose keys/values are in the cache, in order. */
  cachedTokens(): readonly number[];
  /** The images among the cached tokens (optional: text models have none). */
  cachedImages?(): readonly CachedImage[];
  /** Forget cached positions >= length (keeps a shared prefix for the next request). */
  truncate(length: number): void;
  /**
   * Append `ids` to the cache and compute the logits of the last one (kept on the GPU).
   * `prompt` is given for prompt tokens (with their images) and absent for generated ones.
   */
  forward(ids: readonly number[], signal?: AbortSignal, prompt?: PromptPart): Promise<void>;
  /** Choose the next token from the last logits. Only the id is read back. */
  sample(step: SampleStep): Promise<number>;
  /**
   * Resolves once the device has finished all work forward()/sample() queued (optional: CPU
   * models finish within their calls). Timers (usage timings) await it before reading the clock.
   */
  settle?(): Promise<void>;
  /**
   * The log-probabilities of the last sample() whose step set `logprobs`, read back with its
   * id (null after a sample() that did not ask). Optional: a model without it refuses logprobs.
   */
  lastLogprobs?(): TokenLogprobs | null;
  /** Counters of the model's caches (optional: CPU and scripted models have none). */
  stats?(): ModelStats;
  dispose(): void;
}
