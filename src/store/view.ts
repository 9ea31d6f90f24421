// A stored model as a FolderSource, for openPackage / loadEngine. manifest.json comes from the
// model's record; every other file is re-hashed from the store the first time this view reads
// it (so bytes corrupted in storage never reach the GPU), then served from its chunks; a file
// of up to 64 MiB is read once for both (its verified bytes are handed to the first read). A file
// not stored yet (lazy mode: an expert shard), or found corrupt, is fetched from the base URL
// and kept; offline, that is a typed error naming the file.
import { ErnieError, IntegrityError, throwIfAborted } from '../errors';
import type { ByteSource, FolderSource } from '../formats/source';
import { checkRange, FileNotFoundError } from '../formats/sources';
import { MANIFEST_FILE } from '../package/manifest';
import type { DownloadProgress } from './progress';
import type { HttpOptions } from '../formats/http';
import type { ModelSession, PackageFile } from './session';
import { readStoredFile, storedFileMatches } from './verify';
import { fileHasher, ONE_SHOT_MAX_BYTES } from './digest';

export interface PackageViewOptions {
  /** Where missing or corrupt files are fetched from (default: the URL the model was downloaded from). */
  baseUrl?: string;
  /** Fetch files that are not stored (default true); false: a typed error instead. */
  fetchMissing?: boolean;
  /** Re-hash each stored file before its first use (default true). */
  verify?: boolean;
  signal?: AbortSignal;
  onProgress?: (p: DownloadProgress) => void;
  /** Retry policy of those fetches. */
  retry?: HttpOptions['retry'];
}

/** Chunks kept in memory for reads that fall into the same chunk (tensors are read in order). */
const CACHED_CHUNKS = 4;

export function packageView(s: ModelSession, opts: PackageViewOptions, fetch: (f: PackageFile, signal?: AbortSignal) => Promise<void>): FolderSource {
  const ready = new Map<string, Promise<void>>();
  const cache = new Map<string, Uint8Array>(); // `${path}@${offset}` -> chunk, in use order
  const manifestBytes = new TextEncoder().encode(JSON.stringify(s.info.manifest));
  let held: { path: string; bytes: Uint8Array } | undefined; // the last file verified whole, until it is read

  async function matches(f: PackageFile, signal?: AbortSignal): Promise<boolean> {
    if (f.bytes > ONE_SHOT_MAX_BYTES) return storedFileMatches(s, f, signal);
    const bytes = await readStoredFile(s, f, signal);
    if (!bytes) return false;
    const h = fileHasher(f.bytes);
    h.update(bytes);
    if ((await h.digest()) !== f.sha256) return false;
    held = { path: f.path, bytes };
    return true;
  }

  async function prepare(f: PackageFile, signal?: AbortSignal): Promise<void> {
    if (s.fileState(f.path).state === 'verified') {
      if (opts.verify === false || (await matches(f, signal))) return;
      await s.drop(f.path);
      if (opts.fetchMissing === false) throw new IntegrityError(f.path, `the copy in the model store is corrupt (its SHA-256 does not match manifest.json); it was dropped: download the model again`);
      try {
        await fetch(f, signal);
      } catch (e) {
        throw new IntegrityError(f.path, `the copy in the model store is corrupt (its SHA-256 does not match manifest.json) and was dropped; fetching it again failed: ${(e as Error).message}`, { cause: e });
      }
      return;
    }
    if (opts.fetchMissing === false) {
      throw new FileNotFoundError('BAD_FILE', f.path, `is not in the model store yet (model "${s.id}"); download the model first`);
    }
    try {
      await fetch(f, signal);
    } catch (e) {
      if (e instanceof ErnieError && e.code !== 'FETCH_FAILED') throw e;
      throw new ErnieError('FETCH_FAILED', `${f.path}: is not in the model store yet (model "${s.id}", lazy download) and fetching it failed: ${(e as Error).message}`, { cause: e });
    }
  }

  function ensure(f: PackageFile, signal?: AbortSignal): Promise<void> {
    let p = ready.get(f.path);
    if (!p) {
      p = prepare(f, signal ?? opts.signal);
      p.catch(() => ready.delete(f.path));
      ready.set(f.path, p);
    }
    return p;
  }

  async function chunk(f: PackageFile, offset: number): Promise<Uint8Array> {
    const key = `${f.path}@${offset}`;
    let c = cache.get(key);
    if (c) {
      cache.delete(key);
    } else {
      const len = Math.min(s.info.chunkBytes, f.bytes - offset);
      c = await s.backend.getChunk(s.id, f.path, offset, len);
      if (!c || c.byteLength !== len) {
        ready.delete(f.path);
        await s.drop(f.path);
        throw new IntegrityError(f.path, `a chunk at byte ${offset} disappeared from the model store while reading; it was dropped, load again to fetch it`);
      }
    }
    cache.set(key, c);
    while (cache.size > CACHED_CHUNKS) cache.delete(cache.keys().next().value!);
    return c;
  }

  function source(f: PackageFile): ByteSource {
    return {
      name: f.path,
      size: async () => f.bytes,
      async read(offset, length, signal) {
        throwIfAborted(signal);
        checkRange(f.path, offset, length, f.bytes);
        await ensure(f, signal);
        if (held?.path === f.path) {
          const bytes = held.bytes;
          if (offset === 0 && length === f.bytes) {
            held = undefined; // a whole-file read takes the buffer
            return bytes;
          }
          return bytes.slice(offset, offset + length);
        }
        const out = new Uint8Array(length);
        const cb = s.info.chunkBytes;
        for (let pos = offset; pos < offset + length; ) {
          const start = Math.floor(pos / cb) * cb;
          const c = await chunk(f, start);
          const n = Math.min(offset + length - pos, start + c.byteLength - pos);
          out.set(c.subarray(pos - start, pos - start + n), pos - offset);
          pos += n;
        }
        return out;
      },
    };
  }

  return (path) => {
    if (path === MANIFEST_FILE) {
      return { name: path, size: async () => manifestBytes.byteLength, read: async (o, l) => (checkRange(path, o, l, manifestBytes.byteLength), manifestBytes.slice(o, o + l)) };
    }
    const f = s.file(path);
    if (!f) throw new FileNotFoundError('BAD_FILE', path, `is not a file of the stored package "${s.id}"`);
    return source(f);
  };
}
