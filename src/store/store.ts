// The model store: packages (FORMAT.md) kept by model id in a StoreBackend (IndexedDB in a
// browser, a folder in Node), downloaded resumably with bounded parallelism, every file
// verified against its manifest SHA-256 before it counts as stored, quota checked up front.
import { abortErrorOf, AbortError, ErnieError, FileFormatError, IntegrityError, QuotaError, type DeletableModel } from '../errors';
import { MANIFEST_FILE, MAX_MANIFEST_BYTES, parseManifestText, validateManifest } from '../package/manifest';
import type { FolderSource } from '../formats/source';
import type { ModelState, StoreBackend } from './backend';
import { isQuotaExceeded } from './backend';
import { fetchFile, type FetchContext } from './fetch_file';
import { httpRequest, readBody, type HttpOptions } from '../formats/http';
import { ProgressTracker, type DownloadProgress } from './progress';
import { ModelSession, type PackageFile } from './session';
import { packageView, type PackageViewOptions } from './view';
import { verifyStoredFile } from './verify';

/** 16 MiB: far below the ~64 MiB past which one IndexedDB value gets slow or fails. */
export const DEFAULT_CHUNK_BYTES = 16 * 1024 * 1024;

export type DownloadMode = 'full' | 'lazy';

export interface DownloadOptions {
  /** The model's id in the store (default: the base URL). */
  id?: string;
  signal?: AbortSignal;
  onProgress?: (p: DownloadProgress) => void;
  /** Files fetched at once (default 4). */
  parallel?: number;
  /** 'full': every file now. 'lazy': tokenizer/template files and core shards now, expert shards on first use. */
  mode?: DownloadMode;
  /** Retry policy of each request (network errors, 5xx, 429). */
  retry?: HttpOptions['retry'];
  /** A response that sends nothing for this long is dropped and resumed (default 30 s). */
  stallTimeoutMs?: number;
}

/** What the store holds of one model. */
export interface StoredModel {
  id: string;
  baseUrl: string;
  /** Every file verified: loads without the network. */
  complete: boolean;
  bytesTotal: number;
  bytesStored: number;
  files: { total: number; verified: number; partial: number; missing: number };
  created: number;
  lastUsed: number;
}

export interface StoreEstimate {
  /** Bytes the origin uses (every IndexedDB database, caches, ...), and may use. */
  usage: number | undefined;
  quota: number | undefined;
  /** quota - usage. */
  available: number | undefined;
  /** Bytes each stored model holds. */
  models: { id: string; bytes: number }[];
}

export interface VerifyReport {
  /** Files whose stored bytes match their SHA-256. */
  verified: string[];
  /** Files found corrupt or incomplete and dropped (a later download or lazy load fetches them again). */
  dropped: string[];
}

export interface OpenStoreOptions {
  /** Default: IndexedDB database "ernie-webgpu", object store "models". */
  backend?: StoreBackend;
  /** Chunk size of newly stored models (default 16 MiB). */
  chunkBytes?: number;
}

/** The base URL with one trailing slash (query string kept apart). */
export function normalizeBaseUrl(baseUrl: string): { base: string; query: string } {
  const q = baseUrl.indexOf('?');
  const path = q < 0 ? baseUrl : baseUrl.slice(0, q);
  return { base: path.endsWith('/') ? path : path + '/', query: q < 0 ? '' : baseUrl.slice(q) };
}

export function fileUrl(baseUrl: string, path: string): string {
  const { base, query } = normalizeBaseUrl(baseUrl);
  return base + path.split('/').map(encodeURIComponent).join('/') + query;
}

export class ModelStore {
  private readonly sessions = new Map<string, Promise<ModelSession | undefined>>();

  constructor(
    readonly backend: StoreBackend,
    readonly chunkBytes = DEFAULT_CHUNK_BYTES,
  ) {
    if (!Number.isSafeInteger(chunkBytes) || chunkBytes < 1) throw new ErnieError('BAD_REQUEST', `chunkBytes must be a positive integer, got ${chunkBytes}`);
  }

  /** Every stored model (complete or not). */
  async list(): Promise<StoredModel[]> {
    const out: StoredModel[] = [];
    for (const id of await this.backend.listModels()) {
      const m = await this.get(id);
      if (m) out.push(m);
    }
    return out;
  }

  async get(id: string): Promise<StoredModel | undefined> {
    const s = await this.session(id);
    return s && summary(s);
  }

  /** Drops a model and all its bytes. */
  async delete(id: string): Promise<void> {
    const s = await this.session(id);
    await (s ? s.write(() => this.backend.deleteModel(id)) : this.backend.deleteModel(id));
    this.sessions.delete(id);
  }

  /** navigator.storage.estimate() (or the disk's free space) and what each stored model uses. */
  async estimate(): Promise<StoreEstimate> {
    const e = await this.backend.estimate();
    const models: { id: string; bytes: number }[] = [];
    for (const m of await this.list()) models.push({ id: m.id, bytes: m.bytesStored });
    return { usage: e?.usage, quota: e?.quota, available: e ? Math.max(0, e.quota - e.usage) : undefined, models };
  }

  /** Asks the browser not to evict the store under storage pressure (navigator.storage.persist()). */
  persist(): Promise<boolean> {
    return this.backend.persist();
  }

  /** Re-hashes every stored file of a model; corrupt or incomplete ones are dropped. */
  async verify(id: string, opts: { signal?: AbortSignal } = {}): Promise<VerifyReport> {
    const s = await this.requireSession(id);
    const report: VerifyReport = { verified: [], dropped: [] };
    for (const f of s.files()) {
      if (s.fileState(f.path).state !== 'verified') continue;
      if (await verifyStoredFile(s, f, opts.signal)) report.verified.push(f.path);
      else report.dropped.push(f.path);
    }
    return report;
  }

  /**
   * Downloads the package at `baseUrl` into the store, or the part of it not stored yet. Resolves
   * when the files of `mode` are verified; throws QuotaError (before the first byte when it
   * cannot fit), IntegrityError (a file whose SHA-256 is wrong: never stored), AbortError, or
   * ErnieError FETCH_FAILED naming the file and URL. The store stays consistent either way.
   */
  async download(baseUrl: string, opts: DownloadOptions = {}): Promise<StoredModel> {
    const { base, query } = normalizeBaseUrl(baseUrl);
    const id = opts.id ?? base + query;
    const mode = opts.mode ?? 'full';
    const parallel = opts.parallel ?? 4;
    if (!Number.isSafeInteger(parallel) || parallel < 1) throw new ErnieError('BAD_REQUEST', `parallel must be a positive integer, got ${parallel}`);
    if (mode !== 'full' && mode !== 'lazy') throw new ErnieError('BAD_REQUEST', `mode must be 'full' or 'lazy', got ${JSON.stringify(mode)}`);
    const url = (path: string) => fileUrl(base + query, path);

    let session = await this.session(id);
    const isNew = !session;
    if (!session) {
      const manifest = validateManifest(parseManifestText(await fetchText(url(MANIFEST_FILE), opts))).manifest;
      session = new ModelSession(this.backend, { id, baseUrl: base + query, manifest, chunkBytes: this.chunkBytes, created: Date.now() }, { files: {}, bytesStored: 0, lastUsed: Date.now() });
    }
    const s = session;
    const plan = s.files().filter((f) => mode === 'full' || f.kind !== 'expert');
    const needed = plan.reduce((n, f) => n + f.bytes - s.storedBytes(f.path), 0) + (mode === 'full' ? s.sizeOf(MANIFEST_FILE) - s.storedBytes(MANIFEST_FILE) : 0);
    await this.checkRoom(id, needed);
    if (isNew) {
      await this.backend.putRecords(id, s.info, s.snapshot());
      this.sessions.set(id, Promise.resolve(s));
    }

    const progress = new ProgressTracker(plan.reduce((n, f) => n + f.bytes, 0), plan.length, opts.onProgress);
    for (const f of plan) progress.alreadyHave(s.storedBytes(f.path), s.fileState(f.path).state === 'verified');
    progress.emit(undefined, true);
    await this.runPool(s, plan.filter((f) => s.fileState(f.path).state !== 'verified'), progress, url, opts, parallel);
    if (mode === 'full') await this.writeManifest(s);
    await this.touch(s);
    return summary(s);
  }

  /**
   * A FolderSource over a stored model for the engine (openPackage / loadEngine): each file is
   * re-hashed before its first use; a missing or corrupt file is fetched from the model's base
   * URL (lazy mode, a repaired copy) or, offline, a typed error naming it.
   */
  async folder(id: string, opts: PackageViewOptions = {}): Promise<FolderSource> {
    const s = await this.requireSession(id);
    await this.touch(s);
    return packageView(s, opts, (file, signal) => this.fetchOne(s, file, opts.baseUrl ?? s.info.baseUrl, { signal, onProgress: opts.onProgress, retry: opts.retry }));
  }

  /**
   * What loadEngine does with `store`: the stored model when it has what `mode` needs (no
   * network at all), else a download of the rest first; then the model's folder.
   */
  async open(baseUrl: string, opts: DownloadOptions & Pick<PackageViewOptions, 'verify'> = {}): Promise<FolderSource> {
    const { base, query } = normalizeBaseUrl(baseUrl);
    const id = opts.id ?? base + query;
    const s = await this.session(id);
    const mode = opts.mode ?? 'full';
    const ready = s && s.files().every((f) => (mode === 'lazy' && f.kind === 'expert') || s.fileState(f.path).state === 'verified');
    if (!ready) await this.download(baseUrl, opts);
    return this.folder(id, { baseUrl: base + query, signal: opts.signal, onProgress: opts.onProgress, verify: opts.verify, retry: opts.retry });
  }

  // ---- internals ----

  private session(id: string): Promise<ModelSession | undefined> {
    let p = this.sessions.get(id);
    if (!p) {
      p = (async () => {
        const [info, state] = await Promise.all([this.backend.getInfo(id), this.backend.getState(id)]);
        return info ? new ModelSession(this.backend, info, state ?? { files: {}, bytesStored: 0, lastUsed: info.created }) : undefined;
      })();
      p.then((s) => s ?? this.sessions.delete(id), () => this.sessions.delete(id));
      this.sessions.set(id, p);
    }
    return p;
  }

  private async requireSession(id: string): Promise<ModelSession> {
    const s = await this.session(id);
    if (!s) throw new ErnieError('BAD_REQUEST', `the model store (${this.backend.description}) has no model "${id}" (has: ${(await this.backend.listModels()).join(', ') || 'none'})`);
    return s;
  }

  private async deletable(except: string): Promise<DeletableModel[]> {
    const out: DeletableModel[] = [];
    for (const m of await this.list()) if (m.id !== except) out.push({ id: m.id, bytes: m.bytesStored, lastUsed: m.lastUsed });
    return out.sort((a, b) => a.lastUsed - b.lastUsed);
  }

  private async checkRoom(id: string, needed: number): Promise<void> {
    const e = await this.backend.estimate();
    if (!e || needed <= e.quota - e.usage) return;
    const available = Math.max(0, e.quota - e.usage);
    const deletable = await this.deletable(id);
    throw new QuotaError(
      `${id} needs ${mib(needed)} more, but the store (${this.backend.description}) has ${mib(available)} free of ${mib(e.quota)}; nothing was written.` +
        (deletable.length ? ` Deleting stored models would free: ${deletable.map((d) => `${d.id} (${mib(d.bytes)})`).join(', ')}` : ''),
      { needed, available, deletable },
    );
  }

  private async quotaError(id: string, what: string, needed: number, cause: unknown): Promise<QuotaError> {
    const e = await this.backend.estimate().catch(() => undefined);
    const available = e ? Math.max(0, e.quota - e.usage) : 0;
    const deletable = await this.deletable(id).catch(() => []);
    return new QuotaError(
      `${id}: the store (${this.backend.description}) ran out of space while writing ${what}; that partial file was dropped, everything else stored is intact.` +
        (deletable.length ? ` Deleting stored models would free: ${deletable.map((d) => `${d.id} (${mib(d.bytes)})`).join(', ')}` : ''),
      { needed, available, deletable },
      { cause },
    );
  }

  private fetchContext(s: ModelSession, url: (path: string) => string, progress: ProgressTracker, opts: DownloadOptions, signal: AbortSignal | undefined): FetchContext {
    return {
      session: s, url, signal, progress, retry: opts.retry, stallTimeoutMs: opts.stallTimeoutMs,
      quotaError: (f: PackageFile, cause) => this.quotaError(s.id, f.path, s.files().reduce((n, x) => n + x.bytes - s.storedBytes(x.path), 0), cause),
    };
  }

  /**
   * Fetches `files` with at most `parallel` at once. A quota error or abort stops all; a file
   * failing its SHA-256 lets the others finish (a later download fetches only it); other errors
   * stop new files. The first error is thrown at the end.
   */
  private async runPool(s: ModelSession, files: PackageFile[], progress: ProgressTracker, url: (p: string) => string, opts: DownloadOptions, parallel: number): Promise<void> {
    const stop = new AbortController();
    const signal = opts.signal ? AbortSignal.any([opts.signal, stop.signal]) : stop.signal;
    const ctx = this.fetchContext(s, url, progress, opts, signal);
    let next = 0;
    const out: { failure?: Error } = {};
    const worker = async () => {
      while ((out.failure === undefined || out.failure instanceof IntegrityError) && next < files.length) {
        const f = files[next++]!;
        try {
          await this.fetchShared(s, f, () => fetchFile(ctx, f));
        } catch (err) {
          const e = err instanceof Error ? err : new Error(String(err));
          const prev = out.failure as Error | undefined;
          if (prev === undefined || (prev instanceof AbortError && !(e instanceof AbortError))) out.failure = e;
          if (e instanceof QuotaError || e instanceof AbortError) stop.abort();
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(parallel, files.length) }, worker));
    if (opts.signal?.aborted) throw abortErrorOf(opts.signal);
    if (out.failure !== undefined) throw out.failure;
  }

  /** One download per file at a time, shared by a full download and lazy reads of the same model. */
  private fetchShared(s: ModelSession, f: PackageFile, run: () => Promise<void>): Promise<void> {
    let p = s.inFlight.get(f.path);
    if (!p) {
      p = run().finally(() => s.inFlight.delete(f.path));
      s.inFlight.set(f.path, p);
    }
    return p;
  }

  private async fetchOne(s: ModelSession, f: PackageFile, baseUrl: string, opts: DownloadOptions): Promise<void> {
    await this.checkRoom(s.id, f.bytes - s.storedBytes(f.path));
    const progress = new ProgressTracker(f.bytes, 1, opts.onProgress);
    progress.alreadyHave(s.storedBytes(f.path), false);
    await this.fetchShared(s, f, () => fetchFile(this.fetchContext(s, (p) => fileUrl(baseUrl, p), progress, opts, opts.signal), f));
    if (s.complete()) await this.writeManifest(s);
  }

  /** manifest.json, written once every file is verified: a complete folder-backend model is a plain package folder. */
  private async writeManifest(s: ModelSession): Promise<void> {
    if (!s.complete() || s.fileState(MANIFEST_FILE).state === 'verified') return;
    const bytes = new TextEncoder().encode(JSON.stringify(s.info.manifest));
    try {
      await s.write(() => this.backend.putChunk(s.id, MANIFEST_FILE, 0, bytes, s.setFile(MANIFEST_FILE, { state: 'verified' })));
    } catch (e) {
      s.setFile(MANIFEST_FILE, { state: 'missing' });
      if (isQuotaExceeded(e)) throw await this.quotaError(s.id, MANIFEST_FILE, bytes.byteLength, e);
      throw e;
    }
  }

  private async touch(s: ModelSession): Promise<void> {
    s.state.lastUsed = Date.now();
    const snap: ModelState = s.snapshot();
    await s.write(() => this.backend.putRecords(s.id, s.info, snap)).catch(() => undefined);
  }
}

/** Opens the model store: IndexedDB (database "ernie-webgpu") unless another backend is given. */
export async function openModelStore(opts: OpenStoreOptions = {}): Promise<ModelStore> {
  const backend = opts.backend ?? (await import('./idb_backend')).idbBackend();
  return new ModelStore(backend, opts.chunkBytes);
}

function summary(s: ModelSession): StoredModel {
  const files = s.files();
  const count = { total: files.length, verified: 0, partial: 0, missing: 0 };
  for (const f of files) count[s.fileState(f.path).state]++;
  return {
    id: s.id, baseUrl: s.info.baseUrl, complete: s.complete(),
    bytesTotal: files.reduce((n, f) => n + f.bytes, 0), bytesStored: s.state.bytesStored,
    files: count, created: s.info.created, lastUsed: s.state.lastUsed,
  };
}

async function fetchText(url: string, opts: DownloadOptions): Promise<string> {
  const res = await httpRequest(url, { signal: opts.signal, file: MANIFEST_FILE, retry: opts.retry, stallTimeoutMs: opts.stallTimeoutMs });
  const bytes = await readBody(res, { maxBytes: MAX_MANIFEST_BYTES, signal: opts.signal, file: MANIFEST_FILE, url });
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (e) {
    throw new FileFormatError(MANIFEST_FILE, `${url} is not valid UTF-8 text`, { cause: e });
  }
}

function mib(n: number): string {
  return `${(n / 2 ** 20).toFixed(1)} MiB`;
}
