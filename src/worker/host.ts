// The worker side: owns one Engine, runs requests for the page, keeps open streams by id.
// In a module worker: `import { exposeEngineHost } from 'ernie-webgpu/worker'; exposeEngineHost();`
import * as Comlink from 'comlink';
import type { Engine } from '../api/engine.js';
import { DeviceLostError, ErnieError } from '../errors.js';
import { BadRequestError } from '../api/errors.js';
import { installErrorTransfer } from './error_transfer.js';
import type { EngineHostApi, EngineInfo, RequestKind, AnyRequest, AnyChunk, WorkerLoadOptions } from './protocol.js';
import type { LoadProgress } from '../model/ernie45/weights.js';
import type { ModelStats } from '../engine/language_model.js';

/** What an EngineFactory builds: the engine, its adapter's description and its device's `lost` promise. */
export interface HostedEngine {
  engine: Engine;
  adapter: string;
  /** GPUDevice.lost of the engine's device: once it resolves, the next request reloads the model. */
  deviceLost?: Promise<GPUDeviceLostInfo>;
}

/** Builds the engine for `load`; the default loads over WebGPU with loadEngine(). */
export type EngineFactory = (options: WorkerLoadOptions, onProgress?: (p: LoadProgress) => void) => Promise<HostedEngine>;

async function defaultFactory(options: WorkerLoadOptions, onProgress?: (p: LoadProgress) => void): Promise<HostedEngine> {
  const { loadEngine } = await import('../engine/load.js');
  const { blobFolder, urlFolder } = await import('../formats/sources.js');
  const folder = (m: string | File[] | Map<string, Blob>) => (typeof m === 'string' ? urlFolder(m) : blobFolder(m));
  const engine = await loadEngine({
    model: modelSource(options.model, folder),
    tokenizer: options.tokenizer ? folder(options.tokenizer) : undefined,
    kind: options.kind,
    modelName: options.modelName,
    kvCacheBytes: options.kvCacheBytes,
    expertCache: options.expertCache,
    maxBatch: options.maxBatch,
    onProgress,
  });
  const info = engine.gpu.adapterInfo;
  return { engine, adapter: `${info.vendor} ${info.architecture} ${info.description}`.trim(), deviceLost: engine.gpu.device.lost };
}

/** What loadEngine takes for `model`: a .gguf URL or File as it is (one file), else a folder. */
export function modelSource<F>(m: WorkerLoadOptions['model'], folder: (m: string | File[] | Map<string, Blob>) => F): F | string | Blob {
  if (typeof m === 'string') return /\.gguf([?#]|$)/i.test(m) ? m : folder(m);
  if (typeof Blob !== 'undefined' && m instanceof Blob) return m;
  if (Array.isArray(m) && m.length === 1 && !m[0]!.webkitRelativePath && /\.gguf$/i.test(m[0]!.name)) return m[0]!;
  return folder(m as File[] | Map<string, Blob>);
}

/** A load() call, kept to be replayed when the device is lost. */
interface LoadRequest {
  options: WorkerLoadOptions;
  onProgress?: (p: LoadProgress) => void;
}

interface LostDevice {
  reason: string;
  message: string;
}

export class EngineHost implements EngineHostApi {
  private engine: Engine | null = null;
  /** The last load() call, replayed when the device is lost. */
  private loaded: LoadRequest | null = null;
  /** Set when the current engine's device was lost; the next request reloads. */
  private lost: LostDevice | null = null;
  private reloading: Promise<Engine> | null = null;
  private readonly streams = new Map<number, AsyncIterator<AnyChunk>>();
  private readonly controllers = new Map<number, AbortController>();

  constructor(private readonly factory: EngineFactory = defaultFactory) {}

  async load(options: WorkerLoadOptions, onProgress?: (p: LoadProgress) => void): Promise<EngineInfo> {
    const request: LoadRequest = { options, onProgress };
    this.loaded = null;
    this.lost = null;
    const { engine, adapter } = await this.open(request);
    this.loaded = request;
    return { modelName: engine.modelName, kind: engine.kind, contextLength: engine.contextLength, adapter };
  }

  private async open({ options, onProgress }: LoadRequest): Promise<{ engine: Engine; adapter: string }> {
    this.dropEngine();
    const { engine, adapter, deviceLost } = await this.factory(options, onProgress);
    this.engine = engine;
    this.lost = null;
    void deviceLost?.then((info) => {
      if (this.engine === engine) this.lost = { reason: info.reason, message: info.message };
    });
    return { engine, adapter };
  }

  private dropEngine(): void {
    const engine = this.engine;
    this.engine = null; // first, so the device loss that dispose() causes is not taken for a crash
    try {
      engine?.dispose();
    } catch {
      // a lost device may fail to release what it no longer has
    }
  }

  async create(id: number, kind: RequestKind, request: AnyRequest) {
    const engine = await this.requireEngine();
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
      throw this.noteLoss(e);
    }
  }

  async next(id: number): Promise<IteratorResult<AnyChunk, undefined>> {
    const it = this.streams.get(id);
    if (!it) throw new BadRequestError(null, `no open stream ${id}`);
    let r: IteratorResult<AnyChunk>;
    try {
      r = await it.next();
    } catch (e) {
      this.forget(id);
      throw this.noteLoss(e);
    }
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
    this.dropEngine();
    this.loaded = null;
  }

  /** A request that failed because the device is gone marks it lost (for factories that give no `deviceLost`). */
  private noteLoss(e: unknown): unknown {
    if (e instanceof ErnieError && e.code === 'DEVICE_LOST' && !this.lost) {
      this.lost = { reason: e instanceof DeviceLostError ? e.reason : 'unknown', message: e.message };
    }
    return e;
  }

  private forget(id: number): void {
    this.streams.delete(id);
    this.controllers.delete(id);
  }

  /** The engine, reloaded first when its device was lost (one reload however many requests wait). */
  private async requireEngine(): Promise<Engine> {
    if (this.reloading) return this.reloading;
    if (this.engine && !this.lost) return this.engine;
    const lost = this.lost;
    if (!this.loaded || !lost) throw new BadRequestError(null, 'no model loaded: call load() first');
    this.reloading = this.open(this.loaded).then(
      ({ engine }) => engine,
      (cause: unknown) => {
        throw new DeviceLostError(
          lost.reason,
          `The GPU device was lost (${lost.reason}: ${lost.message || 'no message'}) and reloading the model failed (${(cause as Error)?.message ?? cause}): call load() again, or reload the page if the GPU stays unavailable.`,
          { cause },
        );
      },
    );
    try {
      return await this.reloading;
    } finally {
      this.reloading = null;
    }
  }
}

/** Expose an EngineHost on `endpoint` (default: the worker's global scope). */
export function exposeEngineHost(endpoint?: Comlink.Endpoint, factory?: EngineFactory): EngineHost {
  installErrorTransfer();
  const host = new EngineHost(factory);
  Comlink.expose(host, endpoint);
  return host;
}
