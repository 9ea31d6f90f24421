// The project's one HTTP layer: every request for a model file (weights, manifest, tokenizer,
// downloads into the model store) goes through httpRequest().
//
// What it guarantees:
//  - Only answers that can be the file come back: 200 or 206. Everything else is a typed error
//    naming the file and its URL: FileNotFoundError for 404/410 and for soft-404s (an HTML page
//    where a model file was expected: a dev server's or static host's SPA fallback), HttpError
//    for the rest (with `failure`, `status`, `retryable`).
//  - Transient failures are retried with exponential backoff and jitter, a bounded number of
//    times: network errors, stalls, 5xx and 429 (Retry-After honoured, seconds or HTTP date,
//    capped at maxDelayMs). Never other 4xx.
//  - The caller's AbortSignal wins at once: while waiting for headers, while reading the body,
//    and during backoff sleeps.
//  - A stall timeout (default 30 s): no headers, or no body bytes, for that long fails the try.
//  - In a browser, a fetch that fails on a cross-origin URL is checked with an opaque no-cors
//    request: when the server answers that one, the failure was CORS, and the error says which
//    headers the host must send.
import { abortErrorOf, ErnieError, FileFormatError, FileNotFoundError, HttpError, type HttpFailure } from '../errors';

export interface RetryPolicy {
  /** Tries after the first one. */
  retries: number;
  /** The first backoff delay; it doubles with every try (with jitter). */
  baseDelayMs: number;
  /** Cap on one delay, a server's Retry-After included. */
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { retries: 4, baseDelayMs: 500, maxDelayMs: 30_000 };
/** No headers, or no body bytes, for this long fails a try (it is then retried). */
export const DEFAULT_STALL_TIMEOUT_MS = 30_000;

export interface RetryEvent {
  url: string;
  file: string;
  /** 1 for the first retry. */
  attempt: number;
  delayMs: number;
  error: HttpError;
}

/** Options every request for a model file shares (fromUrl / urlFolder take them too). */
export interface HttpOptions {
  /** Defaults to the global fetch. */
  fetch?: typeof fetch;
  /** Extra request headers (e.g. Authorization for gated models). */
  headers?: Record<string, string>;
  /** Backoff for transient failures; `false` for a single try. */
  retry?: Partial<RetryPolicy> | false;
  /** Milliseconds without headers or body bytes before a try fails (0: no limit). */
  stallTimeoutMs?: number;
  /** Called before each retry's sleep. */
  onRetry?: (e: RetryEvent) => void;
}

/** Bytes [start, end): `end` is exclusive, like Array.slice; omitted, to the end of the file. */
export interface ByteRange {
  start: number;
  end?: number;
}

export interface HttpRequestOptions extends HttpOptions {
  signal?: AbortSignal;
  method?: 'GET' | 'HEAD';
  range?: ByteRange;
  /** The file's name in messages (default: the URL's last path segment). */
  file?: string;
  /** An HTML answer means "not found" (default: true unless the file is .html/.htm). */
  rejectHtml?: boolean;
}

/** Parsed `Content-Range: bytes a-b/total` (`total` undefined for "*"). */
export interface ContentRange {
  start: number;
  /** Exclusive. */
  end: number;
  total?: number;
}

/**
 * One request for a model file, retried while that makes sense. Resolves with a 200 or 206
 * answer only; its body keeps the stall timeout and the signal (a failure while reading it is an
 * HttpError or AbortError too). A 206 whose Content-Range does not start where asked is refused.
 * A 200 to a ranged request means the server ignored Range: the caller decides (see rangeIgnored).
 */
export async function httpRequest(url: string, opts: HttpRequestOptions = {}): Promise<Response> {
  const file = opts.file ?? fileOf(url);
  const policy = retryPolicy(opts.retry);
  for (let attempt = 0; ; attempt++) {
    if (opts.signal?.aborted) throw abortErrorOf(opts.signal);
    let error: HttpError;
    try {
      return await tryOnce(url, file, opts);
    } catch (err) {
      if (!(err instanceof HttpError) || !err.retryable) throw err;
      error = err;
    }
    if (attempt >= policy.retries) throw gaveUp(error, attempt + 1);
    const retryAfter = parseRetryAfter(error.headers?.get('Retry-After'));
    const delayMs = retryAfter !== undefined ? Math.min(retryAfter, policy.maxDelayMs) : backoffDelay(policy, attempt);
    opts.onRetry?.({ url, file, attempt: attempt + 1, delayMs, error });
    await sleep(delayMs, opts.signal);
  }
}

/**
 * The body of an answer chunk by chunk. `signal` and `stallTimeoutMs` apply to each read (an
 * answer from httpRequest already carries its own); breaking out of the loop cancels the body.
 */
export async function* bodyChunks(
  res: Response,
  opts: { signal?: AbortSignal; stallTimeoutMs?: number; file?: string } = {},
): AsyncGenerator<Uint8Array<ArrayBuffer>, void, undefined> {
  if (!res.body) return;
  const reader = res.body.getReader();
  const stallMs = opts.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS;
  try {
    for (;;) {
      const r = await readWithin(reader, opts.signal, stallMs, () =>
        new HttpError({ url: res.url, file: opts.file ?? fileOf(res.url), failure: 'stall', retryable: true }, `no data from ${res.url || 'the server'} for ${seconds(stallMs)} (stall timeout)`),
      );
      if (r.done) return;
      yield r.value as Uint8Array<ArrayBuffer>;
    }
  } finally {
    reader.cancel().catch(() => undefined);
  }
}

/**
 * The whole body in one buffer. With `length`, exactly that many bytes are expected (fewer is a
 * retryable 'network' HttpError, more a 'protocol' one); a body over `maxBytes` is a FileFormatError.
 */
export async function readBody(
  res: Response,
  opts: { length?: number; maxBytes?: number; signal?: AbortSignal; stallTimeoutMs?: number; file?: string; url?: string } = {},
): Promise<Uint8Array<ArrayBuffer>> {
  const url = opts.url ?? res.url;
  const file = opts.file ?? fileOf(url);
  const err = (failure: HttpFailure, retryable: boolean, msg: string) => new HttpError({ url, file, failure, retryable }, msg);
  const declared = parseLength(res.headers.get('Content-Length'));
  const max = opts.maxBytes ?? Infinity;
  if (opts.length === undefined && declared !== undefined && declared > max) {
    await discard(res);
    throw new FileFormatError(file, `is ${declared} bytes, more than the ${max}-byte limit for this file (${url})`);
  }
  const want = opts.length ?? declared;
  if (want !== undefined) {
    const out = new Uint8Array(want);
    let got = 0;
    for await (const chunk of bodyChunks(res, opts)) {
      if (got + chunk.byteLength > want) throw err('protocol', false, `${url} sent more than the ${want} bytes expected`);
      out.set(chunk, got);
      got += chunk.byteLength;
    }
    if (got < want) throw err('network', true, `the connection to ${url} closed after ${got} of ${want} bytes`);
    return out;
  }
  const parts: Uint8Array[] = [];
  let got = 0;
  for await (const chunk of bodyChunks(res, opts)) {
    got += chunk.byteLength;
    if (got > max) throw new FileFormatError(file, `is more than the ${max}-byte limit for this file (${url})`);
    parts.push(chunk);
  }
  const out = new Uint8Array(got);
  let at = 0;
  for (const p of parts) (out.set(p, at), (at += p.byteLength));
  return out;
}

/** True when a ranged request came back as a 200 with the whole file (the server ignored Range). */
export function rangeIgnored(res: Response, range: ByteRange | undefined): boolean {
  return res.status === 200 && range !== undefined && range.start > 0;
}

/** The answer's Content-Range, or undefined when absent (or hidden by CORS) or malformed. */
export function contentRange(res: Response): ContentRange | undefined {
  return parseContentRange(res.headers.get('Content-Range'));
}

export function parseContentRange(v: string | null | undefined): ContentRange | undefined {
  const m = v?.match(/^\s*bytes\s+(\d+)-(\d+)\s*\/\s*(\d+|\*)\s*$/i);
  if (!m) return undefined;
  const start = Number(m[1]), end = Number(m[2]) + 1, total = m[3] === '*' ? undefined : Number(m[3]);
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || end <= start || (total !== undefined && (!Number.isSafeInteger(total) || end > total))) return undefined;
  return { start, end, ...(total !== undefined ? { total } : {}) };
}

/** The total of "bytes * /N" (a 416's Content-Range) or of "bytes a-b/N". */
export function parseContentRangeTotal(v: string | null | undefined): number | undefined {
  const m = v?.match(/\/\s*(\d+)\s*$/);
  return m ? parseLength(m[1]!) : undefined;
}

/** Milliseconds to wait from a Retry-After header: delay-seconds or an HTTP date. */
export function parseRetryAfter(v: string | null | undefined, now = Date.now()): number | undefined {
  if (!v) return undefined;
  const t = v.trim();
  if (/^\d+$/.test(t)) return Number(t) * 1000;
  const date = Date.parse(t);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** Whether `bytes` (the start of a body) is an HTML page: what an SPA fallback sends. */
export function looksLikeHtml(bytes: Uint8Array): boolean {
  let i = 0;
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) i = 3; // UTF-8 BOM
  while (i < bytes.length && (bytes[i] === 0x20 || bytes[i] === 0x09 || bytes[i] === 0x0a || bytes[i] === 0x0d)) i++;
  const head = new TextDecoder().decode(bytes.subarray(i, i + 15)).toLowerCase();
  return head.startsWith('<!doctype html') || head.startsWith('<html');
}

/** The last path segment of a URL, decoded: how errors name the file. */
export function fileOf(url: string): string {
  const path = url.split(/[?#]/)[0]!.replace(/\/+$/, '');
  const last = path.slice(path.lastIndexOf('/') + 1);
  try {
    return decodeURIComponent(last) || url;
  } catch {
    return last || url;
  }
}

/** A delay of `ms` that an AbortSignal ends at once (with an AbortError). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortErrorOf(signal));
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortErrorOf(signal!));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export function backoffDelay(policy: RetryPolicy, attempt: number): number {
  const cap = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt);
  return cap / 2 + (Math.random() * cap) / 2;
}

// ---- one try ----

function retryPolicy(r: HttpOptions['retry']): RetryPolicy {
  return r === false ? { ...DEFAULT_RETRY, retries: 0 } : { ...DEFAULT_RETRY, ...r };
}

async function tryOnce(url: string, file: string, opts: HttpRequestOptions): Promise<Response> {
  // Wrapped so a browser's fetch is never called with a foreign `this` ("Illegal invocation").
  const doFetch: typeof fetch = opts.fetch ?? ((input, init) => fetch(input, init));
  const method = opts.method ?? 'GET';
  const user = opts.signal;
  const stallMs = opts.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS;
  // The request's own controller: the caller's signal and the stall timer both abort it. The
  // listener on the caller's signal is removed when the body ends, so long-lived signals do not
  // collect one per request.
  const ctl = new AbortController();
  const onAbort = () => ctl.abort(user!.reason);
  user?.addEventListener('abort', onAbort, { once: true });
  let released = false;
  const release = () => {
    if (!released) (released = true), user?.removeEventListener('abort', onAbort);
  };
  let stalled = false;
  const arm = () => (stallMs > 0 && Number.isFinite(stallMs) ? setTimeout(() => ((stalled = true), ctl.abort()), stallMs) : undefined);
  const fail = (failure: HttpFailure, retryable: boolean, msg: string, extra: { status?: number; headers?: Headers; cause?: unknown } = {}) =>
    new HttpError({ url, file, failure, retryable, status: extra.status, headers: extra.headers }, msg, extra.cause === undefined ? undefined : { cause: extra.cause });
  const stallError = (what: string) => fail('stall', true, `no ${what} from ${url} for ${seconds(stallMs)} (stall timeout)`);

  const headers: Record<string, string> = { ...opts.headers };
  if (opts.range) headers['Range'] = `bytes=${opts.range.start}-${opts.range.end !== undefined ? opts.range.end - 1 : ''}`;
  let res: Response;
  let timer = arm();
  try {
    // Ranged reads bypass the HTTP cache: Chromium can answer overlapping ranged reads of one URL from
    // a partial cache entry with an empty 206 body (seen in the expert-streaming e2e test).
    res = await doFetch(url, { method, headers, signal: ctl.signal, ...(opts.range ? { cache: 'no-store' as const } : {}) });
  } catch (err) {
    release();
    if (user?.aborted) throw abortErrorOf(user);
    if (stalled) throw stallError('answer');
    if (err instanceof ErnieError) throw err;
    const cors = await corsRefused(url, doFetch, user);
    if (user?.aborted) throw abortErrorOf(user);
    if (cors) throw fail('cors', false, corsMessage(url, opts.headers));
    throw fail('network', true, `request to ${url} failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  } finally {
    clearTimeout(timer);
  }

  try {
    if (res.status !== 200 && res.status !== 206) throw await statusError(res, url, file, fail);
    const rejectHtml = opts.rejectHtml ?? !/\.html?$/i.test(file);
    if (rejectHtml && /\btext\/html\b/i.test(res.headers.get('Content-Type') ?? '')) throw softNotFound(url, file);
    if (opts.range && res.status === 206) {
      const cr = contentRange(res);
      if (cr && cr.start !== opts.range.start) {
        throw fail('range', false, `asked ${url} for bytes from ${opts.range.start}, the server sent bytes from ${cr.start} (Content-Range: ${res.headers.get('Content-Range')})`);
      }
    }
    if (method === 'HEAD' || !res.body) {
      // Drain a HEAD's (empty) body: a browser counts a response left unread or cancelled as an
      // aborted request.
      await res.arrayBuffer().catch(() => undefined);
      release();
      return new Response(null, { status: res.status, statusText: res.statusText, headers: res.headers });
    }
    const reader = res.body.getReader();
    let first: Uint8Array | undefined;
    let received = 0;
    // Sniff the first bytes of a body that starts at the file's beginning: an SPA fallback may
    // send its index.html without a text/html type.
    if (rejectHtml && (res.status === 200 || opts.range?.start === 0 || !opts.range)) {
      timer = arm();
      try {
        const r = await reader.read();
        first = r.done ? new Uint8Array(0) : r.value;
      } catch (err) {
        throw bodyError(err);
      } finally {
        clearTimeout(timer);
      }
      if (looksLikeHtml(first)) {
        reader.cancel().catch(() => undefined);
        throw softNotFound(url, file);
      }
    }
    received = first?.byteLength ?? 0;
    function bodyError(err: unknown): ErnieError {
      if (user?.aborted) return abortErrorOf(user);
      if (stalled) return stallError('data');
      if (err instanceof ErnieError) return err;
      return fail('network', true, `the connection to ${url} broke after ${received} bytes of the body: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
    const body = new ReadableStream<Uint8Array>(
      {
        async pull(c) {
          if (first) {
            if (first.byteLength) c.enqueue(first);
            first = undefined;
            return;
          }
          const t = arm();
          let r: ReadableStreamReadResult<Uint8Array>;
          try {
            r = await reader.read();
          } catch (err) {
            release();
            throw bodyError(err);
          } finally {
            clearTimeout(t);
          }
          if (r.done) {
            release();
            c.close();
            return;
          }
          received += r.value.byteLength;
          c.enqueue(r.value);
        },
        cancel(reason) {
          release();
          return reader.cancel(reason);
        },
      },
      { highWaterMark: 0 },
    );
    const out = new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
    // Response.url is read-only and empty on a constructed Response; keep the real one.
    Object.defineProperty(out, 'url', { value: res.url || url });
    return out;
  } catch (err) {
    release();
    await discard(res);
    throw err;
  }
}

async function statusError(res: Response, url: string, file: string, fail: (f: HttpFailure, r: boolean, m: string, e?: { status?: number; headers?: Headers }) => HttpError): Promise<ErnieError> {
  await discard(res);
  const s = res.status;
  const what = `HTTP ${s}${res.statusText ? ' ' + res.statusText : ''} from ${url}`;
  const extra = { status: s, headers: res.headers };
  if (s === 404 || s === 410) return new FileNotFoundError('FETCH_FAILED', file, `not found at ${url} (HTTP ${s})`);
  // 501 Not Implemented and 505 are answers about the request, not passing trouble.
  if (s === 429 || (s >= 500 && s !== 501 && s !== 505)) return fail('status', true, what, extra);
  if (s === 401) return fail('status', false, `${what}: the host wants credentials (for a gated Hugging Face model pass headers: { Authorization: 'Bearer <token>' })`, extra);
  if (s === 403) return fail('status', false, `${what}: access denied (S3-style hosts answer 403 for files that do not exist; gated models need an Authorization header)`, extra);
  if (s === 416) return fail('range', false, `${what}: the requested byte range is outside the file`, extra);
  return fail('status', false, what, extra);
}

function softNotFound(url: string, file: string): FileNotFoundError {
  return new FileNotFoundError(
    'FETCH_FAILED',
    file,
    `not found (the server answered with an HTML page: an SPA fallback?) at ${url}. The model host must answer 404 for missing files and serve model files as they are`,
  );
}

function gaveUp(e: HttpError, tries: number): HttpError {
  const msg = e.message.startsWith(`${e.file}: `) ? e.message.slice(e.file.length + 2) : e.message;
  return new HttpError({ url: e.url, file: e.file, failure: e.failure, status: e.status, retryable: e.retryable, headers: e.headers }, `${msg} (gave up after ${tries} tr${tries === 1 ? 'y' : 'ies'})`, { cause: e });
}

// ---- CORS ----

function pageOrigin(): string | undefined {
  const origin = (globalThis as { location?: { origin?: string } }).location?.origin;
  return origin && origin !== 'null' ? origin : undefined;
}

/**
 * A browser's fetch fails the same way (a TypeError) for a dead server and for an answer CORS
 * hides. An opaque no-cors HEAD succeeds whenever the server answers at all: then it was CORS.
 */
async function corsRefused(url: string, doFetch: typeof fetch, signal?: AbortSignal): Promise<boolean> {
  const origin = pageOrigin();
  if (!origin) return false;
  let target: URL;
  try {
    target = new URL(url, origin);
  } catch {
    return false;
  }
  if (target.origin === origin) return false;
  try {
    await doFetch(target.href, { method: 'HEAD', mode: 'no-cors', cache: 'no-store', signal });
    return true;
  } catch {
    return false;
  }
}

function corsMessage(url: string, headers: Record<string, string> | undefined): string {
  const host = new URL(url).origin;
  const allow = ['Range', ...Object.keys(headers ?? {}).filter((h) => h.toLowerCase() !== 'range')].join(', ');
  return (
    `the browser refused the answer from ${host} for ${url}: a missing CORS header (the server answers, but not to this page's origin ${pageOrigin()}). ` +
    `The model host must send Access-Control-Allow-Origin (this origin or *), Access-Control-Allow-Headers: ${allow} (for the preflight), ` +
    `and Access-Control-Expose-Headers: Content-Range, Content-Length`
  );
}

// ---- small helpers ----

function readWithin(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  signal: AbortSignal | undefined,
  stallMs: number,
  stallError: () => Error,
): Promise<ReadableStreamReadResult<Uint8Array>> {
  const timed = stallMs > 0 && Number.isFinite(stallMs);
  if (!signal && !timed) return reader.read();
  return new Promise((resolve, reject) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
    const onAbort = () => (done(), reject(abortErrorOf(signal!)));
    const timer = timed ? setTimeout(() => (done(), reject(stallError())), stallMs) : undefined;
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    reader.read().then(
      (r) => (done(), resolve(r)),
      (e: unknown) => (done(), reject(e)),
    );
  });
}

export function parseLength(v: string | null | undefined): number | undefined {
  if (v === null || v === undefined || !/^\s*\d+\s*$/.test(v)) return undefined;
  const n = Number(v.trim());
  return Number.isSafeInteger(n) ? n : undefined;
}

/** Drop a body we will not read, so the connection is freed without downloading it. */
export async function discard(res: Response): Promise<void> {
  try {
    await res.body?.cancel();
  } catch {
    // already consumed or errored: nothing to free
  }
}

function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
}
