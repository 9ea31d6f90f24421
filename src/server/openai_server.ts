// An OpenAI-compatible HTTP server over one Engine (node:http, no framework: three routes).
//   POST /v1/chat/completions, POST /v1/completions, GET /v1/models
// Streams are Server-Sent Events as OpenAI sends them: one `data: <chunk JSON>` event per chunk,
// then `data: [DONE]`. Errors are OpenAI error objects { error: { message, type, param, code } }
// with the matching HTTP status. A client that disconnects aborts its generation. The request
// body is the JSON the engine takes (the `signal` field is the server's own: refused in a body).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Engine } from '../api/engine.js';
import { AbortError, ErnieError } from '../errors.js';
import { BadRequestError, ContextOverflowError } from '../api/errors.js';

export interface ServeOptions {
  /** Default 8080; 0 picks a free port. */
  port?: number;
  /** Default '127.0.0.1' (loopback only). */
  host?: string;
  /** When set, every request must send `Authorization: Bearer <apiKey>`. */
  apiKey?: string;
  /** Largest request body in bytes. Default 32 MiB. */
  maxBodyBytes?: number;
  /**
   * The origin allowed to call from a web page (CORS), e.g. "https://me.github.io", or "*" for
   * any. Default: none (same-origin and non-browser clients only).
   */
  cors?: string;
}

export interface OpenAIErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

/** The HTTP status and OpenAI error object of an error thrown while serving. */
export function openAIError(e: unknown): { status: number; body: OpenAIErrorBody } {
  if (e instanceof ContextOverflowError) {
    return { status: 400, body: { error: { message: e.message, type: 'invalid_request_error', param: e.param, code: 'context_length_exceeded' } } };
  }
  if (e instanceof BadRequestError) {
    const notFound = e.param === 'model';
    return { status: notFound ? 404 : 400, body: { error: { message: e.message, type: 'invalid_request_error', param: e.param, code: notFound ? 'model_not_found' : null } } };
  }
  if (e instanceof ErnieError && e.code === 'BAD_REQUEST') {
    return { status: 400, body: { error: { message: e.message, type: 'invalid_request_error', param: null, code: null } } };
  }
  const message = e instanceof Error ? e.message : String(e);
  return { status: 500, body: { error: { message, type: 'server_error', param: null, code: e instanceof ErnieError ? e.code.toLowerCase() : null } } };
}

class HttpError extends Error {
  constructor(readonly status: number, message: string, readonly type: string, readonly code: string | null) {
    super(message);
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function sendError(res: ServerResponse, e: unknown): void {
  if (res.headersSent) {
    // Mid-stream: an error event, then the end (OpenAI's clients raise it).
    if (!res.writableEnded) res.end(`data: ${JSON.stringify(openAIError(e).body)}\n\n`);
    return;
  }
  if (e instanceof HttpError) sendJson(res, e.status, { error: { message: e.message, type: e.type, param: null, code: e.code } });
  else {
    const { status, body } = openAIError(e);
    sendJson(res, status, body);
  }
}

async function readJsonBody(req: IncomingMessage, limit: number): Promise<unknown> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const part of req as AsyncIterable<Buffer>) {
    size += part.length;
    if (size > limit) throw new HttpError(413, `the request body is over ${limit} bytes`, 'invalid_request_error', 'request_too_large');
    parts.push(part);
  }
  const text = Buffer.concat(parts).toString('utf8');
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new HttpError(400, `the request body is not valid JSON: ${(e as Error).message}`, 'invalid_request_error', null);
  }
}

/** The request handler, for mounting in an existing node:http (or compatible) server. */
export function openAIHandler(engine: Engine, options: Pick<ServeOptions, 'apiKey' | 'maxBodyBytes' | 'cors'> = {}): (req: IncomingMessage, res: ServerResponse) => void {
  const limit = options.maxBodyBytes ?? 32 << 20;
  const created = Math.floor(Date.now() / 1000);
  return (req, res) => {
    void handle(req, res).catch((e) => sendError(res, e));
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (options.cors !== undefined) {
      res.setHeader('access-control-allow-origin', options.cors);
      if (options.cors !== '*') res.setHeader('vary', 'Origin');
      if (req.method === 'OPTIONS') {
        // the preflight of a page's POST with Authorization / Content-Type: answered before the key check
        res.writeHead(204, { 'access-control-allow-methods': 'GET, POST, OPTIONS', 'access-control-allow-headers': 'authorization, content-type', 'access-control-max-age': '600' });
        res.end();
        return;
      }
    }
    if (options.apiKey !== undefined && req.headers.authorization !== `Bearer ${options.apiKey}`) {
      throw new HttpError(401, 'missing or wrong API key: send "Authorization: Bearer <key>"', 'invalid_request_error', 'invalid_api_key');
    }
    const path = (req.url ?? '/').split('?')[0]!.replace(/\/+$/, '');
    if (path === '/v1/models' && req.method === 'GET') {
      sendJson(res, 200, { object: 'list', data: [{ id: engine.modelName, object: 'model', created, owned_by: 'ernie-webgpu' }] });
      return;
    }
    const kind = path === '/v1/chat/completions' ? 'chat' : path === '/v1/completions' ? 'completion' : null;
    if (!kind) throw new HttpError(404, `no route ${req.method} ${path}: this server has POST /v1/chat/completions, POST /v1/completions and GET /v1/models`, 'invalid_request_error', 'not_found');
    if (req.method !== 'POST') throw new HttpError(405, `${path} takes POST`, 'invalid_request_error', 'method_not_allowed');
    const body = await readJsonBody(req, limit);
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new BadRequestError(null, 'the request body must be a JSON object');
    if ('signal' in body) throw new BadRequestError('signal', 'is not a request field over HTTP (close the connection to cancel)');
    // A client that goes away cancels its request.
    const ctl = new AbortController();
    const onClose = () => {
      if (!res.writableFinished) ctl.abort();
    };
    res.on('close', onClose);
    req.socket.on('close', onClose);
    const request = { ...(body as Record<string, unknown>), signal: ctl.signal };
    try {
      const out = kind === 'chat' ? await engine.chat.completions.create(request as never) : await engine.completions.create(request as never);
      if (Symbol.asyncIterator in (out as object)) {
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
        for await (const chunk of out as AsyncIterable<unknown>) {
          if (ctl.signal.aborted) break;
          res.write(`data: ${JSON.stringify(chunk)}\n\n`);
          // Let I/O run between chunks (a model whose steps settle as microtasks would starve it):
          // the data goes out, and a closed connection is seen before the next step.
          await new Promise((r) => setImmediate(r));
        }
        if (!ctl.signal.aborted) res.end('data: [DONE]\n\n');
      } else sendJson(res, 200, out);
    } catch (e) {
      if (e instanceof AbortError && ctl.signal.aborted) return; // nobody to answer
      throw e;
    } finally {
      res.off('close', onClose);
      req.socket.off('close', onClose);
    }
  }
}

export interface RunningServer {
  server: Server;
  /** e.g. "http://127.0.0.1:8080/v1": the base URL OpenAI clients take. */
  baseURL: string;
  close(): Promise<void>;
}

/** Starts serving `engine`; resolves once it listens. */
export function serveEngine(engine: Engine, options: ServeOptions = {}): Promise<RunningServer> {
  const server = createServer(openAIHandler(engine, options));
  const host = options.host ?? '127.0.0.1';
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 8080, host, () => {
      server.off('error', reject);
      const { port } = server.address() as AddressInfo;
      const shown = host.includes(':') ? `[${host}]` : host;
      resolve({
        server,
        baseURL: `http://${shown}:${port}/v1`,
        close: () => new Promise<void>((r) => {
          server.closeAllConnections();
          server.close(() => r());
        }),
      });
    });
  });
}
