// A package server for the store tests, on 127.0.0.1: serves folders under /<name>/, counts
// requests and body bytes per file, and misbehaves on demand (no Range support, 5xx with
// Retry-After, connections closed mid-file, corrupt bytes, a slow body, no CORS headers), and
// stops and starts again on the same port (a page reloaded "offline"). test/helpers/http_server.ts
// is the per-request-handler server of the HTTP-layer tests; this one streams bodies in pieces,
// which the resume tests need.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { readFileSync, statSync } from 'node:fs';
import { join, normalize } from 'node:path';

export interface RequestLog {
  file: string;
  /** Range start asked for (undefined: whole file). */
  rangeStart?: number;
  status: number;
  /** Body bytes written. */
  bytes: number;
}

export interface Misbehaviour {
  /** Answer Range requests with 200 and the whole file (default false). */
  noRange?: boolean;
  /** Per file: answer this many requests with 503 (then normally), with Retry-After seconds. */
  fail?: Map<string, { times: number; status?: number; retryAfter?: number }>;
  /** Per file: close the connection after this many body bytes, once. */
  cutAfter?: Map<string, number>;
  /** Files served with one byte flipped. */
  corrupt?: Set<string>;
  /** Body sent in 64 KiB pieces with this many ms between them. */
  slowMs?: number;
  /** Every body pauses after its first 64 KiB piece until this promise settles (a download held mid-way). */
  holdAfterFirstPiece?: Promise<void>;
  /** No Access-Control-* headers. */
  noCors?: boolean;
  /** Missing files answered 200 with an HTML page (an SPA fallback), and these files treated as missing. */
  spaFallback?: Set<string>;
}

export interface PackageServer {
  baseUrl: string;
  log: RequestLog[];
  misbehave: Misbehaviour;
  /** Body bytes sent for `file` (all requests). */
  bytesSent(file: string): number;
  requests(file: string): RequestLog[];
  /** Stops listening (open connections dropped); start() listens again on the same port. */
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

export async function startPackageServer(folders: Record<string, string>): Promise<PackageServer> {
  const log: RequestLog[] = [];
  const misbehave: Misbehaviour = {};
  const sockets = new Set<import('node:net').Socket>();

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    if (!misbehave.noCors) {
      res.setHeader('Access-Control-Allow-Origin', '*');
      res.setHeader('Access-Control-Expose-Headers', 'Content-Range, Content-Length, Accept-Ranges, Retry-After');
    }
    if (req.method === 'OPTIONS') {
      if (!misbehave.noCors) {
        res.setHeader('Access-Control-Allow-Headers', 'Range');
        res.setHeader('Access-Control-Allow-Methods', 'GET, HEAD');
      }
      res.writeHead(204).end();
      return;
    }
    const url = new URL(req.url ?? '/', 'http://x');
    const [, name, ...rest] = decodeURIComponent(url.pathname).split('/');
    const file = rest.join('/');
    const dir = folders[name ?? ''];
    const path = dir && normalize(join(dir, file));
    let data: Buffer;
    try {
      if (!path || !path.startsWith(normalize(dir) + '/') || !statSync(path).isFile()) throw new Error('no');
      data = readFileSync(path);
      if (misbehave.spaFallback?.has(file)) throw new Error('hidden');
    } catch {
      if (misbehave.spaFallback) {
        log.push({ file, status: 200, bytes: 0 });
        res.writeHead(200, { 'Content-Type': 'text/html' }).end('<!doctype html><html><body>app</body></html>');
        return;
      }
      log.push({ file, status: 404, bytes: 0 });
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found');
      return;
    }
    const fail = misbehave.fail?.get(file);
    if (fail && fail.times > 0) {
      fail.times--;
      log.push({ file, status: fail.status ?? 503, bytes: 0 });
      res.writeHead(fail.status ?? 503, fail.retryAfter !== undefined ? { 'Retry-After': String(fail.retryAfter) } : {}).end();
      return;
    }
    if (misbehave.corrupt?.has(file)) {
      data = Buffer.from(data);
      data[data.length >> 1] ^= 0x5a;
    }
    const m = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    let start = 0, end = data.length;
    let status = 200;
    if (m && !misbehave.noRange) {
      start = Number(m[1]);
      end = m[2] ? Math.min(data.length, Number(m[2]) + 1) : data.length;
      status = 206;
      res.setHeader('Content-Range', `bytes ${start}-${end - 1}/${data.length}`);
    }
    if (!misbehave.noRange) res.setHeader('Accept-Ranges', 'bytes');
    res.writeHead(status, { 'Content-Type': 'application/octet-stream', 'Content-Length': String(end - start) });
    const entry: RequestLog = { file, rangeStart: m ? Number(m[1]) : undefined, status, bytes: 0 };
    log.push(entry);
    if (req.method === 'HEAD') return void res.end();
    const cut = misbehave.cutAfter?.get(file);
    if (cut !== undefined) misbehave.cutAfter!.delete(file);
    const piece = 64 * 1024;
    for (let o = start; o < end; o += piece) {
      let part = data.subarray(o, Math.min(end, o + piece));
      if (cut !== undefined && entry.bytes + part.length > cut) {
        part = part.subarray(0, cut - entry.bytes);
        await write(res, part);
        entry.bytes += part.length;
        res.socket?.end(); // the bytes so far arrive, then the connection closes short of Content-Length
        return;
      }
      if (res.destroyed) return;
      await write(res, part);
      entry.bytes += part.length;
      if (misbehave.slowMs) await new Promise((r) => setTimeout(r, misbehave.slowMs));
      if (o === start && misbehave.holdAfterFirstPiece) await misbehave.holdAfterFirstPiece;
    }
    res.end();
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => res.destroy());
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as import('node:net').AddressInfo).port;
  const stop = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
  return {
    stop,
    start: () => new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve)),
    baseUrl: `http://127.0.0.1:${port}`,
    log,
    misbehave,
    bytesSent: (file) => log.filter((l) => l.file === file).reduce((n, l) => n + l.bytes, 0),
    requests: (file) => log.filter((l) => l.file === file),
    close: () => (server.listening ? stop() : Promise.resolve()),
  };
}

function write(res: ServerResponse, part: Buffer): Promise<void> {
  return new Promise((resolve) => {
    if (res.destroyed) return resolve();
    if (res.write(part)) return resolve();
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}
