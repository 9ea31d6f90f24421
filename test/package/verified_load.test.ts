// The engine's load path verifies a package before its bytes reach the GPU: a flipped byte in a
// core shard, an expert shard or tokenizer.json is an IntegrityError naming that file, from a
// folder on disk and from a URL; a server that sends a shard's body from the wrong offset is
// caught the same way. Over HTTP the package takes one request per file it uses (no size probes).
// And a plain HF folder on a host that answers missing optional files with 403 or an SPA page
// still loads.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IntegrityError } from '../../src/errors';
import { loadEngine, loadTokenizer } from '../../src/engine/load';
import { nodeFolder } from '../../src/formats/node_source';
import type { FolderSource } from '../../src/formats/source';
import { urlFolder } from '../../src/formats/sources';
import { openFolderWeights } from '../../src/model/ernie45/load';
import { openPackageWeights } from '../../src/model/ernie45/package_source';
import { nodeGpu } from '../../src/node';
import type { ChatCompletion } from '../../src/api/types';
import { serveBytes, serveFile, SPA_INDEX, startServer, type TestServer } from '../helpers/http_server';
import { writeTinyPackage } from '../helpers/tiny_package';
import { oneDeviceGpu } from '../helpers/gpu';

const EXPERT_SHARD = 'experts/layer-1/expert-03.bin';
const FAST = { retry: { baseDelayMs: 5, maxDelayMs: 20 } };

let work: string;
let pkgDir: string;
let srv: TestServer;
let manifest: { files: { path: string }[]; shards: { file: string }[] };
let gpu: GPU;
/** Per-test server behaviour for /pkg/ paths. */
let mutate: ((path: string, bytes: Uint8Array) => Uint8Array) | undefined;
let shiftBody: string | undefined;

async function greedy(model: FolderSource | string, tokenizer?: FolderSource): Promise<string> {
  const engine = await loadEngine({ model, tokenizer, gpu, kvCacheBytes: 1 << 21 });
  try {
    const r = (await engine.chat.completions.create({ messages: [{ role: 'user', content: 'Hello! What is 2+2?' }], max_tokens: 6, temperature: 0 })) as ChatCompletion;
    return r.choices[0].message.content ?? '';
  } finally {
    engine.dispose();
  }
}

const failure = (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => e);

beforeAll(async () => {
  gpu = oneDeviceGpu(await nodeGpu()); // every engine of the file on one device: its pipelines compile once
  work = await mkdtemp(join(tmpdir(), 'ernie-verified-'));
  let hf: string;
  ({ hf, pkg: pkgDir } = await writeTinyPackage(work));
  manifest = JSON.parse(await readFile(join(pkgDir, 'manifest.json'), 'utf8'));

  srv = await startServer(async (req, res, path) => {
    const [, mount, ...rest] = path.split('/');
    const rel = rest.join('/');
    if (mount === 'pkg') {
      const bytes = await readFile(join(pkgDir, rel)).catch(() => undefined);
      if (!bytes) return void res.writeHead(404).end();
      if (rel === shiftBody && req.method === 'GET') {
        // Correct status and headers, but the body starts 4 bytes further into the file.
        const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '')!;
        const a = Number(m[1]), b = Number(m[2]);
        const body = new Uint8Array(b - a + 1);
        body.set(bytes.subarray(a + 4, b + 1));
        return void res.writeHead(206, { 'Content-Range': `bytes ${a}-${b}/${bytes.length}`, 'Content-Length': body.length }).end(body);
      }
      return serveBytes(req, res, mutate ? mutate(rel, new Uint8Array(bytes)) : bytes);
    }
    // A static host that answers missing files with 403 (S3) or with its SPA's index.html.
    if (mount === 's3' || mount === 'spa') {
      const bytes = await readFile(join(hf, rel)).catch(() => undefined);
      if (bytes) return serveBytes(req, res, bytes, rel.endsWith('.json') ? 'application/json' : 'application/octet-stream');
      if (mount === 's3') return void res.writeHead(403, { 'Content-Type': 'application/xml' }).end('<Error><Code>AccessDenied</Code></Error>');
      return void res.writeHead(200, { 'Content-Type': 'text/html' }).end(SPA_INDEX);
    }
    return serveFile(req, res, hf, rel);
  });
}, 120_000);

afterAll(async () => {
  await srv?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('a package loads verified', () => {
  let reference: string;

  it('from a folder and from a URL, with one request per file it uses and no size probe', async () => {
    reference = await greedy(nodeFolder(pkgDir));
    expect(reference.length).toBeGreaterThan(0);
    srv.requests.length = 0;
    expect(await greedy(`${srv.base}/pkg/`)).toBe(reference);
    const reqs = srv.requests.filter((r) => r.path.startsWith('/pkg/'));
    expect(reqs.filter((r) => r.method !== 'GET')).toEqual([]);
    const byPath = new Map<string, number>();
    for (const r of reqs) byPath.set(r.path, (byPath.get(r.path) ?? 0) + 1);
    // Every shard and every listed file exactly once, plus the manifest: nothing probed.
    const expected = ['manifest.json', ...manifest.files.map((f) => f.path), ...manifest.shards.map((s) => s.file)].map((p) => `/pkg/${p}`);
    const used = [...byPath.keys()].sort();
    expect(used.every((p) => expected.includes(p))).toBe(true);
    expect([...byPath.values()].every((n) => n === 1)).toBe(true);
    expect(manifest.shards.every((s) => byPath.has(`/pkg/${s.file}`))).toBe(true);
    console.log(`package over HTTP: ${reqs.length} requests for ${manifest.shards.length} shards + ${manifest.files.length} files + manifest`);
  });

  it('holds one shard at a time (plus the expert shards read ahead) when tensors are taken shard by shard', async () => {
    for (const prefetch of [0, 2]) {
      const { weights, pkg, stats } = await openPackageWeights(nodeFolder(pkgDir), undefined, { prefetch });
      for (const t of pkg.manifest.tensors) await weights.readRaw(t.name);
      const sizes = pkg.manifest.shards.map((s) => s.bytes);
      const expertMax = Math.max(...pkg.manifest.shards.filter((s) => s.kind === 'expert').map((s) => s.bytes));
      expect(stats.shardsRead).toBe(sizes.length);
      expect(stats.bytesVerified).toBe(sizes.reduce((a, b) => a + b, 0));
      if (prefetch === 0) {
        expect(stats.shardsReadAhead).toBe(0);
        expect(stats.peakHeldBytes).toBe(Math.max(...sizes));
      } else {
        // every expert shard but the first of each MoE layer came from a read ahead
        const experts = pkg.manifest.shards.filter((s) => s.kind === 'expert');
        expect(stats.shardsReadAhead).toBe(experts.length - new Set(experts.map((s) => s.layer)).size);
        expect(stats.peakHeldBytes).toBeLessThanOrEqual(Math.max(...sizes) + prefetch * expertMax);
      }
    }
  });

  for (const [what, file] of [['a core shard', 'core-000.bin'], ['an expert shard', EXPERT_SHARD], ['tokenizer.json', 'tokenizer.json'], ['the chat template', 'chat_template.jinja']] as const) {
    it(`a flipped byte in ${what} is an IntegrityError naming it (folder and URL)`, async () => {
      const dir = join(work, `bad-${file.replace(/\W/g, '_')}`);
      await cp(pkgDir, dir, { recursive: true });
      const bytes = await readFile(join(dir, file));
      bytes[Math.floor(bytes.length / 2)]! ^= 0x10;
      await writeFile(join(dir, file), bytes);
      mutate = (rel, b) => (rel === file ? (b[Math.floor(b.length / 2)]! ^= 0x10, b) : b);
      try {
        for (const model of [nodeFolder(dir), `${srv.base}/pkg/`]) {
          const err = await failure(greedy(model));
          expect(err, String(typeof model === 'string' ? model : dir)).toBeInstanceOf(IntegrityError);
          expect((err as IntegrityError).file).toBe(file);
          expect((err as Error).message).toMatch(/SHA-256 is [0-9a-f]{64}, but manifest.json says [0-9a-f]{64}/);
        }
      } finally {
        mutate = undefined;
      }
    });
  }

  it('a body from the wrong offset under correct headers is caught by the SHA-256', async () => {
    shiftBody = EXPERT_SHARD;
    try {
      const err = await failure(greedy(urlFolder(`${srv.base}/pkg/`, FAST)));
      expect(err).toBeInstanceOf(IntegrityError);
      expect((err as IntegrityError).file).toBe(EXPERT_SHARD);
      expect((err as Error).message).toContain('SHA-256');
    } finally {
      shiftBody = undefined;
    }
  });
});

describe('side files', () => {
  it('a chat_template.jinja is the template; a plain folder is probed for it only when tokenizer_config.json has none', async () => {
    const tokenizerConfig = new TextEncoder().encode(JSON.stringify({ bos_token: '<s>', eos_token: '</s>', unk_token: '<unk>' }));
    const jinja = new TextEncoder().encode('{{ bos_token }}{% for m in messages %}{{ m.content }}{% endfor %}');
    const tokenizerJson = await readFile('test/fixtures/ernie-tokenizer-tiny/hf/tokenizer.json');
    const asked: string[] = [];
    const files = (have: Record<string, Uint8Array>, listsFiles: boolean) => ({
      listsFiles,
      read: async (p: string) => (asked.push(p), have[p] ?? Promise.reject(new Error(`no ${p}`))),
      readOptional: async (p: string) => (asked.push(p), have[p]),
    });
    const { config } = await loadTokenizer(files({ 'tokenizer_config.json': tokenizerConfig, 'tokenizer.json': tokenizerJson, 'chat_template.jinja': jinja }, true));
    expect(config.chat_template).toBe(new TextDecoder().decode(jinja));
    asked.length = 0;
    const withTemplate = new TextEncoder().encode(JSON.stringify({ bos_token: '<s>', eos_token: '</s>', chat_template: 'T' }));
    const plain = await loadTokenizer(files({ 'tokenizer_config.json': withTemplate, 'tokenizer.json': tokenizerJson }, false));
    expect(plain.config.chat_template).toBe('T');
    expect(asked).not.toContain('chat_template.jinja');
  });
});

describe('a plain HF folder on a static host', () => {
  it('loads when missing optional files get S3-style 403s or an SPA fallback page', async () => {
    const answers: string[] = [];
    for (const mount of ['s3', 'spa']) {
      srv.requests.length = 0;
      answers.push(await greedy(`${srv.base}/${mount}/`));
      const probed = srv.requests.filter((r) => r.path === `/${mount}/manifest.json` || r.path === `/${mount}/model.safetensors.index.json`);
      expect(probed.length, mount).toBeGreaterThanOrEqual(2); // the probes happened and were read as "absent"
    }
    expect(answers[0]!.length).toBeGreaterThan(0);
    expect(answers[1]).toBe(answers[0]);
    const opened = await openFolderWeights(urlFolder(`${srv.base}/s3/`));
    expect(opened.format).toBe('safetensors');
  });
});
