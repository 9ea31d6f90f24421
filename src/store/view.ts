// A stored model as a FolderSource, for openPackage / loadEngine. manifest.json comes from the
// model's record; every other file is re-hashed from the store the first time this view reads
// it (so bytes corrupted in storage never reach the GPU), then served from its chunks. The first
// read of a file that asks for all of it (a shard, tokenizer.json), or of one up to 64 MiB, reads
// the file once for both: the hashed bytes are what that read returns, and a whole-file buffer is
// vouched for (ByteSource.vouchedSha256), so the package reader does not hash it a second time.
// Every view (every load) hashes again what it serves: what the download hashed were the bytes
// off the network, this checks the bytes in storage now. A file not stored yet (lazy mode: an
// expert shard), or found corrupt, is fetched from the base URL and kept; offline, that is a
// typed error naming the file. Those fetched bytes are served from the store unvouched.
import { ErnieError, IntegrityError, throwIfAborted } from '../errors';
import type { ByteSource, FolderSource } from '../formats/source';
import { checkRange, FileNotFoundError } from '../formats/sources';
import { MANIFEST_FILE } from '../package/manifest';
import type { DownloadProgress } from './progress';
import type { HttpOptions } from '../formats/http';
import type { ModelSession, PackageFile } from './session';
import { readStoredFile, storedFileMatches } from './verify';
import { digestOf, ONE_SHOT_MAX_BYTES } from './digest';

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
  const vouched = new WeakMap<Uint8Array, PackageFile>(); // whole-file buffers this view hashed -> their file

  /**
   * Whether the stored file hashes to the manifest's SHA-256; `whole` (or a file up to 64 MiB) is
   * read into one buffer, hashed and returned (`bytes`); a larger one streams through the hasher.
   */
  async function matches(f: PackageFile, whole: boolean, signal?: AbortSignal): Promise<{ ok: boolean; bytes?: Uint8Array<ArrayBuffer> }> {
    if (!whole && f.bytes > ONE_SHOT_MAX_BYTES) return { ok: await storedFileMatches(s, f, signal) };
    const bytes = await readStoredFile(s, f, signal);
    if (!bytes || (await digestOf(bytes)) !== f.sha256) return { ok: false };
    return { ok: true, bytes };
  }

  /** Makes the file readable from the store; returns its bytes when it was verified whole from them. */
  async function prepare(f: PackageFile, whole: boolean, signal?: AbortSignal): Promise<Uint8Array<ArrayBuffer> | undefined> {
    if (s.fileState(f.path).state === 'verified') {
      if (opts.verify === false) return undefined;
      const m = await matches(f, whole, signal);
      if (m.ok) return m.bytes;
      await s.drop(f.path);
      if (opts.fetchMissing === false) throw new IntegrityError(f.path, `the copy in the model store is corrupt (its SHA-256 does not match manifest.json); it was dropped: download the model again`);
      try {
        await fetch(f, signal);
      } catch (e) {
        throw new IntegrityError(f.path, `the copy in the model store is corrupt (its SHA-256 does not match manifest.json) and was dropped; fetching it again failed: ${(e as Error).message}`, { cause: e });
      }
      return undefined;
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
    return undefined;
  }

  /**
   * Prepares the file once per view (concurrent reads wait for the same preparation). Only the
   * read that started it gets the verified bytes, so no file stays held in memory after its read.
   */
  async function ensure(f: PackageFile, whole: boolean, signal?: AbortSignal): Promise<Uint8Array<ArrayBuffer> | undefined> {
    const p = ready.get(f.path);
    if (p) return void (await p);
    const mine = prepare(f, whole, signal ?? opts.signal);
    const done = mine.then(() => undefined);
    done.catch(() => ready.delete(f.path));
    ready.set(f.path, done);
    return mine;
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
      vouchedSha256: (bytes) => (vouched.get(bytes) === f ? f.sha256 : undefined),
      async read(offset, length, signal) {
        throwIfAborted(signal);
        checkRange(f.path, offset, length, f.bytes);
        const whole = offset === 0 && length === f.bytes;
        const verified = await ensure(f, whole, signal);
        if (verified) {
          if (!whole) return verified.slice(offset, offset + length);
          vouched.set(verified, f); // this read takes the buffer
          return verified;
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
