// Browser-safe ByteSources: in-memory buffers, Blobs/Files, and URLs read with HTTP Range.
// Node paths live in node_source.ts so this module never pulls in node:fs.

import { AbortError, ErnieError, FileFormatError, throwIfAborted } from '../errors';
import type { ByteSource, FolderSource } from './source';

/**
 * A folder has no such file: HTTP 404/410, ENOENT, or not among the files the user picked.
 * A distinct class so SafetensorsModel can tell "no index file" (fine: single-file checkpoint)
 * from real failures. Code is FETCH_FAILED for URLs, BAD_FILE for local files.
 */
export class FileNotFoundError extends ErnieError {
  readonly file: string;
  constructor(code: 'BAD_FILE' | 'FETCH_FAILED', file: string, message: string, options?: { cause?: unknown }) {
    super(code, `${file}: ${message}`, options);
    this.name = 'FileNotFoundError';
    this.file = file;
  }
}

/** Throws FileFormatError unless [offset, offset+length) is a valid range of a `size`-byte file. */
/** `read()`'s result, or undefined when the file it reads does not exist (other errors pass through). */
export async function ifFound<T>(read: () => Promise<T>): Promise<T | undefined> {
  try {
    return await read();
  } catch (e) {
    if (e instanceof FileNotFoundError) return undefined;
    throw e;
  }
}

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

export interface UrlOptions {
  /** Defaults to the global fetch. */
  fetch?: typeof fetch;
  /** Extra request headers (e.g. Authorization for gated models). */
  headers?: Record<string, string>;
}

/**
 * A source over a URL. Size comes from HEAD's Content-Length, or from the Content-Range of a
 * one-byte ranged GET when HEAD is refused. Every read is one `Range: bytes=a-b` request; a
 * server that ignores Range is an error rather than a silent multi-gigabyte download.
 */
export function fromUrl(url: string, opts: UrlOptions = {}): ByteSource {
  // Wrapped so a browser's fetch is never called with a foreign `this` ("Illegal invocation").
  const doFetch: typeof fetch = opts.fetch ?? ((input, init) => fetch(input, init));
  const headers = opts.headers ?? {};
  let sizePromise: Promise<number> | undefined;

  async function request(method: 'GET' | 'HEAD', range: string | undefined, signal?: AbortSignal): Promise<Response> {
    throwIfAborted(signal);
    const h: Record<string, string> = { ...headers };
    if (range) h['Range'] = range;
    try {
      return await doFetch(url, { method, headers: h, signal });
    } catch (err) {
      throw toFetchError(err, url, signal);
    }
  }

  async function probeSize(): Promise<number> {
    const head = await request('HEAD', undefined);
    if (head.ok) {
      const len = parseLength(head.headers.get('Content-Length'));
      if (len !== undefined) return len;
    } else if (head.status === 404 || head.status === 410) {
      throw notFound(url, head.status);
    }
    // HEAD refused (e.g. presigned URLs signed for GET only) or no length: ask for one byte.
    const res = await request('GET', 'bytes=0-0');
    const total = parseContentRangeTotal(res.headers.get('Content-Range'));
    await discard(res);
    if (res.status === 206 && total !== undefined) return total;
    if (res.status === 416 && total !== undefined) return total; // empty file: "bytes */0"
    if (res.status === 200) throw noRangeSupport(url);
    if (!res.ok) throw httpError(url, res.status, res.statusText);
    throw new ErnieError('FETCH_FAILED', `${url}: cannot determine the file size (no Content-Length on HEAD, no Content-Range on a ranged GET)`);
  }

  function size(): Promise<number> {
    // Cache success only, so one transient failure does not poison the source.
    sizePromise ??= probeSize().catch((err) => {
      sizePromise = undefined;
      throw err;
    });
    return sizePromise;
  }

  async function read(offset: number, length: number, signal?: AbortSignal): Promise<Uint8Array> {
    throwIfAborted(signal);
    const total = await size();
    throwIfAborted(signal);
    checkRange(url, offset, length, total);
    if (length === 0) return new Uint8Array(0);
    const res = await request('GET', `bytes=${offset}-${offset + length - 1}`, signal);
    if (res.status === 200) {
      // A 200 for the whole file is a correct answer; for anything less it means Range was ignored.
      if (!(offset === 0 && length === total)) {
        await discard(res);
        throw noRangeSupport(url);
      }
    } else if (res.status !== 206) {
      await discard(res);
      throw res.status === 404 || res.status === 410 ? notFound(url, res.status) : httpError(url, res.status, res.statusText);
    } else {
      const start = parseContentRangeStart(res.headers.get('Content-Range'));
      if (start !== undefined && start !== offset) {
        await discard(res);
        throw new ErnieError('FETCH_FAILED', `${url}: asked for bytes from ${offset}, server sent bytes from ${start}`);
      }
    }
    let body: ArrayBuffer;
    try {
      body = await res.arrayBuffer();
    } catch (err) {
      throw toFetchError(err, url, signal);
    }
    if (body.byteLength !== length) {
      throw new ErnieError('FETCH_FAILED', `${url}: asked for ${length} bytes at offset ${offset}, received ${body.byteLength}`);
    }
    return new Uint8Array(body);
  }

  return { name: url, size, read };
}

/** A model folder on a web server (e.g. "https://huggingface.co/org/model/resolve/main/"). */
export function urlFolder(baseUrl: string, opts: UrlOptions = {}): FolderSource {
  // Keep a query string (signed URLs, ?download=true) after the joined path.
  const q = baseUrl.indexOf('?');
  const base = q < 0 ? baseUrl : baseUrl.slice(0, q);
  const query = q < 0 ? '' : baseUrl.slice(q);
  const prefix = base.endsWith('/') ? base : base + '/';
  return (relativePath) => {
    const path = relativePath.split('/').map(encodeURIComponent).join('/');
    return fromUrl(prefix + path + query, opts);
  };
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

// ---- HTTP helpers ----

function parseLength(v: string | null): number | undefined {
  if (v === null || !/^\d+$/.test(v.trim())) return undefined;
  const n = Number(v.trim());
  return Number.isSafeInteger(n) ? n : undefined;
}

// Total from "bytes 0-0/1234" or "bytes */1234" (416 on an empty file); undefined for "*" or garbage.
function parseContentRangeTotal(v: string | null): number | undefined {
  const m = v?.match(/\/\s*(\d+)\s*$/);
  return m ? parseLength(m[1]!) : undefined;
}

function parseContentRangeStart(v: string | null): number | undefined {
  const m = v?.match(/^\s*bytes\s+(\d+)-/i);
  return m ? parseLength(m[1]!) : undefined;
}

/** Drop a response body we will not read, so the connection is freed without downloading it. */
async function discard(res: Response): Promise<void> {
  try {
    await res.body?.cancel();
  } catch {
    // already consumed or errored: nothing to free
  }
}

function noRangeSupport(url: string): ErnieError {
  return new ErnieError('FETCH_FAILED', `${url}: the server ignored the HTTP Range request (answered 200 with the whole file). The server must support Range requests (206 Partial Content) so weights can be read in pieces`);
}

function httpError(url: string, status: number, statusText: string): ErnieError {
  return new ErnieError('FETCH_FAILED', `${url}: HTTP ${status}${statusText ? ' ' + statusText : ''}`);
}

function notFound(url: string, status: number): FileNotFoundError {
  return new FileNotFoundError('FETCH_FAILED', url, `HTTP ${status} (not found)`);
}

function toFetchError(err: unknown, url: string, signal?: AbortSignal): ErnieError {
  if (err instanceof ErnieError) return err;
  if (signal?.aborted || (err instanceof Error && err.name === 'AbortError')) {
    return new AbortError(typeof signal?.reason === 'string' ? signal.reason : undefined);
  }
  const msg = err instanceof Error ? err.message : String(err);
  return new ErnieError('FETCH_FAILED', `${url}: request failed: ${msg}`, { cause: err });
}
