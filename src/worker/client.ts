// The page side: a WorkerEngine has the Engine's chat/completions API, runs everything in a
// worker (so the page never janks), streams by pulling chunks, and forwards AbortSignals.
import * as Comlink from 'comlink';
import type {
  ChatCompletion,
  ChatCompletionChunk,
  ChatCompletionRequest,
  Completion,
  CompletionChunk,
  CompletionRequest,
} from '../api/types.js';
import { AbortError } from '../errors.js';
import type { LoadProgress } from '../model/ernie45/weights.js';
import { installErrorTransfer } from './error_transfer.js';
import type { AnyChunk, EngineHostApi, EngineInfo, RequestKind, WorkerLoadOptions } from './protocol.js';
import type { ModelStats } from '../engine/language_model.js';

export interface WorkerEngineOptions extends WorkerLoadOptions {
  onProgress?: (p: LoadProgress) => void;
}

export class WorkerEngine {
  readonly chat: { completions: { create: WorkerEngine['createChat'] } };
  readonly completions: { create: WorkerEngine['createCompletion'] };
  private nextId = 1;

  private constructor(
    private readonly host: Comlink.Remote<EngineHostApi>,
    readonly info: EngineInfo,
  ) {
    this.chat = { completions: { create: this.createChat.bind(this) } };
    this.completions = { create: this.createCompletion.bind(this) };
  }

  /** `endpoint`: a Worker running exposeEngineHost(), or any comlink endpoint. */
  static async create(endpoint: Comlink.Endpoint, options: WorkerEngineOptions): Promise<WorkerEngine> {
    installErrorTransfer();
    const host = Comlink.wrap<EngineHostApi>(endpoint);
    const { onProgress, ...load } = options;
    const info = await host.load(load, onProgress ? Comlink.proxy(onProgress) : undefined);
    return new WorkerEngine(host, info);
  }

  createChat(req: ChatCompletionRequest & { stream: true }): Promise<AsyncIterable<ChatCompletionChunk>>;
  createChat(req: ChatCompletionRequest & { stream?: false | null }): Promise<ChatCompletion>;
  createChat(req: ChatCompletionRequest): Promise<ChatCompletion | AsyncIterable<ChatCompletionChunk>>;
  createChat(req: ChatCompletionRequest): Promise<ChatCompletion | AsyncIterable<ChatCompletionChunk>> {
    return this.request('chat', req) as Promise<ChatCompletion | AsyncIterable<ChatCompletionChunk>>;
  }

  createCompletion(req: CompletionRequest & { stream: true }): Promise<AsyncIterable<CompletionChunk>>;
  createCompletion(req: CompletionRequest & { stream?: false | null }): Promise<Completion>;
  createCompletion(req: CompletionRequest): Promise<Completion | AsyncIterable<CompletionChunk>>;
  createCompletion(req: CompletionRequest): Promise<Completion | AsyncIterable<CompletionChunk>> {
    return this.request('completion', req) as Promise<Completion | AsyncIterable<CompletionChunk>>;
  }

  /** engine.stats() of the engine in the worker. */
  stats(): Promise<ModelStats> {
    return this.host.stats();
  }

  dispose(): void {
    void this.host.dispose();
    this.host[Comlink.releaseProxy]();
  }

  private async request(kind: RequestKind, req: ChatCompletionRequest | CompletionRequest): Promise<unknown> {
    const { signal, ...plain } = req;
    if (signal?.aborted) throw new AbortError();
    const id = this.nextId++;
    const onAbort = () => void this.host.abort(id);
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const result = await this.host.create(id, kind, plain);
      if (!('stream' in result)) return result;
      return this.pull(id, signal, onAbort);
    } finally {
      if (!plain.stream) signal?.removeEventListener('abort', onAbort);
    }
  }

  private async *pull(id: number, signal: AbortSignal | undefined, onAbort: () => void): AsyncGenerator<AnyChunk, void, undefined> {
    let done = false;
    try {
      while (true) {
        const r = await this.host.next(id);
        if (r.done) {
          done = true;
          return;
        }
        yield r.value;
      }
    } finally {
      signal?.removeEventListener('abort', onAbort);
      if (!done) await this.host.release(id);
    }
  }
}
