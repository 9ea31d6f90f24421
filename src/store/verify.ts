// Re-hashing a stored file: its chunks read back from the backend and hashed (digest.ts),
// compared with the manifest SHA-256.
import { throwIfAborted } from '../errors';
import { fileHasher } from './digest';
import type { ModelSession, PackageFile } from './session';

/** The stored bytes of `file` hash to the manifest's SHA-256 (every chunk present and whole). */
export async function storedFileMatches(s: ModelSession, f: PackageFile, signal?: AbortSignal): Promise<boolean> {
  const h = fileHasher(f.bytes);
  const chunk = s.info.chunkBytes;
  for (let off = 0; off < f.bytes || (f.bytes === 0 && off === 0); off += chunk) {
    throwIfAborted(signal);
    const len = Math.min(chunk, f.bytes - off);
    const bytes = await s.backend.getChunk(s.id, f.path, off, len);
    if (!bytes || bytes.byteLength !== len) return false;
    h.update(bytes);
    if (f.bytes === 0) break;
  }
  return (await h.digest()) === f.sha256;
}

/** The whole stored file in one buffer, or undefined when a chunk is missing or short. */
export async function readStoredFile(s: ModelSession, f: PackageFile, signal?: AbortSignal): Promise<Uint8Array<ArrayBuffer> | undefined> {
  const out = new Uint8Array(f.bytes);
  const chunk = s.info.chunkBytes;
  for (let off = 0; off < f.bytes; off += chunk) {
    throwIfAborted(signal);
    const len = Math.min(chunk, f.bytes - off);
    const bytes = await s.backend.getChunk(s.id, f.path, off, len);
    if (!bytes || bytes.byteLength !== len) return undefined;
    out.set(bytes, off);
  }
  return out;
}

/** Verifies a stored file; a corrupt or incomplete one is dropped (state missing). Returns whether it was good. */
export async function verifyStoredFile(s: ModelSession, f: PackageFile, signal?: AbortSignal): Promise<boolean> {
  if (await storedFileMatches(s, f, signal)) return true;
  await s.drop(f.path);
  return false;
}
