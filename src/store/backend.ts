// Where a model store keeps its bytes: IndexedDB in a browser (idb_backend.ts), a folder on disk
// in Node (folder_backend.ts). The store (store.ts) owns every decision; a backend only keeps
// byte chunks of files and two small records per model, under the keys it is given.
import type { Manifest } from '../package/manifest';

/** State of one package file in the store. */
export type FileState =
  | { state: 'missing' }
  /** `bytes` leading bytes are stored (whole chunks, or the whole file not yet verified). */
  | { state: 'partial'; bytes: number }
  | { state: 'verified' };

/** The per-model record that never changes after the first download starts. */
export interface ModelInfo {
  id: string;
  /** Base URL the package was downloaded from (with a trailing slash). */
  baseUrl: string;
  manifest: Manifest;
  /** Bytes per stored chunk of every file of this model. */
  chunkBytes: number;
  created: number;
}

/** The per-model record that changes as files arrive. */
export interface ModelState {
  /** State of every file the manifest lists (shards, tokenizer/template files) and of manifest.json. */
  files: Record<string, FileState>;
  /** Bytes held in the store for this model (verified + partial). */
  bytesStored: number;
  lastUsed: number;
}

export interface BackendEstimate {
  /** Bytes the origin (or cache folder) uses. */
  usage: number;
  /** Bytes it may use in all. */
  quota: number;
}

export interface StoreBackend {
  /** "IndexedDB ernie-webgpu/models", "folder /home/me/.cache/ernie-webgpu". */
  readonly description: string;
  listModels(): Promise<string[]>;
  getInfo(id: string): Promise<ModelInfo | undefined>;
  getState(id: string): Promise<ModelState | undefined>;
  /** Writes both records (atomically where the backend can). */
  putRecords(id: string, info: ModelInfo, state: ModelState): Promise<void>;
  /** Writes the chunk of `file` starting at `offset`, then the state (one transaction where the backend can). */
  putChunk(id: string, file: string, offset: number, bytes: Uint8Array, state: ModelState): Promise<void>;
  /** The chunk written at `offset` (its whole length), or undefined when there is none. */
  getChunk(id: string, file: string, offset: number, length: number): Promise<Uint8Array | undefined>;
  /** Drops every chunk of `file`, then writes the state. */
  deleteFile(id: string, file: string, state: ModelState): Promise<void>;
  /** Drops the model's records and chunks. */
  deleteModel(id: string): Promise<void>;
  estimate(): Promise<BackendEstimate | undefined>;
  persist(): Promise<boolean>;
}

/** True for the error a backend gives when the disk or the origin's quota is full. */
export function isQuotaExceeded(err: unknown): boolean {
  const e = err as { name?: unknown; code?: unknown; inner?: unknown } | null;
  return e?.name === 'QuotaExceededError' || e?.code === 'ENOSPC' || e?.code === 'EDQUOT';
}
