// Page module for store.browser.test.ts: the model store on IndexedDB in a real page.
// Every export opens the store afresh (as a page after a reload would) and returns plain data;
// typed errors come back as { error: { name, code, file, ... } }.
import { get, set, createStore } from 'idb-keyval';
import { loadEngine } from '../../../src/engine/load.js';
import { openModelStore, type ModelStore } from '../../../src/store/store.js';
import type { DownloadProgress } from '../../../src/store/progress.js';
import type { Completion } from '../../../src/api/types.js';
import { openPackage } from '../../../src/package/reader.js';

/** Small chunks, so the test packages' shards span several IndexedDB records. */
const CHUNK = 64 * 1024;
// Token ids, not text: the k256 model's vocabulary (512) is smaller than the tiny tokenizer's.
const REQUEST = { prompt: [5, 17, 33, 101, 250], max_tokens: 6, temperature: 0 };

const open = () => openModelStore({ chunkBytes: CHUNK });

interface ErrorInfo {
  name: string;
  code?: string;
  file?: string;
  message: string;
  needed?: number;
  available?: number;
  deletable?: unknown;
}

function errorInfo(e: unknown): ErrorInfo {
  const x = e as ErrorInfo;
  return { name: x.name, code: x.code, file: x.file, message: x.message, needed: x.needed, available: x.available, deletable: x.deletable };
}

async function chatWith(store: ModelStore | true, url: string, onDownloadProgress?: (p: DownloadProgress) => void, download: 'full' | 'lazy' = 'full'): Promise<string> {
  const engine = await loadEngine({ model: url, store, download, kvCacheBytes: 1 << 22, onDownloadProgress });
  try {
    const r = (await engine.completions.create(REQUEST)) as Completion;
    return r.choices[0]!.text;
  } finally {
    engine.dispose();
  }
}

/** loadEngine({ store }) on a model not stored: download with progress, then generate. */
export async function downloadAndChat(arg: { url: string }) {
  const store = await open();
  const events: DownloadProgress[] = [];
  const text = await chatWith(store, arg.url, (p) => events.push(p));
  return { text, events: events.length, last: events.at(-1), monotonic: events.every((e, i) => i === 0 || e.filesDone >= events[i - 1]!.filesDone), stored: await store.get(arg.url) };
}

/** download: 'lazy': the core and tokenizer first, then each expert shard when the load reads it. */
export async function lazyChat(arg: { url: string }) {
  const store = await open();
  const before = await store.download(arg.url, { mode: 'lazy' });
  const text = await chatWith(store, arg.url, undefined, 'lazy');
  return { before, text, after: await store.get(arg.url) };
}

/** The same with the server gone: everything from IndexedDB (the default store: `store: true`). */
export async function chatStored(arg: { url: string }) {
  try {
    return { text: await chatWith(true, arg.url) };
  } catch (e) {
    return { error: errorInfo(e) };
  }
}

/** store.download(), aborted once `abortAfterBytes` arrived (when given). */
export async function download(arg: { url: string; abortAfterBytes?: number; parallel?: number; retry?: { retries: number; baseDelayMs: number; maxDelayMs: number } }) {
  const store = await open();
  const ac = new AbortController();
  const events: DownloadProgress[] = [];
  try {
    const m = await store.download(arg.url, {
      signal: ac.signal, parallel: arg.parallel, retry: arg.retry,
      onProgress: (p) => {
        events.push(p);
        if (arg.abortAfterBytes !== undefined && p.bytesDone >= arg.abortAfterBytes) ac.abort();
      },
    });
    return { stored: m, events: events.length };
  } catch (e) {
    return { error: errorInfo(e), stored: await store.get(arg.url), events: events.length };
  }
}

/**
 * store.download() while "another tab" fills the origin's storage: once the first bytes arrive,
 * `fillBytes` of random data go into another IndexedDB database of the origin (removed afterwards).
 * The test server holds every body after its first piece until the page sets `__fillDone`.
 */
export async function downloadWhileFilling(arg: { url: string; fillBytes: number }) {
  const filler = createStore('filler', 'f');
  let filling: Promise<void> | undefined;
  const fill = async () => {
    try {
      for (let at = 0; at < arg.fillBytes; at += 1 << 20) await set(at, randomBytes(1 << 20), filler);
    } finally {
      (window as { __fillDone?: boolean }).__fillDone = true; // the test releases the held download now
    }
  };
  const store = await open();
  let result: { error?: ErrorInfo; stored?: unknown };
  try {
    await store.download(arg.url, { onProgress: (p) => { if (p.bytesDone > 0 && !filling) filling = fill().catch(() => undefined); } });
    result = { stored: await store.get(arg.url) };
  } catch (e) {
    result = { error: errorInfo(e), stored: await store.get(arg.url) };
  }
  await filling;
  await new Promise<void>((resolve) => {
    const r = indexedDB.deleteDatabase('filler');
    r.onsuccess = r.onerror = r.onblocked = () => resolve();
  });
  return result;
}

function randomBytes(n: number): ArrayBuffer {
  const out = new Uint8Array(n);
  for (let o = 0; o < n; o += 65536) crypto.getRandomValues(out.subarray(o, o + 65536));
  return out.buffer;
}

/** The per-file state record in IndexedDB. */
export async function fileStates(arg: { id: string }) {
  return (await get<{ files: Record<string, { state: string; bytes?: number }> }>(['state', arg.id], createStore('ernie-webgpu', 'models')))?.files ?? {};
}

/** Flips one byte of a stored chunk directly in IndexedDB (storage corruption). */
export async function corruptChunk(arg: { id: string; file: string; offset: number }) {
  const db = createStore('ernie-webgpu', 'models');
  const key = ['chunk', arg.id, arg.file, arg.offset];
  const buf = new Uint8Array((await get<ArrayBuffer>(key, db))!);
  buf[buf.length >> 1] ^= 0xff;
  await set(key, buf.buffer, db);
  return buf.byteLength;
}

/** A shard read through the stored model's package view, fetching from its server when needed. */
export async function readShard(arg: { id: string; file: string; baseUrl?: string }) {
  const store = await open();
  const pkg = await openPackage(await store.folder(arg.id, { baseUrl: arg.baseUrl, retry: { retries: 0 } }));
  try {
    await pkg.readShard(arg.file);
    return { ok: true, complete: (await store.get(arg.id))!.complete };
  } catch (e) {
    return { error: errorInfo(e) };
  }
}

/** The same with no server to fetch from (offline). */
export function readOffline(arg: { id: string; file: string }) {
  return readShard({ ...arg, baseUrl: 'http://127.0.0.1:9/' });
}

export async function verify(arg: { id: string }) {
  return (await open()).verify(arg.id);
}

export async function listAndEstimate() {
  const store = await open();
  return { list: await store.list(), estimate: await store.estimate(), persisted: await store.persist() };
}

export async function deleteAll() {
  const store = await open();
  for (const m of await store.list()) await store.delete(m.id);
  return (await store.list()).length;
}
