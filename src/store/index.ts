// The model store (README "Model store"): packages kept in IndexedDB (or a folder in Node),
// downloaded resumably, verified file by file.
export {
  ModelStore, openModelStore, DEFAULT_CHUNK_BYTES,
  type DownloadMode, type DownloadOptions, type OpenStoreOptions, type StoredModel, type StoreEstimate, type VerifyReport,
} from './store';
export type { DownloadProgress } from './progress';
export type { PackageViewOptions } from './view';
export type { StoreBackend, ModelInfo, ModelState, FileState, BackendEstimate } from './backend';
export { idbBackend } from './idb_backend';
