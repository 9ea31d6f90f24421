// `npm run bench:peers`: one 21B-width GGUF (ERNIE-4.5-21B-A3B geometry, fewer layers, random
// Q4_0 weights from bench/make_gguf.ts) in four engines, one run, the same greedy prompt:
//   1. ours in Node (Dawn; SwiftShader on a machine without a GPU),
//   2. llama.cpp native CPU (node-llama-cpp's prebuilt, `--threads`, default 2),
//   3. ours in Chromium (WebGPU; SwiftShader here), the file fetched by HTTP ranges,
//   4. wllama in Chromium (llama.cpp in wasm, CPU; `--wllama-gpu-layers N` offloads to its WebGPU).
// Prints prefill and decode tokens/s of each and the ratios to llama.cpp native.
// node-llama-cpp and @wllama/wllama are not dependencies: install them in a scratch folder
// (`npm i node-llama-cpp@3 @wllama/wllama`) and pass it as PEERS=<folder> (default /work/peers).
//   PEERS=/path npm run bench:peers -- [--layers 4] [--type q4_0] [--prompt-tokens 8] [--tokens 8] [--threads 2] [--only node,llama,chromium,wllama] [--gguf file]
// Every time waits for the work it times (ours: the sampled id read back; the peers report their own).
import { createReadStream, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { createServer as createViteServer } from 'vite';
import { fromPath } from '../src/formats/node_source.js';
import { GgufFile } from '../src/formats/gguf.js';
import { ERNIE_21B_A3B, type GgufWeightType } from '../src/formats/gguf_ernie_writer.js';
import { makeErnieGguf } from './make_gguf.js';
import type { GreedyTiming } from './peer_timing.js';
import { llamaCpp, oursInNode, peerPrompt } from './peer_runs.js';

const REPO = resolve(fileURLToPath(new URL('..', import.meta.url)));
const CHROMIUM_ARGS = ['--enable-unsafe-webgpu', '--use-webgpu-adapter=swiftshader', '--enable-features=Vulkan', '--use-vulkan=swiftshader', '--no-sandbox', '--disable-background-networking', '--disable-component-update', '--no-first-run'];

const argv = process.argv.slice(2);
const flag = (name: string, fallback: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1]! : fallback;
};
const layers = Number(flag('layers', '4'));
const type = flag('type', 'q4_0') as GgufWeightType;
const promptTokens = Number(flag('prompt-tokens', '8'));
const decode = Number(flag('tokens', '8'));
const threads = Number(flag('threads', '2'));
const only = new Set(flag('only', 'node,llama,chromium,wllama').split(','));
const peers = resolve(process.env.PEERS ?? '/work/peers');
const gguf = resolve(flag('gguf', join(peers, 'models', `ernie-21b-${layers}l-${type}.gguf`)));
// Prompt: ids for our engine and llama.cpp; wllama takes text, so it gets as many letters, each
// one byte-fallback token in the fixture tokenizer (its timings report the count it prefilled).
const promptText = Array.from({ length: promptTokens }, (_, i) => String.fromCharCode(97 + (i % 26))).join('');

interface Row { engine: string; prefillTps: number; decodeTps: number; note: string }
const rows: Row[] = [];
const fromTiming = (engine: string, t: GreedyTiming, note: string): Row => ({
  engine, prefillTps: (t.prefillTokens * 1000) / t.prefillMs, decodeTps: (t.decodeTokens * 1000) / t.decodeMs, note: `${note}; ids ${t.ids.slice(0, 8).join(' ')}`,
});
const failures: string[] = [];
async function attempt(name: string, run: () => Promise<void>) {
  if (!only.has(name)) return;
  const before = rows.length;
  try {
    await run();
    // each result as soon as it is in, so a run cut short still says what it measured
    for (const r of rows.slice(before)) console.error(`[${name}] prefill ${r.prefillTps.toFixed(3)} tok/s, decode ${r.decodeTps.toFixed(3)} tok/s (${r.note})`);
  } catch (e) {
    failures.push(`${name}: ${e instanceof Error ? e.message.split('\n').slice(0, 6).join(' | ') : String(e)}`);
    console.error(`[${name}] failed:`, e);
  }
}

if (!existsSync(gguf)) {
  console.error(`making ${gguf} (21B-A3B geometry, ${layers} layers, ${type}) ...`);
  await makeErnieGguf(gguf, { geometry: { ...ERNIE_21B_A3B, layers }, weightType: type });
}
const sizeGiB = statSync(gguf).size / 2 ** 30;
const ggufMeta = (await GgufFile.open(fromPath(gguf))).metadata;
const prompt = peerPrompt(promptTokens, (ggufMeta.get('tokenizer.ggml.tokens') as string[]).length);
const arch = String(ggufMeta.get('general.architecture'));
const shape = `hidden ${ggufMeta.get(`${arch}.embedding_length`)}, ${ggufMeta.get(`${arch}.block_count`)} layers, ${ggufMeta.get(`${arch}.expert_count`) ?? 0} experts`;
console.log(`# bench:peers ${new Date().toISOString()}: ${gguf} (${sizeGiB.toFixed(2)} GiB; ${shape}; general.file_type ${ggufMeta.get('general.file_type')}); prompt ${promptTokens} tokens, ${decode} decode tokens, greedy`);

await attempt('node', async () => {
  const r = await oursInNode(gguf, [{ prompt, decode }]);
  rows.push(fromTiming('ernie-webgpu, Node + Dawn', r.timings[0]!, r.what));
});

await attempt('llama', async () => {
  const r = await llamaCpp(join(peers, 'node_modules'), gguf, [{ prompt, decode }], { gpu: false, threads });
  rows.push(fromTiming(`llama.cpp native CPU (node-llama-cpp), ${threads} threads`, r.timings[0]!, r.what));
});

if (only.has('chromium') || only.has('wllama')) {
  const { url, close } = await serve();
  // A persistent profile in a temp folder: an incognito one has too small a storage quota for
  // wllama, which puts the downloaded GGUF in the Origin Private File System before loading it.
  const profile = mkdtempSync(join(tmpdir(), 'peers-chromium-'));
  const browser = await chromium.launchPersistentContext(profile, { executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS });
  try {
    const page = await browser.newPage();
    page.on('console', (m) => m.type() === 'error' && console.error(`[page] ${m.text()}`));
    await page.goto(`${url}/bench/pages/peers.html`);
    const call = <T>(fn: string, arg: unknown) =>
      page.evaluate(async ([mod, fn, arg]) => (await import(mod))[fn](arg), ['/bench/pages/peers_page.ts', fn, arg] as const) as Promise<T>;
    if (!gguf.startsWith(join(peers, 'models') + '/')) throw new Error(`--gguf must be under ${join(peers, 'models')} to be served`);
    const fileUrl = `/peer-files/models/${gguf.slice(join(peers, 'models').length + 1)}`;
    await attempt('chromium', async () => {
      const r = await call<GreedyTiming & { loadMs: number; adapter: string }>('ours', { url: fileUrl, prompt, decode });
      rows.push(fromTiming('ernie-webgpu, Chromium WebGPU', r, `${r.adapter}; loaded in ${(r.loadMs / 1000).toFixed(1)} s`));
    });
    await attempt('wllama', async () => {
      const version = JSON.parse(readFileSync(join(peers, 'node_modules/@wllama/wllama/package.json'), 'utf8')).version;
      const gpuLayers = Number(flag('wllama-gpu-layers', '0'));
      // byte-fallback pieces (token_type 6) are banned for wllama: see bannedTokens in peers_page.ts
      const types = ggufMeta.get('tokenizer.ggml.token_type');
      const bannedTokens = numbersOf(types).flatMap((t, id) => (t === 6 ? [id] : []));
      const r = await call<{ loadMs: number; timings: { prompt_n: number; prompt_ms: number; predicted_n: number; predicted_ms: number }; text: string; threads: number; multithread: boolean }>('wllama', {
        moduleUrl: '/peer-files/node_modules/@wllama/wllama/esm/index.js', wasmUrl: '/peer-files/node_modules/@wllama/wllama/esm/wasm/wllama.wasm',
        url: fileUrl, prompt: promptText, decode, threads, gpuLayers, bannedTokens,
      });
      const t = r.timings;
      rows.push({
        engine: `wllama ${version}, Chromium wasm${gpuLayers ? ` + WebGPU (${gpuLayers} layers)` : ' CPU'}, ${r.threads} thread${r.threads === 1 ? '' : 's'}`,
        prefillTps: (t.prompt_n * 1000) / t.prompt_ms, decodeTps: (t.predicted_n * 1000) / t.predicted_ms,
        note: `its own timings: prompt ${t.prompt_n} tokens, ${t.predicted_n} predicted; ${bannedTokens.length} byte tokens banned; multithread ${r.multithread}; loaded in ${(r.loadMs / 1000).toFixed(1)} s`,
      });
    });
  } finally {
    await browser.close();
    await close();
    rmSync(profile, { recursive: true, force: true });
  }
}

const base = rows.find((r) => r.engine.startsWith('llama.cpp'));
console.log('\n| engine | prefill tok/s | decode tok/s | prefill / llama.cpp | decode / llama.cpp | notes |\n|---|---|---|---|---|---|');
for (const r of rows) {
  const ratio = (x: number, y?: number) => (y ? (x / y).toFixed(3) : '-');
  console.log(`| ${r.engine} | ${r.prefillTps.toFixed(2)} | ${r.decodeTps.toFixed(2)} | ${ratio(r.prefillTps, base?.prefillTps)} | ${ratio(r.decodeTps, base?.decodeTps)} | ${r.note} |`);
}
for (const f of failures) console.log(`FAILED ${f}`);
process.exit(failures.length ? 1 : 0);

/**
 * Vite (our TypeScript page) behind a server that also serves the peers folder (the GGUF, with
 * Range; wllama's files) under /peer-files/, every response cross-origin isolated so wllama can
 * use its multi-threaded wasm. 127.0.0.1 only.
 */
async function serve(): Promise<{ url: string; close: () => Promise<void> }> {
  const vite = await createViteServer({
    configFile: join(REPO, 'vite.config.ts'), root: REPO, mode: 'development', clearScreen: false, logLevel: 'warn', appType: 'custom',
    server: { middlewareMode: true, hmr: false, watch: null, fs: { strict: true, allow: [REPO] } },
    optimizeDeps: { noDiscovery: true, include: [], entries: [] },
  });
  const http = createHttpServer((req, res) => {
    res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
    res.setHeader('Cross-Origin-Embedder-Policy', 'require-corp');
    res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
    if (req.url?.startsWith('/peer-files/')) return servePeerFile(req, res);
    if (req.url === '/bench/pages/peers.html') {
      res.setHeader('Content-Type', 'text/html');
      return void res.end('<!doctype html><meta charset="utf-8"><title>bench:peers</title><link rel="icon" href="data:,">');
    }
    vite.middlewares(req, res);
  });
  await new Promise<void>((ok) => http.listen(0, '127.0.0.1', ok));
  const { port } = http.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: async () => { http.close(); await vite.close(); } };
}

function numbersOf(v: unknown): number[] {
  return v && typeof v === 'object' && 'length' in v ? Array.from(v as ArrayLike<number>, Number) : [];
}

function servePeerFile(req: IncomingMessage, res: ServerResponse): void {
  const rel = decodeURIComponent(new URL(req.url!, 'http://x').pathname.slice('/peer-files/'.length));
  const path = resolve(peers, rel);
  if (!path.startsWith(peers + '/') || !existsSync(path) || !statSync(path).isFile()) {
    res.statusCode = 404;
    return void res.end();
  }
  const size = statSync(path).size;
  const types: Record<string, string> = { js: 'text/javascript', wasm: 'application/wasm', json: 'application/json' };
  res.setHeader('Content-Type', types[path.split('.').pop()!] ?? 'application/octet-stream');
  res.setHeader('Accept-Ranges', 'bytes');
  const m = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
  if (m) {
    const start = Number(m[1]), end = Math.min(size - 1, m[2] ? Number(m[2]) : size - 1);
    res.statusCode = 206;
    res.setHeader('Content-Range', `bytes ${start}-${end}/${size}`);
    res.setHeader('Content-Length', end - start + 1);
    if (req.method === 'HEAD') return void res.end();
    return void createReadStream(path, { start, end }).pipe(res);
  }
  res.setHeader('Content-Length', size);
  if (req.method === 'HEAD') return void res.end();
  createReadStream(path).pipe(res);
}
