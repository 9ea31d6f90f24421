// Browser-safe ByteSources: in-memory buffers, Blobs/Files, and URLs read with HTTP Range.
// Node paths live in node_source.ts so this module never pulls in node:fs.

import { FileFormatError, FileNotFoundError, HttpError, throwIfAborted } from '../errors';
import {
  backoffDelay, bodyChunks, contentRange, DEFAULT_RETRY, discard, fileOf, httpRequest, parseContentRangeTotal, parseLength, readBody, sleep,
  type HttpOptions, type HttpRequestOptions,
} from './http';
import type { ByteSource, FolderSource } from './source';

export { FileNotFoundError };

/**
 * Whether an error means "this optional file is not there": a FileNotFoundError (404/410, an
 * SPA fallback's HTML page, ENOENT, not among picked files) or an HTTP 403, which S3-style hosts
 * send for keys that do not exist. A required file's 403 still fails its load (with the host's
 * answer in the message); only probes for optional files read it as "absent".
 */
export function isMissingFile(err: unknown): boolean {
  return err instanceof FileNotFoundError || (err instanceof HttpError && err.failure === 'status' && err.status === 403);
}

/** `read()`'s result, or undefined when the optional file it reads is absent (isMissingFile); other errors pass through. */
export async function ifFound<T>(read: () => Promise<T>): Promise<T | undefined> {
  try {
    return await read();
  } catch (e) {
    if (isMissingFile(e)) return undefined;
    throw e;
  }
}

/** A whole (small) file: one request for a URL, size() + read() otherwise. Larger than `maxBytes` is a FileFormatError. */
export async function readWholeFile(src: ByteSource, maxBytes: number, signal?: AbortSignal): Promise<Uint8Array> {
  if (src.readAll) return src.readAll(maxBytes, signal);
  const size = await src.size(signal);
  if (size > maxBytes) throw new FileFormatError(src.name, `is ${size} bytes, more than the ${maxBytes}-byte limit for this file`);
  return src.read(0, size, signal);
}

/** Throws FileFormatError unless [offset, offset+length) is a valid range of a `size`-byte file. */
export function checkRange(name: string, offset: number, length: number, size: number): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
    throw new FileFormatError(name, `invalid read: offset ${offset}, length ${length} (must be non-negative integers)`);
  }
  if (offset + length > size) {
    throw new FileFormatError(name, `read of ${length} bytes at offset ${offset} runs past the end of the file (${size} bytes); the file may be truncated`);
  }
}

/** A source over bytes already in memory. Reads return copies, so callers may keep or mutate them. */
export function fromArrayBuffer(buf: ArrayBuffer | Uint8Array, name: string): ByteSource {
  const bytes = buf instanceof Uint8Array ? buf : new Uint8Array(buf);
  return {
    name,
    size: async () => bytes.byteLength,
    async read(offset, length, signal) {
      throwIfAborted(signal);
      checkRange(name, offset, length, bytes.byteLength);
      return bytes.slice(offset, offset + length);
    },
  };
}

/** A source over a Blob or File; only the requested slice is ever loaded. */
export function fromBlob(blob: Blob, name?: string): ByteSource {
  const fileName = (blob as { name?: unknown }).name;
  const label = name ?? (typeof fileName === 'string' && fileName ? fileName : 'blob');
  return {
    name: label,
    size: async () => blob.size,
    async read(offset, length, signal) {
      throwIfAborted(signal);
      checkRange(label, offset, length, blob.size);
      const buf = await blob.slice(offset, offset + length).arrayBuffer();
      throwIfAborted(signal);
      return new Uint8Array(buf);
    },
  };
}

export type UrlOptions = HttpOptions;

/**
 * A source over a URL (requests through http.ts: retries, stall timeout, soft-404 detection).
 * A read is one `Range: bytes=a-b` request and learns the file's size from Content-Range, so no
 * size probe precedes it; a body that breaks off is resumed from the last byte received. size()
 * asks HEAD's Content-Length, or a one-byte ranged GET when HEAD is refused. A server that
 * ignores Range is an error rather than a silent multi-gigabyte download (except for a read of
 * the whole file, where a 200 is the right answer).
 */
export function fromUrl(url: string, opts: UrlOptions & { file?: string } = {}): ByteSource {
  const file = opts.file ?? fileOf(url);
  const policy = { ...DEFAULT_RETRY, ...(opts.retry === false ? { retries: 0 } : opts.retry) };
  let known: number | undefined; // the size, once an answer told it
  let sizePromise: Promise<number> | undefined;
  const request = (o: Pick<HttpRequestOptions, 'method' | 'range' | 'signal'>) => httpRequest(url, { ...opts, file, ...o });

  async function probeSize(signal?: AbortSignal): Promise<number> {
    try {
      const head = await request({ method: 'HEAD', signal });
      const len = parseLength(head.headers.get('Content-Length'));
      if (len !== undefined) return len;
    } catch (err) {
      // HEAD refused (presigned URLs signed for GET only answer 403; some servers 405 or 501):
      // ask for one byte instead. Not-found, transient and abort errors end here.
      if (!(err instanceof HttpError) || err.failure !== 'status' || err.retryable) throw err;
    }
    let res: Response;
    try {
      res = await request({ range: { start: 0, end: 1 }, signal });
    } catch (err) {
      const total = err instanceof HttpError && err.status === 416 ? parseContentRangeTotal(err.headers?.get('Content-Range')) : undefined;
      if (total !== undefined) return total; // an empty file: "bytes */0"
      throw err;
    }
    // Read the one byte of a 206 (cancelling it would show as an aborted request in a browser);
    // a 200 is the whole file: drop it.
    if (res.status === 206) await readBody(res, { maxBytes: 1, signal, file, url }).catch(() => undefined);
    else await discard(res);
    const total = res.status === 206 ? contentRange(res)?.total : parseLength(res.headers.get('Content-Length'));
    if (total !== undefined) return total;
    throw new HttpError(
      { url, file, failure: 'protocol' },
      `cannot tell the size of ${url}: no Content-Length on HEAD, no Content-Range on a ranged GET (a cross-origin host must send Access-Control-Expose-Headers: Content-Range, Content-Length)`,
    );
  }

  function size(signal?: AbortSignal): Promise<number> {
    if (known !== undefined) return Promise.resolve(known);
    // Cache success only, so one transient failure does not poison the source.
    sizePromise ??= probeSize(signal).then(
      (n) => (known = n),
      (err: unknown) => {
        sizePromise = undefined;
        throw err;
      },
    );
    return sizePromise;
  }

  /** Learns the size from a 206's Content-Range; refuses a read past the end. */
  function learn(res: Response, offset: number, length: number): void {
    const total = contentRange(res)?.total;
    if (total === undefined) return;
    if (known !== undefined && known !== total) {
      throw new HttpError({ url, file, failure: 'protocol' }, `${url} changed size while being read (${known} bytes, now ${total})`);
    }
    known = total;
    checkRange(url, offset, length, total);
  }

  async function read(offset: number, length: number, signal?: AbortSignal): Promise<Uint8Array> {
    throwIfAborted(signal);
    checkRange(url, offset, length, known ?? Number.MAX_SAFE_INTEGER);
    if (length === 0) {
      checkRange(url, offset, length, await size(signal));
      return new Uint8Array(0);
    }
    const out = new Uint8Array(length);
    let got = 0;
    for (let resumes = 0; ; resumes++) {
      const range = { start: offset + got, end: offset + length };
      let res: Response;
      try {
        res = await request({ range, signal });
      } catch (err) {
        // 416: the range starts past the end; its Content-Range tells the size.
        const total = err instanceof HttpError && err.status === 416 ? parseContentRangeTotal(err.headers?.get('Content-Range')) : undefined;
        if (total !== undefined) {
          known = total;
          checkRange(url, offset, length, total);
        }
        throw err;
      }
      if (res.status === 200) {
        // A 200 for the whole file is a correct answer; for anything less Range was ignored.
        const whole = parseLength(res.headers.get('Content-Length'));
        if (range.start !== 0 || (whole ?? known) !== range.end) {
          await discard(res);
          if (whole !== undefined && range.end > whole) checkRange(url, offset, length, whole);
          throw new HttpError(
            { url, file, failure: 'range' },
            `the server ignored the HTTP Range request for ${url} (answered 200 with the whole file). The model host must support Range requests (206 Partial Content) so weights can be read in pieces`,
          );
        }
        known ??= whole;
      } else {
        try {
          learn(res, offset, length);
        } catch (err) {
          await discard(res);
          throw err;
        }
      }
      try {
        for await (const chunk of bodyChunks(res, { signal, file, stallTimeoutMs: opts.stallTimeoutMs })) {
          if (got + chunk.byteLength > length) {
            throw new HttpError({ url, file, failure: 'protocol' }, `asked ${url} for ${length} bytes at offset ${offset}, the server sent more`);
          }
          out.set(chunk, got);
          got += chunk.byteLength;
        }
      } catch (err) {
        // A body that broke off: continue from the last byte received, a bounded number of times.
        if (!(err instanceof HttpError) || !err.retryable || resumes >= policy.retries) throw err;
        const delayMs = backoffDelay(policy, resumes);
        opts.onRetry?.({ url, file, attempt: resumes + 1, delayMs, error: err });
        await sleep(delayMs, signal);
        continue;
      }
      if (got === length) return out;
      // A 206 may hold less than asked (allowed by RFC 9110); ask for the rest.
      const cr = contentRange(res);
      if (res.status !== 206 || !cr || cr.end !== offset + got) {
        throw new HttpError({ url, file, failure: 'protocol' }, `asked ${url} for ${length} bytes at offset ${offset}, received ${got}`);
      }
    }
  }

  async function readAll(maxBytes: number, signal?: AbortSignal): Promise<Uint8Array> {
    const res = await request({ signal });
    const bytes = await readBody(res, { maxBytes, signal, file, url, stallTimeoutMs: opts.stallTimeoutMs });
    known = bytes.byteLength;
    return bytes;
  }

  return { name: url, size, read, readAll };
}

export interface UrlFolderOptions extends UrlOptions {
  /**
   * The folder's files, when the caller knows them: any other path is absent (FileNotFoundError)
   * without a request, so probes for optional files cost nothing and a browser logs no 404s.
   */
  files?: readonly string[];
}

/** A model folder on a web server (e.g. "https://huggingface.co/org/model/resolve/main/"). */
export function urlFolder(baseUrl: string, opts: UrlFolderOptions = {}): FolderSource {
  // Keep a query string (signed URLs, ?download=true) after the joined path.
  const q = baseUrl.indexOf('?');
  const base = q < 0 ? baseUrl : baseUrl.slice(0, q);
  const query = q < 0 ? '' : baseUrl.slice(q);
  const prefix = base.endsWith('/') ? base : base + '/';
  const { files, ...urlOpts } = opts;
  const listed = files ? new Set(files) : undefined;
  return (relativePath) => {
    const path = relativePath.split('/').map(encodeURIComponent).join('/');
    const url = prefix + path + query;
    if (listed && !listed.has(relativePath)) return absent(url, relativePath, `not among the files given for ${prefix}`);
    return fromUrl(url, { ...urlOpts, file: relativePath });
  };
}

/** A source for a file known not to exist: every call fails with FileNotFoundError, no request made. */
function absent(name: string, file: string, why: string): ByteSource {
  const fail = () => Promise.reject(new FileNotFoundError('FETCH_FAILED', file, why));
  return { name, size: fail, read: fail, readAll: fail };
}

/**
 * A model folder the user picked: a FileList / File[] (names taken from webkitRelativePath
 * without its top folder, else the plain name) or a Map from relative path to Blob.
 */
export function blobFolder(files: Iterable<File> | Map<string, Blob>): FolderSource {
  const byPath = new Map<string, Blob>();
  if (files instanceof Map) {
    for (const [path, blob] of files) byPath.set(path, blob);
  } else {
    for (const file of files) {
      const rel = file.webkitRelativePath;
      byPath.set(rel ? rel.slice(rel.indexOf('/') + 1) : file.name, file);
    }
  }
  return (relativePath) => {
    const blob = byPath.get(relativePath);
    if (!blob) {
      const have = [...byPath.keys()];
      const list = have.length > 20 ? `${have.slice(0, 20).join(', ')}, … (${have.length} in all)` : have.join(', ');
      throw new FileNotFoundError('BAD_FILE', relativePath, `not among the selected files (have: ${list || 'none'})`);
    }
    return fromBlob(blob, relativePath);
  };
}
