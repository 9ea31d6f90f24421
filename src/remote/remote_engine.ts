// RemoteEngine: the Engine interface (chat.completions.create, completions.create, streams,
// AbortSignal, typed errors, reasoning_content) over any OpenAI-compatible HTTP API: our own
// `ernie-webgpu serve`, vLLM, FastDeploy, hosted ERNIE endpoints. Browser and Node (fetch only).
// Requests are sent as given (minus `signal`); responses come back as the server sends them.
// Errors: a 4xx with an OpenAI error object -> BadRequestError (its `param`), or
// ContextOverflowError-like BadRequestError with code 'CONTEXT_OVERFLOW' when the server says
// context_length_exceeded; an abort -> AbortError; anything else -> RemoteError (status, body).
import { AbortError, ErnieError } from '../errors.js';
import { BadRequestError } from '../api/errors.js';
import type { ChatCompletions, Completions } from '../api/engine.js';
import type { ChatCompletionRequest, CompletionRequest } from '../api/types.js';

export interface RemoteEngineOptions {
  /** The API root, e.g. "http://127.0.0.1:8080/v1" or "https://host/v1". */
  baseURL: string;
  apiKey?: string;
  /** Sent when a request has no `model`. */
  model?: string;
  /** Extra headers for every request. */
  headers?: Record<string, string>;
  /** Default: globalThis.fetch. */
  fetch?: typeof fetch;
}

/** An HTTP failure that is not a bad request: the status, and the server's error object or text. */
export class RemoteError extends ErnieError {
  constructor(readonly status: number, message: string, readonly type: string | null = null) {
    super('FETCH_FAILED', message);
    this.name = 'RemoteError';
  }
}

interface ErrorObject {
  message?: string;
  type?: string;
  param?: string | null;
  code?: string | null;
}

function toError(status: number, url: string, body: unknown): Error {
  const err = (body as { error?: ErrorObject } | null)?.error;
  const message = err?.message ?? (typeof body === 'string' && body ? body.slice(0, 500) : `HTTP ${status}`);
  if (status >= 400 && status < 500 && status !== 401 && status !== 403 && status !== 429) {
    const e = new BadRequestError(err?.param ?? null, message.startsWith(`${err?.param}: `) ? message.slice(`${err?.param}: `.length) : message);
    if (err?.code === 'context_length_exceeded') Object.defineProperty(e, 'code', { value: 'CONTEXT_OVERFLOW' });
    return e;
  }
  return new RemoteError(status, `${url}: HTTP ${status}: ${message}`, err?.type ?? null);
}

const isAbort = (e: unknown): boolean => (e as { name?: string } | null)?.name === 'AbortError';

/** Server-Sent Events -> the JSON of each `data:` event, until `[DONE]`. */
async function* sseEvents(body: ReadableStream<Uint8Array>, url: string): AsyncGenerator<unknown> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buf = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += decoder.decode(value, { stream: true });
      let end: number;
      while ((end = buf.search(/\r?\n\r?\n/)) >= 0) {
        const event = buf.slice(0, end);
        buf = buf.slice(end + (buf[end] === '\r' ? 4 : 2));
        const data = event.split(/\r?\n/).filter((l) => l.startsWith('data:')).map((l) => l.slice(5).replace(/^ /, '')).join('\n');
        if (!data) continue;
        if (data === '[DONE]') return;
        const parsed = JSON.parse(data) as { error?: ErrorObject };
        if (parsed && typeof parsed === 'object' && parsed.error) throw toError(500, url, parsed);
        yield parsed;
      }
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
}

export class RemoteEngine {
  readonly chat: { completions: ChatCompletions };
  readonly completions: Completions;
  readonly modelName: string | undefined;
  private readonly base: string;
  private readonly fetcher: typeof fetch;

  constructor(private readonly options: RemoteEngineOptions) {
    this.base = options.baseURL.replace(/\/+$/, '');
    this.fetcher = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.modelName = options.model;
    this.chat = { completions: { create: ((req: ChatCompletionRequest) => this.create('/chat/completions', req)) as ChatCompletions['create'] } };
    this.completions = { create: ((req: CompletionRequest) => this.create('/completions', req)) as Completions['create'] };
  }

  /** GET /models: the ids the server serves. */
  async models(signal?: AbortSignal): Promise<string[]> {
    const r = await this.send('GET', '/models', undefined, signal);
    const body = (await r.json()) as { data?: { id: string }[] };
    return (body.data ?? []).map((m) => m.id);
  }

  private async send(method: string, path: string, body: unknown, signal?: AbortSignal): Promise<Response> {
    const url = this.base + path;
    const headers: Record<string, string> = { ...this.options.headers };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.options.apiKey) headers.authorization = `Bearer ${this.options.apiKey}`;
    let r: Response;
    try {
      r = await this.fetcher(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal });
    } catch (e) {
      if (isAbort(e) || signal?.aborted) throw new AbortError();
      throw new RemoteError(0, `${url}: ${(e as Error).message}`);
    }
    if (!r.ok) {
      const text = await r.text().catch(() => '');
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        // not JSON: keep the text
      }
      throw toError(r.status, url, parsed);
    }
    return r;
  }

  private async create(path: string, req: ChatCompletionRequest | CompletionRequest): Promise<unknown> {
    if (typeof req !== 'object' || req === null) throw new BadRequestError(null, 'the request must be an object');
    const { signal, ...rest } = req;
    if (signal?.aborted) throw new AbortError();
    const body = { ...rest, model: rest.model ?? this.options.model };
    const r = await this.send('POST', path, body, signal);
    if (!req.stream) {
      try {
        return await r.json();
      } catch (e) {
        if (signal?.aborted) throw new AbortError();
        throw e;
      }
    }
    if (!r.body) throw new RemoteError(r.status, `${this.base + path}: a stream without a body`);
    const events = sseEvents(r.body, this.base + path);
    return (async function* () {
      try {
        yield* events;
      } catch (e) {
        if (isAbort(e) || signal?.aborted) throw new AbortError();
        throw e;
      }
    })();
  }
}
