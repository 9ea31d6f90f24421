// src/formats/http.ts and fromUrl against a server on 127.0.0.1 that misbehaves on purpose.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServerResponse } from 'node:http';
import { AbortError, FileNotFoundError, HttpError } from '../../src/errors';
import { httpRequest, parseContentRange, parseRetryAfter, readBody } from '../../src/formats/http';
import { fromUrl, ifFound, urlFolder } from '../../src/formats/sources';
import { loadEngine } from '../../src/engine/load';
import { serveBytes, SPA_INDEX, startServer, type TestServer } from '../helpers/http_server';

const DATA = Uint8Array.from({ length: 4000 }, (_, i) => (i * 31 + 7) & 0xff);
const FAST = { retry: { baseDelayMs: 5, maxDelayMs: 20 } };

describe('httpRequest and fromUrl against a misbehaving server', () => {
  let srv: TestServer;
  const hits = new Map<string, number>();
  const open: ServerResponse[] = [];
  /** How many requests `path` got so far (this one included). */
  const hit = (path: string) => {
    const n = (hits.get(path) ?? 0) + 1;
    hits.set(path, n);
    return n;
  };
  const count = (path: string) => srv.requests.filter((r) => r.path === path).length;

  beforeAll(async () => {
    srv = await startServer((req, res, path) => {
      const [, mode, file] = path.split('/');
      const n = hit(path);
      switch (mode) {
        case 'ok':
          return file === 'data.bin' ? serveBytes(req, res, DATA) : void res.writeHead(404).end();
        case 'spa': // a dev server's SPA fallback: index.html for every missing file
          return void res.writeHead(200, { 'Content-Type': 'text/html' }).end(SPA_INDEX);
        case 'spa-untyped': // ... even without a text/html type
          return void res.writeHead(200, { 'Content-Type': 'application/octet-stream' }).end(SPA_INDEX);
        case 'head501': // HEAD not implemented
          return req.method === 'HEAD' ? void res.writeHead(501).end() : serveBytes(req, res, DATA);
        case 'norange':
          return void res.writeHead(200, { 'Content-Length': DATA.length }).end(DATA);
        case 'flaky': // three 500s, then a correct answer
          return n <= 3 ? void res.writeHead(500).end('oops') : serveBytes(req, res, DATA);
        case 'busy': // 429 asking for 1 s, then a correct answer
          return n === 1 ? void res.writeHead(429, { 'Retry-After': '1' }).end() : serveBytes(req, res, DATA);
        case 'always500':
          return void res.writeHead(503).end();
        case 'bad400':
          return void res.writeHead(400).end();
        case 's3':
          return void res.writeHead(403, { 'Content-Type': 'application/xml' }).end('<Error><Code>AccessDenied</Code></Error>');
        case 'reset': {
          // The first ranged GET sends headers and half the bytes, then the connection dies.
          const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
          if (n === 1 && m) {
            const a = Number(m[1]), b = Number(m[2]);
            res.writeHead(206, { 'Content-Range': `bytes ${a}-${b}/${DATA.length}`, 'Content-Length': b - a + 1 });
            res.write(DATA.subarray(a, a + (b - a + 1) / 2), () => setTimeout(() => res.destroy(), 20));
            return;
          }
          return serveBytes(req, res, DATA);
        }
        case 'hang': // never answers (not even HEAD)
          open.push(res);
          return;
        case 'trickle': // headers and 10 bytes, then silence
          res.writeHead(200, { 'Content-Length': DATA.length });
          res.write(DATA.subarray(0, 10));
          open.push(res);
          return;
        case 'wrongoffset': // 206 whose Content-Range starts elsewhere
          return void res.writeHead(206, { 'Content-Range': `bytes 0-9/${DATA.length}`, 'Content-Length': 10 }).end(DATA.subarray(0, 10));
        default:
          return void res.writeHead(404).end();
      }
    });
  });
  afterAll(async () => {
    for (const r of open) r.destroy();
    await srv.close();
  });

  it('answers a missing file with HTML 200 (SPA fallback) as "not found", never as a Range problem', async () => {
    for (const mode of ['spa', 'spa-untyped']) {
      const url = `${srv.base}/${mode}/config.json`;
      const whole = await fromUrl(url).readAll!(1 << 20).catch((e: unknown) => e);
      expect(whole, mode).toBeInstanceOf(FileNotFoundError);
      expect((whole as Error).message).toContain('not found (the server answered with an HTML page: an SPA fallback?)');
      expect((whole as Error).message).toContain(url);
      const ranged = await fromUrl(`${srv.base}/${mode}/model.safetensors`).read(0, 8).catch((e: unknown) => e);
      expect(ranged, mode).toBeInstanceOf(FileNotFoundError);
      expect((ranged as Error).message).not.toMatch(/Range/);
      expect(await ifFound(() => fromUrl(`${srv.base}/${mode}/added_tokens.json`).readAll!(1 << 20))).toBeUndefined();
    }
    // The size probe (HEAD) sees the text/html type too.
    expect(await fromUrl(`${srv.base}/spa/x.bin`).size().catch((e: unknown) => e)).toBeInstanceOf(FileNotFoundError);
    // An .html file is allowed to be HTML.
    expect(new TextDecoder().decode(await fromUrl(`${srv.base}/spa/page.html`).readAll!(1 << 20))).toBe(SPA_INDEX);
  });

  it('refuses a server without Range support for a partial read, accepts it for a whole file', async () => {
    const err = await fromUrl(`${srv.base}/norange/data.bin`).read(100, 10).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HttpError);
    expect((err as HttpError).failure).toBe('range');
    expect((err as Error).message).toMatch(/ignored the HTTP Range request/);
    expect(Array.from(await fromUrl(`${srv.base}/norange/data.bin`).read(0, DATA.length))).toEqual(Array.from(DATA));
  });

  it('retries 500s with backoff, then succeeds; gives up after the bounded count', async () => {
    const retries: number[] = [];
    const got = await fromUrl(`${srv.base}/flaky/data.bin`, { ...FAST, onRetry: (e) => retries.push(e.error.status) }).read(10, 5);
    expect(Array.from(got)).toEqual(Array.from(DATA.subarray(10, 15)));
    expect(retries).toEqual([500, 500, 500]);
    expect(count('/flaky/data.bin')).toBe(4);

    const err = await httpRequest(`${srv.base}/always500/data.bin`, { retry: { retries: 2, baseDelayMs: 5, maxDelayMs: 10 } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HttpError);
    expect((err as HttpError).status).toBe(503);
    expect((err as Error).message).toContain(`${srv.base}/always500/data.bin`);
    expect((err as Error).message).toContain('gave up after 3 tries');
    expect(count('/always500/data.bin')).toBe(3);
    // The default policy: 4 retries (5 tries).
    await httpRequest(`${srv.base}/always500/default.bin`, { retry: { baseDelayMs: 1, maxDelayMs: 2 } }).catch(() => undefined);
    expect(count('/always500/default.bin')).toBe(5);
  });

  it('takes the size from a one-byte ranged GET when HEAD is refused (501 is not retried)', async () => {
    expect(await fromUrl(`${srv.base}/head501/data.bin`, FAST).size()).toBe(DATA.length);
    expect(srv.requests.filter((r) => r.path === '/head501/data.bin').map((r) => `${r.method} ${r.range ?? ''}`)).toEqual(['HEAD ', 'GET bytes=0-0']);
  });

  it('never retries other 4xx', async () => {
    const err = await httpRequest(`${srv.base}/bad400/data.bin`, FAST).catch((e: unknown) => e);
    expect((err as HttpError).status).toBe(400);
    expect((err as HttpError).retryable).toBe(false);
    expect(count('/bad400/data.bin')).toBe(1);
    const missing = await httpRequest(`${srv.base}/ok/nope.bin`, FAST).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(FileNotFoundError);
    expect((missing as Error).message).toContain(`nope.bin: not found at ${srv.base}/ok/nope.bin (HTTP 404)`);
    expect(count('/ok/nope.bin')).toBe(1);
  });

  it('honours 429 Retry-After (seconds), capped by maxDelayMs', async () => {
    const delays: number[] = [];
    const t0 = Date.now();
    const res = await httpRequest(`${srv.base}/busy/data.bin`, { retry: { baseDelayMs: 5, maxDelayMs: 5000 }, onRetry: (e) => delays.push(e.delayMs) });
    expect(res.status).toBe(200);
    expect(delays).toEqual([1000]);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(950);
    expect((await readBody(res)).length).toBe(DATA.length);
    // A Retry-After longer than maxDelayMs waits maxDelayMs.
    const capped: number[] = [];
    await readBody(await httpRequest(`${srv.base}/busy/capped.bin`, { retry: { baseDelayMs: 5, maxDelayMs: 50 }, onRetry: (e) => capped.push(e.delayMs) }));
    expect(capped).toEqual([50]);
    expect(parseRetryAfter('120')).toBe(120_000);
    expect(parseRetryAfter(new Date(Date.UTC(2030, 0, 1, 0, 0, 30)).toUTCString(), Date.UTC(2030, 0, 1))).toBe(30_000);
    expect(parseRetryAfter('soon')).toBeUndefined();
  });

  it('resumes a body cut off mid-way (connection reset) from the last byte received', async () => {
    const got = await fromUrl(`${srv.base}/reset/data.bin`, FAST).read(1000, 2000);
    expect(Array.from(got)).toEqual(Array.from(DATA.subarray(1000, 3000)));
    const ranges = srv.requests.filter((r) => r.path === '/reset/data.bin').map((r) => r.range);
    expect(ranges).toEqual(['bytes=1000-2999', 'bytes=2000-2999']);
  });

  it('a HEAD that never answers settles promptly on AbortSignal.timeout', async () => {
    const t0 = Date.now();
    const err = await fromUrl(`${srv.base}/hang/data.bin`).size(AbortSignal.timeout(300)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AbortError);
    expect((err as Error).message).toMatch(/timed out/);
    expect(Date.now() - t0).toBeLessThan(2000);
  });

  it('loadEngine with AbortSignal.timeout against a host that never answers settles promptly', async () => {
    const t0 = Date.now();
    const err = await loadEngine({ model: `${srv.base}/hang/model/`, signal: AbortSignal.timeout(300) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AbortError);
    expect(Date.now() - t0).toBeLessThan(2000);
  });

  it('aborts during a backoff sleep at once', async () => {
    const ctl = new AbortController();
    setTimeout(() => ctl.abort(), 100);
    const t0 = Date.now();
    const err = await httpRequest(`${srv.base}/always500/slow.bin`, { signal: ctl.signal, retry: { baseDelayMs: 10_000, maxDelayMs: 10_000 } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AbortError);
    expect(Date.now() - t0).toBeLessThan(2000);
  });

  it('fails a stalled request (no headers, or no body bytes) after the stall timeout', async () => {
    const t0 = Date.now();
    const noHeaders = await httpRequest(`${srv.base}/hang/a.bin`, { stallTimeoutMs: 200, retry: false }).catch((e: unknown) => e);
    expect(noHeaders).toBeInstanceOf(HttpError);
    expect((noHeaders as HttpError).failure).toBe('stall');
    expect((noHeaders as Error).message).toContain(`no answer from ${srv.base}/hang/a.bin for 0.2 s`);
    const noBody = await fromUrl(`${srv.base}/trickle/b.bin`, { stallTimeoutMs: 200, retry: false }).read(0, DATA.length).catch((e: unknown) => e);
    expect(noBody).toBeInstanceOf(HttpError);
    expect((noBody as HttpError).failure).toBe('stall');
    expect((noBody as Error).message).toContain('no data from');
    expect(Date.now() - t0).toBeLessThan(3000);
  });

  it('treats an S3-style 403 as absent for an optional file, and as an error naming the host for a required one', async () => {
    const folder = urlFolder(`${srv.base}/s3/`, FAST);
    expect(await ifFound(() => folder('generation_config.json').readAll!(1 << 20))).toBeUndefined();
    const err = await folder('config.json').readAll!(1 << 20).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HttpError);
    expect((err as HttpError).status).toBe(403);
    expect((err as Error).message).toContain(`config.json: HTTP 403 Forbidden from ${srv.base}/s3/config.json`);
    expect((err as Error).message).toContain('S3');
  });

  it('refuses a 206 that starts at another offset than asked', async () => {
    const err = await fromUrl(`${srv.base}/wrongoffset/data.bin`, FAST).read(100, 10).catch((e: unknown) => e);
    expect((err as HttpError).failure).toBe('range');
    expect((err as Error).message).toContain('sent bytes from 0');
  });

  it('a folder given its file list answers other paths as absent without a request', async () => {
    const folder = urlFolder(`${srv.base}/ok/`, { files: ['data.bin'] });
    const before = srv.requests.length;
    expect(await ifFound(() => folder('added_tokens.json').readAll!(1 << 20))).toBeUndefined();
    const err = await folder('tokenizer.json').size().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FileNotFoundError);
    expect((err as Error).message).toContain(`tokenizer.json: not among the files given for ${srv.base}/ok/`);
    expect(srv.requests.length).toBe(before);
    expect(Array.from(await folder('data.bin').read(0, 3))).toEqual(Array.from(DATA.subarray(0, 3)));
  });

  it('parses Content-Range strictly', () => {
    expect(parseContentRange('bytes 10-19/100')).toEqual({ start: 10, end: 20, total: 100 });
    expect(parseContentRange('bytes 10-19/*')).toEqual({ start: 10, end: 20 });
    expect(parseContentRange('bytes 10-200/100')).toBeUndefined();
    expect(parseContentRange('items 1-2/3')).toBeUndefined();
  });
});
