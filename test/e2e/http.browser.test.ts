// Loading over HTTP in Chromium from a host on another origin (127.0.0.1, another port): a
// package served with the CORS headers README names loads with no console error at all (no
// optional-file probes: the manifest lists the files); a host without CORS headers gives an error
// that says CORS and names the headers; a host whose SPA fallback answers every missing file with
// index.html gives "not found", never a Range complaint.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runInPage, useHarness } from './browser.js';
import type { PageError } from './pages/http.js';
import { serveBytes, SPA_INDEX, startServer, type TestServer } from '../helpers/http_server.js';
import { writeTinyPackage } from '../helpers/tiny_package.js';

const CORS = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Expose-Headers': 'Content-Range, Content-Length',
};

describe('model hosts in Chromium', { timeout: 240_000 }, () => {
  const harness = useHarness();
  let work: string;
  let srv: TestServer;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'ernie-http-e2e-'));
    const { pkg } = await writeTinyPackage(work);
    srv = await startServer(async (req, res, path) => {
      const [, mount, ...rest] = path.split('/');
      const headers: Record<string, string> = mount === 'nocors' ? {} : CORS;
      for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
      if (req.method === 'OPTIONS') {
        // The preflight a Range header may need.
        if (mount === 'nocors') return void res.writeHead(404).end();
        return void res.writeHead(204, { 'Access-Control-Allow-Methods': 'GET, HEAD', 'Access-Control-Allow-Headers': 'Range', 'Access-Control-Max-Age': '600' }).end();
      }
      const bytes = await readFile(join(pkg, rest.join('/'))).catch(() => undefined);
      if (mount === 'spa' && !bytes) return void res.writeHead(200, { 'Content-Type': 'text/html' }).end(SPA_INDEX);
      if (!bytes) return void res.writeHead(404).end();
      return serveBytes(req, res, bytes);
    });
  }, 120_000);
  afterAll(async () => {
    await srv?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('a package from a CORS-enabled host loads with no console error', async () => {
    const answer = await runInPage<string>('/test/e2e/pages/http.ts', 'loadAndAnswer', { model: `${srv.base}/ok/` }, { timeoutMs: 200_000 });
    expect(answer.length).toBeGreaterThan(0);
    expect(harness().logs).toEqual([]);
    expect(srv.requests.filter((r) => r.path.startsWith('/ok/') && r.method === 'HEAD')).toEqual([]);
  });

  it('a host without CORS headers gives an error that says CORS and which headers', async () => {
    const err = await runInPage<PageError | null>('/test/e2e/pages/http.ts', 'readError', { url: `${srv.base}/nocors/core-000.bin` });
    expect(err).toMatchObject({ name: 'HttpError', code: 'FETCH_FAILED', failure: 'cors' });
    expect(err!.message).toContain('core-000.bin');
    expect(err!.message).toContain(`${srv.base}/nocors/core-000.bin`);
    expect(err!.message).toContain('CORS');
    expect(err!.message).toContain('Access-Control-Allow-Origin');
    expect(err!.message).toContain('Access-Control-Expose-Headers: Content-Range, Content-Length');
    // A server that is not there at all is a network error, not CORS.
    const dead = await runInPage<PageError | null>('/test/e2e/pages/http.ts', 'readError', { url: 'http://127.0.0.1:9/x/core-000.bin' });
    expect(dead).toMatchObject({ name: 'HttpError', failure: 'network' });
  });

  it('an SPA fallback answering missing files with index.html is "not found", not a Range problem', async () => {
    const err = await runInPage<PageError | null>('/test/e2e/pages/http.ts', 'loadError', { model: `${srv.base}/spa/missing-model/` });
    expect(err).toMatchObject({ name: 'FileNotFoundError', code: 'FETCH_FAILED' });
    expect(err!.message).toContain('not found (the server answered with an HTML page: an SPA fallback?)');
    expect(err!.message).toContain(`${srv.base}/spa/missing-model/manifest.json`);
    expect(err!.message).not.toMatch(/ignored the HTTP Range/);
  });
});
