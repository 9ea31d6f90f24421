// What crosses the page <-> worker boundary (through comlink). The worker owns the GPU and the
// model; the page holds a WorkerEngine with the same chat/completions API. Streams are pulled
// chunk by chunk (`next`), so a page that stops reading stops generation.
import type {
  ChatCompletion,
  ChatCompletionChunk,
  ChatCompletionRequest,
  Completion,
  CompletionChunk,
  CompletionRequest,
} from '../api/types.js';
import type { LoadProgress } from '../model/ernie45/weights.js';
import type { ExpertCacheOptions } from '../experts/budget.js';
import type { ModelStats } from '../engine/language_model.js';

/** Load options that survive structured cloning: URLs or picked files, no functions. */
export interface WorkerLoadOptions {
  /**
   * Base URL of the checkpoint folder or of a .gguf file; a picked .gguf File; the picked files of
   * a folder (File.webkitRelativePath / name); or a map from relative path to Blob (a folder read
   * with the File System Access API).
   */
  model: string | File | File[] | Map<string, Blob>;
  tokenizer?: string | File[] | Map<string, Blob>;
  kind?: 'chat' | 'base';
  modelName?: string;
  kvCacheBytes?: number;
  maxBatch?: number;
  /** The routed-expert cache's budgets (loadEngine's expertCache). */
  expertCache?: ExpertCacheOptions;
}

export interface EngineInfo {
  modelName: string;
  kind: 'chat' | 'base';
  contextLength: number;
  adapter: string;
}

export type RequestKind = 'chat' | 'completion';
export type AnyRequest = Omit<ChatCompletionRequest, 'signal'> | Omit<CompletionRequest, 'signal'>;
export type AnyResponse = ChatCompletion | Completion;
export type AnyChunk = ChatCompletionChunk | CompletionChunk;

/** The API the worker exposes. Request ids are chosen by the page so it can abort before a reply. */
export interface EngineHostApi {
  load(options: WorkerLoadOptions, onProgress?: (p: LoadProgress) => void): Promise<EngineInfo>;
  /** Non-streaming requests resolve with the response; streaming ones with `{ stream: true }`. */
  create(id: number, kind: RequestKind, request: AnyRequest): Promise<AnyResponse | { stream: true }>;
  next(id: number): Promise<IteratorResult<AnyChunk, undefined>>;
  abort(id: number): void;
  /** The page stopped reading a stream early. */
  release(id: number): Promise<void>;
  /** engine.stats() of the loaded engine. */
  stats(): ModelStats;
  dispose(): void;
}
