// The worker side: owns one Engine, runs requests for the page, keeps open streams by id.
// In a module worker: `import { exposeEngineHost } from 'ernie-webgpu/worker'; exposeEngineHost();`
import * as Comlink from 'comlink';
import type { Engine } from '../api/engine.js';
import { ErnieError } from '../errors.js';
import type { EngineHostApi, EngineInfo, RequestKind, AnyRequest, AnyChunk, WorkerLoadOptions } from './protocol.js';
import type { LoadProgress } from '../model/ernie45/weights.js';
import type { ModelStats } from '../engine/language_model.js';

/** Builds the engine for `load`; the default loads over WebGPU with loadEngine(). */
export type EngineFactory = (options: WorkerLoadOptions, onProgress?: (p: LoadProgress) => void) => Promise<{ engine: Engine; adapter: string }>;

async function defaultFactory(options: WorkerLoadOptions, onProgress?: (p: LoadProgress) => void): Promise<{ engine: Engine; adapter: string }> {
  const { loadEngine } = await import('../engine/load.js');
  const { blobFolder, urlFolder } = await import('../formats/sources.js');
  const folder = (m: string | File[]) => (typeof m === 'string' ? urlFolder(m) : blobFolder(m));
  const engine = await loadEngine({
    model: folder(options.model),
    tokenizer: options.tokenizer ? folder(options.tokenizer) : undefined,
    kind: options.kind,
    modelName: options.modelName,
    kvCacheBytes: options.kvCacheBytes,
    expertCache: options.expertCache,
    maxBatch: options.maxBatch,
    onProgress,
  });
  const info = engine.gpu.adapterInfo;
  return { engine, adapter: `${info.vendor} ${info.architecture} ${info.description}`.trim() };
}

export class EngineHost implements EngineHostApi {
  private engine: Engine | null = null;
  private readonly streams = new Map<number, AsyncIterator<AnyChunk>>();
  private readonly controllers = new Map<number, AbortController>();

  constructor(private readonly factory: EngineFactory = defaultFactory) {}

  async load(options: WorkerLoadOptions, onProgress?: (p: LoadProgress) => void): Promise<EngineInfo> {
    this.engine?.dispose();
    this.engine = null;
    const { engine, adapter } = await this.factory(options, onProgress);
    this.engine = engine;
    return { modelName: engine.modelName, kind: engine.kind, contextLength: engine.contextLength, adapter };
  }

  async create(id: number, kind: RequestKind, request: AnyRequest) {
    const engine = this.requireEngine();
    const controller = new AbortController();
    this.controllers.set(id, controller);
    const req = { ...request, signal: controller.signal };
    try {
      const result = kind === 'chat' ? await engine.chat.completions.create(req as never) : await engine.completions.create(req as never);
      if (Symbol.asyncIterator in (result as object)) {
        this.streams.set(id, (result as AsyncIterable<AnyChunk>)[Symbol.asyncIterator]());
        return { stream: true as const };
      }
      this.controllers.delete(id);
      return result as Exclude<typeof result, AsyncIterable<unknown>>;
    } catch (e) {
      this.controllers.delete(id);
      throw e;
    }
  }

  async next(id: number): Promise<IteratorResult<AnyChunk, undefined>> {
    const it = this.streams.get(id);
    if (!it) throw new ErnieError('BAD_REQUEST', `no open stream ${id}`);
    const r = await it.next();
    if (r.done) this.forget(id);
    return r.done ? { done: true, value: undefined } : r;
  }

  abort(id: number): void {
    this.controllers.get(id)?.abort();
  }

  async release(id: number): Promise<void> {
    const it = this.streams.get(id);
    this.forget(id);
    await it?.return?.();
  }

  stats(): ModelStats {
    if (!this.engine) throw new ErnieError('BAD_REQUEST', 'no engine loaded');
    return this.engine.stats();
  }

  dispose(): void {
    for (const c of this.controllers.values()) c.abort();
    this.streams.clear();
    this.controllers.clear();
    this.engine?.dispose();
    this.engine = null;
  }

  private forget(id: number): void {
    this.streams.delete(id);
    this.controllers.delete(id);
  }

  private requireEngine(): Engine {
    if (!this.engine) throw new ErnieError('BAD_REQUEST', 'no model loaded: call load() first');
    return this.engine;
  }
}

/** Expose an EngineHost on `endpoint` (default: the worker's global scope). */
export function exposeEngineHost(endpoint?: Comlink.Endpoint, factory?: EngineFactory): EngineHost {
  const host = new EngineHost(factory);
  Comlink.expose(host, endpoint);
  return host;
}
