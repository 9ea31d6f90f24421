import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AbortError, ErnieError, FileFormatError } from '../../src/errors';
import { blobFolder, fromArrayBuffer, fromBlob, fromUrl, urlFolder, FileNotFoundError } from '../../src/formats/sources';
import { fromPath, nodeFolder } from '../../src/formats/node_source';
import type { ByteSource } from '../../src/formats/source';

// 1000 bytes with a recognizable pattern.
const DATA = Uint8Array.from({ length: 1000 }, (_, i) => (i * 7 + 3) & 0xff);

/** Range-checking behaviour every source must share. */
async function checkSource(src: ByteSource, name: string) {
  expect(await src.size()).toBe(DATA.length);
  expect(Array.from(await src.read(0, 4))).toEqual(Array.from(DATA.subarray(0, 4)));
  expect(Array.from(await src.read(990, 10))).toEqual(Array.from(DATA.subarray(990)));
  expect((await src.read(1000, 0)).length).toBe(0);
  for (const [off, len] of [[995, 6], [-1, 2], [1.5, 2], [0, -1], [0, 1001], [2000, 1]] as const) {
    const err = await src.read(off, len).catch((e: unknown) => e);
    expect(err, `read(${off}, ${len})`).toBeInstanceOf(FileFormatError);
    expect((err as Error).message).toContain(name);
  }
}

describe('local sources', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ernie-sources-'));
    await mkdir(join(dir, 'sub'));
    await writeFile(join(dir, 'sub', 'data.bin'), DATA);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('fromArrayBuffer reads copies and checks ranges', async () => {
    await checkSource(fromArrayBuffer(DATA.slice().buffer, 'mem.bin'), 'mem.bin');
    const src = fromArrayBuffer(DATA, 'view.bin');
    await checkSource(src, 'view.bin');
    const got = await src.read(0, 4);
    got[0] = 99; // a copy: the source is unchanged
    expect((await src.read(0, 1))[0]).toBe(DATA[0]);
  });

  it('fromBlob reads slices of a real Blob and File', async () => {
    await checkSource(fromBlob(new Blob([DATA]), 'blob.bin'), 'blob.bin');
    const file = new File([DATA], 'picked.bin');
    const src = fromBlob(file);
    expect(src.name).toBe('picked.bin');
    await checkSource(src, 'picked.bin');
  });

  it('fromPath reads positional ranges from disk', async () => {
    const path = join(dir, 'sub', 'data.bin');
    await checkSource(fromPath(path), path);
    const missing = await fromPath(join(dir, 'nope.bin')).size().catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(FileNotFoundError);
    expect((missing as Error).message).toContain('nope.bin');
  });

  it('nodeFolder resolves inside the folder and refuses escapes', async () => {
    const folder = nodeFolder(dir);
    expect(Array.from(await folder('sub/data.bin').read(10, 3))).toEqual(Array.from(DATA.subarray(10, 13)));
    expect(() => folder('../etc/passwd')).toThrow(FileFormatError);
  });

  it('blobFolder finds files by relative path and lists what exists when one is missing', async () => {
    const folder = blobFolder(new Map([['config.json', new Blob(['{}'])], ['model.safetensors', new Blob([DATA])]]));
    expect(await folder('model.safetensors').size()).toBe(1000);
    let err: unknown;
    try {
      folder('tokenizer.json');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ErnieError);
    expect((err as Error).message).toContain('tokenizer.json');
    expect((err as Error).message).toContain('config.json, model.safetensors');

    // Files from a directory picker carry "topFolder/name" in webkitRelativePath.
    const f = new File([DATA], 'data.bin');
    Object.defineProperty(f, 'webkitRelativePath', { value: 'my-model/data.bin' });
    const files = blobFolder([f, new File(['x'], 'other.txt')]);
    expect(await files('data.bin').size()).toBe(1000);
    expect(await files('other.txt').size()).toBe(1);
  });
});

// ---- HTTP ----

// range: a good server; norange: ignores Range; nohead: refuses HEAD; plain: both; slow: never answers.
type Mode = 'range' | 'norange' | 'nohead' | 'plain' | 'slow';

describe('fromUrl', () => {
  let server: Server;
  let base: string;
  let bytesServed = 0;
  const requests: { method: string; url: string; range?: string; auth?: string }[] = [];

  function handle(req: IncomingMessage, res: ServerResponse) {
    const [, mode, file] = (req.url ?? '').split('/') as [string, Mode, string];
    requests.push({ method: req.method!, url: req.url!, range: req.headers.range, auth: req.headers.authorization });
    if (file !== 'data.bin') {
      res.writeHead(404).end('not found');
      return;
    }
    if (mode === 'slow') {
      // Never answers before the client gives up; unref so it cannot hold the process.
      setTimeout(() => res.destroy(), 10_000).unref();
      return;
    }
    if (req.method === 'HEAD') {
      if (mode === 'nohead' || mode === 'plain') res.writeHead(405).end();
      else res.writeHead(200, { 'Content-Length': DATA.length, 'Accept-Ranges': mode === 'range' ? 'bytes' : 'none' }).end();
      return;
    }
    const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
    if (!m || mode === 'norange' || mode === 'plain') {
      bytesServed += DATA.length;
      res.writeHead(200, { 'Content-Length': DATA.length }).end(DATA);
      return;
    }
    const a = Number(m[1]);
    const b = Math.min(Number(m[2]), DATA.length - 1);
    if (a >= DATA.length) {
      res.writeHead(416, { 'Content-Range': `bytes */${DATA.length}` }).end();
      return;
    }
    bytesServed += b - a + 1;
    res.writeHead(206, { 'Content-Range': `bytes ${a}-${b}/${DATA.length}`, 'Content-Length': b - a + 1 });
    res.end(DATA.subarray(a, b + 1));
  }

  beforeAll(async () => {
    server = createServer(handle);
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((ok) => server.close(ok));
  });

  it('reads with Range requests and checks bounds', async () => {
    bytesServed = 0;
    const url = `${base}/range/data.bin`;
    await checkSource(fromUrl(url), url);
    expect(bytesServed).toBe(4 + 10); // only the two in-bounds reads hit the wire
    expect(requests.filter((r) => r.url === '/range/data.bin' && r.method === 'GET').every((r) => r.range?.startsWith('bytes='))).toBe(true);
  });

  it('gets the size from Content-Range when HEAD is refused', async () => {
    const src = fromUrl(`${base}/nohead/data.bin`);
    expect(await src.size()).toBe(1000);
    expect(Array.from(await src.read(500, 3))).toEqual(Array.from(DATA.subarray(500, 503)));
  });

  it('refuses a server that ignores Range instead of downloading everything', async () => {
    const err = await fromUrl(`${base}/norange/data.bin`).read(10, 20).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ErnieError);
    expect((err as ErnieError).code).toBe('FETCH_FAILED');
    expect((err as Error).message).toMatch(/Range/);
    // Also when HEAD is refused: the size comes from the probe's 200 (its body is not read), the
    // partial read is still refused, and a read of the whole file is a correct answer.
    const plain = fromUrl(`${base}/plain/data.bin`);
    expect(await plain.size()).toBe(1000);
    const partial = await plain.read(0, 20).catch((e: unknown) => e);
    expect((partial as ErnieError).code).toBe('FETCH_FAILED');
    expect((partial as Error).message).toMatch(/ignored the HTTP Range request/);
    expect(Array.from(await plain.read(0, 1000))).toEqual(Array.from(DATA));
  });

  it('reports 404 as FETCH_FAILED with status and URL', async () => {
    const url = `${base}/range/missing.bin`;
    const err = await fromUrl(url).read(0, 1).catch((e: unknown) => e);
    expect((err as ErnieError).code).toBe('FETCH_FAILED');
    expect((err as Error).message).toContain('404');
    expect((err as Error).message).toContain(url);
    expect(err).toBeInstanceOf(FileNotFoundError);
  });

  it('honours AbortSignal, before and during a request', async () => {
    const pre = new AbortController();
    pre.abort();
    const e1 = await fromUrl(`${base}/range/data.bin`).read(0, 8, pre.signal).catch((e: unknown) => e);
    expect(e1).toBeInstanceOf(AbortError);
    expect((e1 as ErnieError).code).toBe('ABORTED');

    // The slow endpoint never answers, so fake the HEAD and let the ranged GET hang until aborted.
    const fakeHeadFetch: typeof fetch = async (input, init) => {
      if (init?.method === 'HEAD') return new Response(null, { status: 200, headers: { 'Content-Length': '1000' } });
      return fetch(input, init);
    };
    const ctl = new AbortController();
    const started = Date.now();
    setTimeout(() => ctl.abort(), 30);
    const e2 = await fromUrl(`${base}/slow/data.bin`, { fetch: fakeHeadFetch }).read(0, 8, ctl.signal).catch((e: unknown) => e);
    expect(e2).toBeInstanceOf(AbortError);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('sends custom headers through a custom fetch', async () => {
    let calls = 0;
    const counting: typeof fetch = (input, init) => {
      calls++;
      return fetch(input, init);
    };
    const src = urlFolder(`${base}/range/`, { fetch: counting, headers: { Authorization: 'Bearer t' } })('data.bin');
    expect(Array.from(await src.read(1, 2))).toEqual([DATA[1], DATA[2]]);
    expect(calls).toBe(1); // one ranged GET: no size probe before it
    expect(requests.at(-1)).toMatchObject({ method: 'GET', range: 'bytes=1-2', auth: 'Bearer t' });
  });
});
