// TEMPORARY stand-in for src/formats/http.ts (the `http` branch owns the one fetch wrapper).
// Same exported shapes as the proposed interface; deleted when that branch is merged.
import { AbortError, ErnieError, throwIfAborted } from '../errors';
import { FileNotFoundError } from '../formats/sources';

export interface RetryPolicy {
  retries: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export interface HttpRequestOptions {
  signal?: AbortSignal;
  range?: { start: number; end?: number };
  method?: 'GET' | 'HEAD';
  retry?: RetryPolicy;
  stallTimeoutMs?: number;
  file?: string;
  rejectHtml?: boolean;
  onRetry?: (info: { attempt: number; delayMs: number; reason: string }) => void;
}

const DEFAULT_RETRY: RetryPolicy = { retries: 4, baseDelayMs: 500, maxDelayMs: 15_000 };

/** GET/HEAD with retry on network errors, 5xx and 429 (Retry-After honoured). Resolves 200/206 only. */
export async function httpRequest(url: string, opts: HttpRequestOptions = {}): Promise<Response> {
  const retry = opts.retry ?? DEFAULT_RETRY;
  const label = opts.file ? `${opts.file} (${url})` : url;
  for (let attempt = 0; ; attempt++) {
    throwIfAborted(opts.signal);
    const headers: Record<string, string> = {};
    if (opts.range) headers['Range'] = `bytes=${opts.range.start}-${opts.range.end ?? ''}`;
    let res: Response | undefined;
    let reason: string;
    let retryAfterMs: number | undefined;
    try {
      res = await fetch(url, { method: opts.method ?? 'GET', headers, signal: opts.signal });
    } catch (err) {
      if (opts.signal?.aborted) throw new AbortError();
      reason = `request failed: ${err instanceof Error ? err.message : String(err)}`;
    }
    if (res) {
      if (res.status === 200 || res.status === 206) {
        if (opts.rejectHtml && /text\/html/i.test(res.headers.get('Content-Type') ?? '')) {
          await res.body?.cancel().catch(() => undefined);
          throw new FileNotFoundError('FETCH_FAILED', label, 'not found (the server answered with an HTML page)');
        }
        return res;
      }
      await res.body?.cancel().catch(() => undefined);
      if (res.status === 404 || res.status === 410) throw new FileNotFoundError('FETCH_FAILED', label, `HTTP ${res.status} (not found)`);
      if (res.status !== 429 && res.status < 500) throw new ErnieError('FETCH_FAILED', `${label}: HTTP ${res.status}`);
      reason = `HTTP ${res.status}`;
      const ra = res.headers.get('Retry-After');
      if (ra && /^\d+$/.test(ra.trim())) retryAfterMs = Number(ra.trim()) * 1000;
      else if (ra && !Number.isNaN(Date.parse(ra))) retryAfterMs = Math.max(0, Date.parse(ra) - Date.now());
    }
    if (attempt >= retry.retries) throw new ErnieError('FETCH_FAILED', `${label}: ${reason!} (gave up after ${attempt + 1} attempts)`);
    const delayMs = retryAfterMs !== undefined ? Math.min(retryAfterMs, 60_000) : Math.min(retry.maxDelayMs, retry.baseDelayMs * 2 ** attempt);
    opts.onRetry?.({ attempt: attempt + 1, delayMs, reason: reason! });
    await sleep(delayMs, opts.signal);
  }
}

/** A response body as chunks; a network failure or stall is an ErnieError FETCH_FAILED. */
export async function* bodyChunks(res: Response, opts: { signal?: AbortSignal; stallTimeoutMs?: number; file?: string } = {}): AsyncIterable<Uint8Array> {
  const reader = res.body!.getReader();
  const stallMs = opts.stallTimeoutMs ?? 30_000;
  const label = opts.file ?? res.url;
  try {
    for (;;) {
      throwIfAborted(opts.signal);
      let timer: ReturnType<typeof setTimeout> | undefined;
      let onAbort: (() => void) | undefined;
      const { done, value } = await new Promise<ReadableStreamReadResult<Uint8Array>>((resolve, reject) => {
        timer = setTimeout(() => reject(new ErnieError('FETCH_FAILED', `${label}: no data for ${stallMs} ms (stalled)`)), stallMs);
        onAbort = () => reject(new AbortError());
        opts.signal?.addEventListener('abort', onAbort, { once: true });
        reader.read().then(resolve, (err: unknown) => reject(opts.signal?.aborted ? new AbortError() : new ErnieError('FETCH_FAILED', `${label}: connection lost: ${err instanceof Error ? err.message : String(err)}`, { cause: err })));
      }).finally(() => {
        clearTimeout(timer);
        if (onAbort) opts.signal?.removeEventListener('abort', onAbort);
      });
      if (done) return;
      yield value;
    }
  } finally {
    reader.cancel().catch(() => undefined);
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(new AbortError());
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
