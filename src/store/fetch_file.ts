// Fetch one package file into the store: stream it, hash it as it arrives (digest.ts: WebCrypto
// over the collected file, or @noble/hashes incremental for large files), write it chunk by chunk, and mark it
// verified only when the digest matches the manifest. A partial file resumes with an HTTP Range
// request from its last stored chunk (its stored bytes are re-hashed first); a server that
// answers the Range with 200 gets the file restarted. A connection lost mid-file is retried
// from the last stored chunk, with backoff.
import { ErnieError, HttpError, IntegrityError, QuotaError, throwIfAborted } from '../errors';
import { bodyChunks, httpRequest, rangeIgnored, sleep, type HttpOptions } from '../formats/http';
import { isQuotaExceeded } from './backend';
import { fileHasher, type FileHasher } from './digest';
import type { ModelSession, PackageFile } from './session';
import type { ProgressTracker } from './progress';

export interface FetchContext {
  session: ModelSession;
  /** The URL of a package-relative path. */
  url(path: string): string;
  signal?: AbortSignal;
  retry?: HttpOptions['retry'];
  stallTimeoutMs?: number;
  progress: ProgressTracker;
  /** Builds the QuotaError for a write the backend refused. */
  quotaError(file: PackageFile, cause: unknown): Promise<QuotaError>;
}

/** Times a file is resumed after its connection broke mid-body, before the download fails. */
const MAX_RESUMES = 5;
const RESUME_DELAY_MS = 250;

/** Resolves once `file` is verified in the store; throws a typed error otherwise (state stays consistent). */
export async function fetchFile(ctx: FetchContext, file: PackageFile): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    if (ctx.session.fileState(file.path).state === 'verified') return;
    try {
      await fetchOnce(ctx, file);
      ctx.progress.fileDone(file.path);
      return;
    } catch (e) {
      if (!(e instanceof BodyBroken) || attempt >= MAX_RESUMES) throw e instanceof BodyBroken ? e.cause : e;
      await sleep(Math.min(8000, RESUME_DELAY_MS * 2 ** attempt), ctx.signal);
    }
  }
}

/** A failure while reading the body: the stored chunks stand, the next attempt resumes after them. */
class BodyBroken extends Error {
  constructor(override readonly cause: ErnieError) {
    super(cause.message);
  }
}

async function fetchOnce(ctx: FetchContext, file: PackageFile): Promise<void> {
  const { session, progress, signal } = ctx;
  const chunkBytes = session.info.chunkBytes;
  let hasher = fileHasher(file.bytes);
  let offset = await resumePoint(ctx, file, hasher);
  const url = ctx.url(file.path);
  throwIfAborted(signal);
  const res = await httpRequest(url, {
    signal, file: file.path, retry: ctx.retry, stallTimeoutMs: ctx.stallTimeoutMs,
    range: offset > 0 ? { start: offset } : undefined,
  });
  if (offset > 0) {
    // httpRequest refused a 206 that starts elsewhere; a 200 means the server ignored Range.
    if (rangeIgnored(res, { start: offset })) {
      // Start the file again from byte 0.
      await session.drop(file.path);
      progress.bytes(-offset, file.path);
      hasher = fileHasher(file.bytes);
      offset = 0;
    }
  }

  const start = offset;
  const contentLength = Number(res.headers.get('Content-Length') ?? NaN);
  let buf = new Uint8Array(Math.min(chunkBytes, file.bytes - offset));
  let fill = 0;
  let pending = 0; // counted in progress, not yet stored
  const commit = async () => {
    hasher.update(buf);
    const end = offset + buf.byteLength;
    const last = end === file.bytes;
    if (last) {
      const got = await hasher.digest();
      if (got !== file.sha256) {
        await session.drop(file.path);
        progress.bytes(-end, file.path);
        pending = 0;
        throw new IntegrityError(file.path, `downloaded from ${url}: SHA-256 is ${got}, but manifest.json says ${file.sha256}; the file on the server is corrupt or from another package (nothing was kept)`);
      }
    }
    const chunk = buf;
    try {
      await session.write(() => session.backend.putChunk(session.id, file.path, offset, chunk, session.setFile(file.path, last ? { state: 'verified' } : { state: 'partial', bytes: end })));
    } catch (e) {
      if (!isQuotaExceeded(e)) throw e;
      // Drop this partial file only; every other file (and model) stays as stored.
      await session.drop(file.path).catch(() => undefined);
      progress.bytes(-(offset + pending), file.path);
      pending = 0;
      throw await ctx.quotaError(file, e);
    }
    pending -= chunk.byteLength;
    offset = end;
    fill = 0;
    buf = new Uint8Array(Math.min(chunkBytes, file.bytes - offset));
  };

  try {
    try {
      for await (const piece of bodyChunks(res, { signal, stallTimeoutMs: ctx.stallTimeoutMs, file: file.path })) {
        for (let p = 0; p < piece.byteLength; ) {
          if (offset + fill >= file.bytes) throw new IntegrityError(file.path, `${url} sent more than the ${file.bytes} bytes manifest.json lists`);
          const n = Math.min(piece.byteLength - p, buf.byteLength - fill);
          buf.set(piece.subarray(p, p + n), fill);
          fill += n;
          p += n;
          pending += n;
          progress.bytes(n, file.path);
          if (fill === buf.byteLength) await commit();
        }
      }
    } catch (e) {
      if (e instanceof HttpError && e.retryable) throw new BodyBroken(e);
      throw e;
    }
    if (file.bytes === 0 && offset === 0 && session.fileState(file.path).state !== 'verified') await commit();
    if (offset !== file.bytes && offset + fill - start === contentLength) {
      // A complete response that is too short: the server's file is not the one manifest.json lists.
      throw new IntegrityError(file.path, `${url} is ${start + contentLength} bytes, but manifest.json says ${file.bytes}; the file on the server is truncated or from another package`);
    }
    if (offset !== file.bytes) throw new BodyBroken(new ErnieError('FETCH_FAILED', `${file.path} (${url}): the response ended after ${offset + fill} of ${file.bytes} bytes`));
  } finally {
    if (pending > 0) progress.bytes(-pending, file.path);
  }
}

/** Bytes already stored for `file` (whole chunks), fed to `hasher`; 0 after dropping unreadable ones. */
async function resumePoint(ctx: FetchContext, file: PackageFile, hasher: FileHasher): Promise<number> {
  const { session } = ctx;
  const st = session.fileState(file.path);
  if (st.state !== 'partial' || st.bytes === 0) return 0;
  const chunkBytes = session.info.chunkBytes;
  for (let off = 0; off < st.bytes; off += chunkBytes) {
    throwIfAborted(ctx.signal);
    const chunk = await session.backend.getChunk(session.id, file.path, off, Math.min(chunkBytes, st.bytes - off));
    if (!chunk) {
      await session.drop(file.path);
      ctx.progress.bytes(-st.bytes, file.path);
      return 0;
    }
    hasher.update(chunk);
  }
  return st.bytes;
}

