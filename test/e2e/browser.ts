// Real-browser test harness: run a module from this repo inside headless Chromium with WebGPU
// (SwiftShader, so no GPU is needed) and get its result back in the Node test.
//
// How it works
//   openHarness() starts a Vite dev server on 127.0.0.1 (a free port, loopback only) with the
//   repo's vite.config.ts and the repo as root, so a page imports TypeScript from src/ and
//   `.wgsl?raw` shaders exactly as the library build does, and fetches test/fixtures/* over
//   HTTP (Range requests work). http://127.0.0.1 is a secure context, so WebGPU is exposed.
//   It launches /usr/bin/chromium (playwright-core, headless, CHROMIUM_ARGS below), opens
//   test/e2e/harness.html and checks that navigator.gpu.requestAdapter() gives an adapter;
//   `harness.adapter` holds its adapter.info, features and limits.
//
// API
//   openHarness(opts?) -> Promise<Harness>   { page, browser, server, baseUrl, adapter, logs,
//                                              runInPage(...), close() }
//       Opens a server + browser and makes it the current harness. If it fails half-way it
//       closes what it had started before throwing.
//   runInPage<T>(modulePath, exportName, arg?, opts?) -> Promise<T>
//       Uses the current harness (harness.runInPage does the same on a given one). Navigates
//       the page afresh to harness.html (so every call starts with a clean page and no GPU
//       state left over), does `await import(modulePath)` in the page and returns
//       `await module[exportName](arg)`.
//         modulePath: a URL path from the repo root ("/test/e2e/pages/kernels.ts"); a
//                     repo-relative or absolute file path inside the repo is accepted too.
//         arg / result: JSON-serialisable values, plus typed arrays (Float32Array, Uint16Array,
//                     ...), NaN and ±Infinity, which travel bit-exact (see codec.ts). Page
//                     modules may return Float32Arrays straight from ctx.readF32().
//         opts.timeoutMs: per-call limit (default 110 s, under vitest's 120 s test timeout).
//         opts.allowGpuErrors: by default an uncaptured WebGPU error (validation, OOM) or an
//                     unexpected device loss during the call fails it, even if the export
//                     returned; set true for tests that provoke such errors on purpose.
//       When the export throws, the page crashes or the call times out, the thrown Error holds
//       the page's error (name, code, stack with source paths), the page's uncaught exceptions
//       and console errors/warnings, and Vite's own errors (a failed TypeScript transform, a
//       missing file).
//   closeHarness() closes the current harness (same as harness.close()); never throws.
//
// Typical test (see kernels.browser.test.ts):
//   let h: Harness | undefined;
//   beforeAll(async () => { h = await openHarness(); console.log(describeAdapter(h.adapter)); }, 120_000);
//   afterAll(() => h?.close());          // runs even when beforeAll or a test failed
//   it('...', async () => {
//     const y = await runInPage<Float32Array>('/test/e2e/pages/kernels.ts', 'rmsnormCases', cases);
//   });
// A page module is any module under the repo: export async functions taking one argument.
// Keep Node-only imports (node:fs, src/node.ts, the `webgpu` package) out of page modules.
// Dependency pre-bundling is off (optimizeDeps.noDiscovery), so a late re-optimisation never
// reloads a page mid-run: bare imports are served as the package's own ESM files. If a page ever
// needs a CommonJS-only package, add it to optimizeDeps.include in startVite() below.
import { existsSync } from 'node:fs';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';
import { createLogger, createServer, type ViteDevServer } from 'vite';
import { decode, encode } from './codec.js';
import type { AdapterReport, HarnessApi, RunAnswer } from './harness_client.js';

export type { AdapterReport } from './harness_client.js';

export const REPO_ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');
export const CHROMIUM_PATH = '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--enable-unsafe-webgpu',
  '--use-webgpu-adapter=swiftshader',
  '--enable-features=Vulkan',
  '--use-vulkan=swiftshader',
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];
export const HARNESS_PAGE = '/test/e2e/harness.html';
const DEFAULT_RUN_TIMEOUT_MS = 110_000;
const LAUNCH_TIMEOUT_MS = 60_000;
const CLOSE_TIMEOUT_MS = 10_000;

export interface PageLog {
  kind: 'console.error' | 'console.warning' | 'pageerror' | 'crash' | 'requestfailed' | 'vite';
  text: string;
}

export interface RunOptions {
  timeoutMs?: number;
  allowGpuErrors?: boolean;
}

export interface Harness {
  page: Page;
  browser: Browser;
  server: ViteDevServer;
  /** "http://127.0.0.1:<port>", no trailing slash. */
  baseUrl: string;
  /** What navigator.gpu.requestAdapter() gave in the page. */
  adapter: AdapterReport;
  /** Console errors/warnings, uncaught exceptions and Vite errors since the last navigation. */
  logs: PageLog[];
  runInPage<T>(modulePath: string, exportName: string, arg?: unknown, opts?: RunOptions): Promise<T>;
  /** Closes page, browser and server; idempotent, never throws. */
  close(): Promise<void>;
}

export interface OpenOptions {
  /** Fail unless the page gets a WebGPU adapter (default true). */
  requireAdapter?: boolean;
  /** Chromium flags beyond CHROMIUM_ARGS (e.g. a --disable-features=... a test depends on). */
  extraArgs?: string[];
}

let current: Harness | undefined;

/** One harness for the enclosing describe block, opened before its tests and closed after. */
export function useHarness(opts: OpenOptions = {}): () => Harness {
  let h: Harness | undefined;
  beforeAll(async () => {
    h = await openHarness(opts);
  }, 120_000);
  afterAll(async () => {
    await h?.close();
  }, 30_000);
  return () => {
    if (!h) throw new Error('the browser harness did not open (see the beforeAll error)');
    return h;
  };
}
export async function openHarness(opts: OpenOptions = {}): Promise<Harness> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`Chromium not found at ${CHROMIUM_PATH}: the browser tests need it. Install it with \`apt-get install -y chromium\` (Debian/Ubuntu; it also ships the SwiftShader Vulkan driver WebGPU uses here). Do not use \`npx playwright install\`.`);
  }
  const logs: PageLog[] = [];
  const cleanups: Array<() => Promise<unknown>> = [];
  const cleanup = async () => {
    for (const fn of cleanups.splice(0).reverse()) {
      await withTimeout(fn(), CLOSE_TIMEOUT_MS, 'close').catch(() => undefined);
    }
  };
  try {
    // Server and browser start in parallel; whichever starts is closed if the other fails.
    const serverP = startVite(logs).then((s) => (cleanups.push(() => s.close()), s));
    const browserP = launchChromium(opts.extraArgs ?? []).then((b) => (cleanups.push(() => b.close()), b));
    const [serverR, browserR] = await Promise.allSettled([serverP, browserP]);
    if (serverR.status === 'rejected') throw serverR.reason;
    if (browserR.status === 'rejected') throw browserR.reason;
    const server = serverR.value, browser = browserR.value;
    const address = server.httpServer?.address();
    if (!address || typeof address === 'string') throw new Error('Vite dev server has no TCP address');
    const baseUrl = `http://127.0.0.1:${address.port}`;

    let page = await newPage(browser, logs);
    await gotoHarness(page, baseUrl, logs);
    const report = await page.evaluate(() => window.__ernieHarness!.adapter());
    if ('error' in report) {
      if (opts.requireAdapter ?? true) {
        throw new Error(`WebGPU is not available in Chromium: ${report.error}. Chromium was launched as ${CHROMIUM_PATH} ${CHROMIUM_ARGS.join(' ')}${formatLogs(logs)}`);
      }
    }
    const adapter = ('error' in report ? { vendor: '', architecture: '', device: '', description: report.error, isFallbackAdapter: undefined, features: [], limits: {} } : report) as AdapterReport;

    const harness: Harness = {
      get page() {
        return page;
      },
      browser,
      server,
      baseUrl,
      adapter,
      logs,
      async runInPage<T>(modulePath: string, exportName: string, arg?: unknown, runOpts: RunOptions = {}): Promise<T> {
        const url = toUrlPath(modulePath);
        const timeoutMs = runOpts.timeoutMs ?? DEFAULT_RUN_TIMEOUT_MS;
        const where = `runInPage(${url}, ${exportName})`;
        const started = Date.now();
        let answerText: string;
        try {
          answerText = await withTimeout(
            (async () => {
              await gotoHarness(page, baseUrl, logs);
              return page.evaluate(([m, e, a]) => window.__ernieHarness!.run(m, e, a), [url, exportName, encode(arg ?? null)] as const);
            })(),
            timeoutMs,
            where,
          );
        } catch (e) {
          const err = new Error(`${where} failed after ${Date.now() - started} ms: ${e instanceof Error ? e.message : String(e)}${formatLogs(logs)}`, { cause: e });
          // A hung or crashed page cannot be reused: give the next call a fresh one.
          const old = page;
          page = await newPage(browser, logs).catch(() => old);
          if (page !== old) void old.close().catch(() => undefined);
          throw err;
        }
        const answer = decode<RunAnswer>(answerText);
        if (!answer.ok) {
          const pe = answer.error;
          throw new Error(`${where} threw in the page: ${pe.name}${pe.code ? ` [${pe.code}]` : ''}: ${pe.message}\n${pe.stack ?? ''}${formatGpu(answer.gpuErrors)}${formatLogs(logs)}`);
        }
        if (answer.gpuErrors.length > 0 && !runOpts.allowGpuErrors) {
          throw new Error(`${where} returned, but WebGPU reported errors during the call${formatGpu(answer.gpuErrors)}${formatLogs(logs)}`);
        }
        const uncaught = logs.filter((l) => l.kind === 'pageerror' || l.kind === 'crash');
        if (uncaught.length > 0) {
          throw new Error(`${where} returned, but the page had uncaught exceptions${formatLogs(logs)}`);
        }
        return answer.value as T;
      },
      async close() {
        if (current === harness) current = undefined;
        await cleanup();
      },
    };
    current = harness;
    return harness;
  } catch (e) {
    await cleanup();
    throw e;
  }
}

/** runInPage on the current harness (the last one openHarness() opened and not yet closed). */
export function runInPage<T>(modulePath: string, exportName: string, arg?: unknown, opts?: RunOptions): Promise<T> {
  if (!current) return Promise.reject(new Error('runInPage: no harness is open; call `await openHarness()` in beforeAll and `close()` it in afterAll'));
  return current.runInPage<T>(modulePath, exportName, arg, opts);
}

export async function closeHarness(): Promise<void> {
  await current?.close();
}

/** One line for the test output: "swiftshader / ... (Google SwiftShader), fallback=false". */
export function describeAdapter(a: AdapterReport): string {
  return `vendor=${JSON.stringify(a.vendor)} architecture=${JSON.stringify(a.architecture)} device=${JSON.stringify(a.device)} description=${JSON.stringify(a.description)}` +
    (a.isFallbackAdapter === undefined ? '' : ` isFallbackAdapter=${a.isFallbackAdapter}`) +
    ` features=[${a.features.join(', ')}]`;
}

// ---- internals ----

async function startVite(logs: PageLog[]): Promise<ViteDevServer> {
  const base = createLogger('warn', { allowClearScreen: false });
  const logger = {
    ...base,
    warn(msg: string, o?: Parameters<typeof base.warn>[1]) {
      logs.push({ kind: 'vite', text: `warning: ${msg}` });
      base.warn(msg, o);
    },
    error(msg: string, o?: Parameters<typeof base.error>[1]) {
      logs.push({ kind: 'vite', text: `error: ${msg}${o?.error?.stack ? `\n${o.error.stack}` : ''}` });
      base.error(msg, o);
    },
  };
  const server = await createServer({
    configFile: resolve(REPO_ROOT, 'vite.config.ts'),
    root: REPO_ROOT,
    mode: 'development',
    clearScreen: false,
    customLogger: logger,
    server: {
      host: '127.0.0.1',
      port: 0, // the OS picks a free one
      strictPort: true,
      open: false,
      hmr: false,
      watch: null,
      fs: { strict: true, allow: [REPO_ROOT] },
    },
    // No dependency scan/pre-bundling: pages import repo files only, and a late re-optimisation
    // would reload the page in the middle of a run.
    optimizeDeps: { noDiscovery: true, include: [], entries: [] },
  });
  try {
    await server.listen();
  } catch (e) {
    await server.close().catch(() => undefined);
    throw new Error(`Vite dev server failed to start on 127.0.0.1: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  return server;
}

async function launchChromium(extraArgs: string[]): Promise<Browser> {
  try {
    return await chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: [...CHROMIUM_ARGS, ...extraArgs], timeout: LAUNCH_TIMEOUT_MS });
  } catch (e) {
    throw new Error(`Launching ${CHROMIUM_PATH} failed (is the Debian \`chromium\` package complete? \`apt-get install -y chromium libvulkan1\`): ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
}

async function newPage(browser: Browser, logs: PageLog[]): Promise<Page> {
  const page = await browser.newPage();
  page.on('console', (m) => {
    const t = m.type();
    if (t === 'error' || t === 'warning') {
      const loc = m.location();
      logs.push({ kind: t === 'error' ? 'console.error' : 'console.warning', text: `${m.text()}${loc.url ? ` (${loc.url}:${loc.lineNumber})` : ''}` });
    }
  });
  page.on('pageerror', (e) => logs.push({ kind: 'pageerror', text: e.stack ?? e.message }));
  page.on('crash', () => logs.push({ kind: 'crash', text: 'the page crashed' }));
  page.on('requestfailed', (r) => logs.push({ kind: 'requestfailed', text: `${r.method()} ${r.url()}: ${r.failure()?.errorText ?? ''}` }));
  page.on('response', (r) => {
    if (r.status() >= 400) logs.push({ kind: 'requestfailed', text: `${r.request().method()} ${r.url()}: HTTP ${r.status()}` });
  });
  return page;
}

async function gotoHarness(page: Page, baseUrl: string, logs: PageLog[]): Promise<void> {
  logs.length = 0;
  await page.goto(baseUrl + HARNESS_PAGE, { waitUntil: 'load' });
  await page.waitForFunction(() => (window as { __ernieHarness?: HarnessApi }).__ernieHarness?.ready === true, undefined, { timeout: 30_000 });
}

function toUrlPath(modulePath: string): string {
  if (/^https?:\/\//.test(modulePath)) return modulePath;
  if (isAbsolute(modulePath) && modulePath.startsWith(REPO_ROOT + sep)) {
    return '/' + relative(REPO_ROOT, modulePath).split(sep).join('/');
  }
  return modulePath.startsWith('/') ? modulePath : '/' + modulePath.replace(/^\.\//, '');
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

function formatGpu(errors: string[]): string {
  return errors.length ? `\n-- WebGPU errors --\n${errors.join('\n')}` : '';
}

function formatLogs(logs: PageLog[]): string {
  if (logs.length === 0) return '';
  const shown = logs.slice(0, 50).map((l) => `[${l.kind}] ${l.text}`);
  if (logs.length > 50) shown.push(`... ${logs.length - 50} more`);
  return `\n-- page/server log --\n${shown.join('\n')}`;
}
