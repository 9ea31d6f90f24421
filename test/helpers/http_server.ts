// A test HTTP server on 127.0.0.1 that can misbehave on purpose: it logs every request and
// hands each one to the test's handler, with helpers to answer like a correct static host.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFile, stat } from 'node:fs/promises';
import { join, normalize, sep } from 'node:path';

export interface LoggedRequest {
  method: string;
  path: string;
  range?: string;
}

export interface TestServer {
  /** "http://127.0.0.1:PORT" */
  base: string;
  requests: LoggedRequest[];
  close(): Promise<void>;
}

export type Handler = (req: IncomingMessage, res: ServerResponse, path: string) => void | Promise<void>;

export async function startServer(handler: Handler): Promise<TestServer> {
  const requests: LoggedRequest[] = [];
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent((req.url ?? '/').split('?')[0]!);
    requests.push({ method: req.method ?? 'GET', path, ...(req.headers.range ? { range: req.headers.range } : {}) });
    Promise.resolve(handler(req, res, path)).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(599).end(String(err));
      else res.destroy();
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    base,
    requests,
    close: async () => {
      server.closeAllConnections();
      await new Promise((ok) => server.close(ok));
    },
  };
}

/** Answers like a correct static host: HEAD, Range (206, 416), or the whole body (200). */
export function serveBytes(req: IncomingMessage, res: ServerResponse, data: Uint8Array, contentType = 'application/octet-stream'): void {
  const headers = { 'Content-Type': contentType, 'Accept-Ranges': 'bytes' };
  if (req.method === 'HEAD') {
    res.writeHead(200, { ...headers, 'Content-Length': data.length }).end();
    return;
  }
  const m = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
  if (!m) {
    res.writeHead(200, { ...headers, 'Content-Length': data.length }).end(data);
    return;
  }
  const a = Number(m[1]);
  const b = m[2] ? Math.min(Number(m[2]), data.length - 1) : data.length - 1;
  if (a >= data.length) {
    res.writeHead(416, { 'Content-Range': `bytes */${data.length}` }).end();
    return;
  }
  res.writeHead(206, { ...headers, 'Content-Range': `bytes ${a}-${b}/${data.length}`, 'Content-Length': b - a + 1 });
  res.end(data.subarray(a, b + 1));
}

/** Serves files under `root` (404 when missing); `path` is the URL path below the mount point. */
export async function serveFile(req: IncomingMessage, res: ServerResponse, root: string, path: string): Promise<void> {
  const full = normalize(join(root, path));
  if (!full.startsWith(normalize(root) + sep)) {
    res.writeHead(403).end();
    return;
  }
  const st = await stat(full).catch(() => undefined);
  if (!st?.isFile()) {
    res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found');
    return;
  }
  serveBytes(req, res, await readFile(full), path.endsWith('.json') ? 'application/json' : 'application/octet-stream');
}

export const SPA_INDEX = '<!doctype html>\n<html><head><title>My app</title></head><body><div id="app"></div></body></html>\n';
