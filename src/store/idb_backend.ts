// The store's IndexedDB backend, through idb-keyval on its own database (never idb-keyval's
// default one). One object store, array keys:
//   ['info', id]                      ModelInfo (manifest, base URL, chunk size)
//   ['state', id]                     ModelState (per-file state, bytes stored, last used)
//   ['chunk', id, file, offset]       ArrayBuffer, one chunk of a file (<= chunkBytes, far under
//                                     the ~64 MiB past which browsers struggle with one value)
// A chunk and the state that counts it are written in one transaction, so a crash or a quota
// failure never leaves a state that claims bytes the store does not hold.
import { createStore, get, promisifyRequest, type UseStore } from 'idb-keyval';
import { ErnieError } from '../errors';
import type { BackendEstimate, ModelInfo, ModelState, StoreBackend } from './backend';

export const DEFAULT_DB_NAME = 'ernie-webgpu';
export const DEFAULT_STORE_NAME = 'models';

export function idbBackend(dbName = DEFAULT_DB_NAME, storeName = DEFAULT_STORE_NAME): StoreBackend {
  if (typeof indexedDB === 'undefined') {
    throw new ErnieError('UNSUPPORTED', 'IndexedDB is not available here; in Node use openModelStore({ backend: folderBackend(dir) }) from ernie-webgpu/node');
  }
  const db: UseStore = createStore(dbName, storeName);
  const chunkRange = (id: string, file?: string) =>
    file === undefined ? IDBKeyRange.bound(['chunk', id], ['chunk', id, []]) : IDBKeyRange.bound(['chunk', id, file], ['chunk', id, file, []]);
  const write = (fn: (s: IDBObjectStore) => void) =>
    db('readwrite', (s) => {
      fn(s);
      return promisifyRequest(s.transaction);
    });

  return {
    description: `IndexedDB ${dbName}/${storeName}`,
    async listModels() {
      const keys = await db('readonly', (s) => promisifyRequest(s.getAllKeys(IDBKeyRange.bound(['info'], ['info', []]))));
      return keys.map((k) => (k as [string, string])[1]);
    },
    getInfo: (id) => get<ModelInfo>(['info', id], db),
    getState: (id) => get<ModelState>(['state', id], db),
    putRecords: (id, info, state) =>
      write((s) => {
        s.put(info, ['info', id]);
        s.put(state, ['state', id]);
      }),
    putChunk: (id, file, offset, bytes, state) =>
      write((s) => {
        const buf = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes.buffer : bytes.slice().buffer;
        s.put(buf, ['chunk', id, file, offset]);
        s.put(state, ['state', id]);
      }),
    async getChunk(id, file, offset) {
      const v = await get<ArrayBuffer>(['chunk', id, file, offset], db);
      return v === undefined ? undefined : new Uint8Array(v);
    },
    deleteFile: (id, file, state) =>
      write((s) => {
        s.delete(chunkRange(id, file));
        s.put(state, ['state', id]);
      }),
    deleteModel: (id) =>
      write((s) => {
        s.delete(chunkRange(id));
        s.delete(['info', id]);
        s.delete(['state', id]);
      }),
    async estimate(): Promise<BackendEstimate | undefined> {
      const e = await globalThis.navigator?.storage?.estimate?.();
      return e && typeof e.quota === 'number' ? { usage: e.usage ?? 0, quota: e.quota } : undefined;
    },
    async persist() {
      return (await globalThis.navigator?.storage?.persist?.()) ?? false;
    },
  };
}
