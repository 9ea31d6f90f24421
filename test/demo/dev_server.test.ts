// `npm run dev` (the repo's vite.config.ts): the URL Vite prints, the root, leads to the demo page.
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type ViteDevServer } from 'vite';

const REPO = resolve(import.meta.dirname, '../..');
let server: ViteDevServer;
let base: string;

beforeAll(async () => {
  server = await createServer({
    configFile: resolve(REPO, 'vite.config.ts'),
    root: REPO,
    logLevel: 'silent',
    server: { host: '127.0.0.1', port: 0, strictPort: true, open: false, hmr: false, watch: null },
    optimizeDeps: { noDiscovery: true, include: [], entries: [] },
  });
  await server.listen();
  const address = server.httpServer!.address() as { port: number };
  base = `http://127.0.0.1:${address.port}`;
});

afterAll(() => server?.close());

describe('the dev server', () => {
  it('redirects / to the demo page, which is served', async () => {
    const root = await fetch(`${base}/`, { redirect: 'manual' });
    expect(root.status).toBe(302);
    expect(root.headers.get('location')).toBe('/demo/');
    const page = await fetch(`${base}/`);
    expect(page.status).toBe(200);
    expect(page.url).toBe(`${base}/demo/`);
    expect(await page.text()).toContain('<title>ERNIE chat (WebGPU)</title>');
  });

  it('serves the demo script the page loads', async () => {
    const html = await (await fetch(`${base}/demo/`)).text();
    const src = html.match(/<script type="module" src="([^"]*main\.ts)"/)![1];
    const script = await fetch(new URL(src, `${base}/demo/`));
    expect(script.status).toBe(200);
    expect(await script.text()).toMatch(/loadEngine|WorkerEngine/);
  });

  it('serves the manifest and icons the page links, relative to the page', async () => {
    const html = await (await fetch(`${base}/demo/`)).text();
    const links = [...html.matchAll(/<link rel="(?:manifest|icon|apple-touch-icon)" href="([^"]+)"/g)].map((m) => m[1]!);
    expect(links).toEqual(['./manifest.webmanifest', './icon.svg', './icon-192.png']);
    for (const href of links) {
      const r = await fetch(new URL(href, `${base}/demo/`));
      expect(r.status, href).toBe(200);
      expect((await r.arrayBuffer()).byteLength, href).toBeGreaterThan(100);
    }
    const manifest = (await (await fetch(`${base}/demo/manifest.webmanifest`)).json()) as { icons: { src: string }[] };
    for (const icon of manifest.icons) expect((await fetch(new URL(icon.src, `${base}/demo/`))).status, icon.src).toBe(200);
  });
});
