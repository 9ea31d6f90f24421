// One stored model as a store instance holds it in memory: its records, and one queue through
// which every write to the backend goes, so chunk writes and the state that counts them land in
// order (IndexedDB serialises them anyway; the folder backend would otherwise race its renames).
import type { FileState, ModelInfo, ModelState, StoreBackend } from './backend';
import { MANIFEST_FILE } from '../package/manifest';

export interface PackageFile {
  path: string;
  bytes: number;
  sha256: string;
  kind: 'file' | 'core' | 'expert';
}

export class ModelSession {
  private queue: Promise<unknown> = Promise.resolve();
  /** Files being fetched now (lazy fetches of the same file share one download). */
  readonly inFlight = new Map<string, Promise<void>>();
  private fileList?: PackageFile[];
  private byPath?: Map<string, PackageFile>;
  private manifestSize?: number;

  constructor(
    readonly backend: StoreBackend,
    readonly info: ModelInfo,
    readonly state: ModelState,
  ) {}

  get id(): string {
    return this.info.id;
  }

  /** Every file of the package: tokenizer/template files, core shards, expert shards (manifest order). */
  files(): PackageFile[] {
    const m = this.info.manifest;
    return (this.fileList ??= [
      ...m.files.map((f) => ({ path: f.path, bytes: f.bytes, sha256: f.sha256, kind: 'file' as const })),
      ...m.shards.filter((s) => s.kind === 'core').map((s) => ({ path: s.file, bytes: s.bytes, sha256: s.sha256, kind: 'core' as const })),
      ...m.shards.filter((s) => s.kind === 'expert').map((s) => ({ path: s.file, bytes: s.bytes, sha256: s.sha256, kind: 'expert' as const })),
    ]);
  }

  file(path: string): PackageFile | undefined {
    this.byPath ??= new Map(this.files().map((f) => [f.path, f]));
    return this.byPath.get(path);
  }

  fileState(path: string): FileState {
    return this.state.files[path] ?? { state: 'missing' };
  }

  /** Bytes this file holds in the store now. */
  storedBytes(path: string): number {
    const s = this.fileState(path);
    if (s.state === 'partial') return s.bytes;
    if (s.state === 'verified') return this.sizeOf(path);
    return 0;
  }

  sizeOf(path: string): number {
    if (path === MANIFEST_FILE) return (this.manifestSize ??= manifestBytes(this.info));
    return this.file(path)?.bytes ?? 0;
  }

  /** Sets a file's state, recounting bytesStored; returns a copy of the whole state for the backend. */
  setFile(path: string, next: FileState): ModelState {
    const before = this.storedBytes(path);
    this.state.files[path] = next;
    this.state.bytesStored += this.storedBytes(path) - before;
    return this.snapshot();
  }

  snapshot(): ModelState {
    return { files: { ...this.state.files }, bytesStored: this.state.bytesStored, lastUsed: this.state.lastUsed };
  }

  /** Drops a file's stored bytes (state missing); manifest.json goes too, as the model is no longer complete. */
  async drop(path: string): Promise<void> {
    await this.write(() => this.backend.deleteFile(this.id, path, this.setFile(path, { state: 'missing' })));
    if (path !== MANIFEST_FILE && this.fileState(MANIFEST_FILE).state === 'verified') await this.drop(MANIFEST_FILE);
  }

  /** Runs `fn` after every write queued before it; a failure does not block later writes. */
  write<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.queue.then(fn);
    this.queue = p.catch(() => undefined);
    return p;
  }

  /** Every package file verified (the model loads without the network). */
  complete(): boolean {
    return this.files().every((f) => this.fileState(f.path).state === 'verified');
  }
}

/** Size of manifest.json as the store writes it. */
export function manifestBytes(info: ModelInfo): number {
  return new TextEncoder().encode(JSON.stringify(info.manifest)).byteLength;
}
