// The model store on its folder backend (the code path the CLI uses; the browser runs the same
// store over IndexedDB, store.browser.test.ts), against a local server that counts requests
// and misbehaves: resume with Range, servers without Range, 5xx with Retry-After, aborts,
// corrupt files on the server and on disk, quota before and during a download, lazy experts.
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync, existsSync, readdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelStore } from '../../src/store/store.js';
import { folderBackend } from '../../src/store/folder_backend.js';
import type { DownloadProgress } from '../../src/store/progress.js';
import { AbortError, ErnieError, IntegrityError, QuotaError } from '../../src/errors.js';
import { FileNotFoundError } from '../../src/formats/sources.js';
import { nodeFolder } from '../../src/formats/node_source.js';
import { openPackage } from '../../src/package/reader.js';
import type { Manifest } from '../../src/package/manifest.js';
import { makeTestPackages } from './packages.js';
import { startPackageServer, type PackageServer } from './server.js';

const CHUNK = 64 * 1024;
const FAST_RETRY = { retries: 3, baseDelayMs: 10, maxDelayMs: 2000 };
const CORE = 'core-000.bin';

let pkgs: { tiny: string; k256?: string };
let server: PackageServer;
let manifest: Manifest;

beforeAll(async () => {
  pkgs = await makeTestPackages();
  server = await startPackageServer({ tiny: pkgs.tiny, tiny2: pkgs.tiny });
  manifest = JSON.parse(readFileSync(join(pkgs.tiny, 'manifest.json'), 'utf8'));
}, 120_000);
afterAll(() => server?.close());

function freshStore(opts: { quotaBytes?: number } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'ernie-store-'));
  const backend = folderBackend(dir, opts);
  return { dir, backend, store: new ModelStore(backend, CHUNK) };
}

function reset(): void {
  server.log.length = 0;
  for (const k of Object.keys(server.misbehave)) delete (server.misbehave as Record<string, unknown>)[k];
}

const allFiles = () => [...manifest.files.map((f) => f.path), ...manifest.shards.map((s) => s.file)];
const pkgBytes = () => manifest.files.reduce((n, f) => n + f.bytes, 0) + manifest.shards.reduce((n, s) => n + s.bytes, 0);

/** Every file of the stored model equals the package's bytes. */
function expectSameFiles(modelDir: string): void {
  for (const f of allFiles()) expect(readFileSync(join(modelDir, f)).equals(readFileSync(join(pkgs.tiny, f))), f).toBe(true);
}

function modelDir(dir: string): string {
  const sub = readdirSync(dir).filter((n) => !n.startsWith('.'));
  expect(sub).toHaveLength(1);
  return join(dir, sub[0]!);
}

describe('model store (folder backend)', () => {
  it('downloads a package with progress; the folder is a package; nothing is fetched twice', async () => {
    reset();
    const { dir, store } = freshStore();
    const events: DownloadProgress[] = [];
    const m = await store.download(`${server.baseUrl}/tiny/`, { onProgress: (p) => events.push(p), parallel: 3 });
    expect(m.complete).toBe(true);
    expect(m.bytesTotal).toBe(pkgBytes());
    const last = events.at(-1)!;
    expect(last).toMatchObject({ bytesDone: pkgBytes(), bytesTotal: pkgBytes(), filesDone: allFiles().length, filesTotal: allFiles().length, etaSeconds: 0 });
    for (let i = 1; i < events.length; i++) expect(events[i]!.filesDone).toBeGreaterThanOrEqual(events[i - 1]!.filesDone);
    expect(events.some((e) => e.bytesPerSecond > 0)).toBe(true);
    for (const f of allFiles()) expect(server.requests(f), f).toHaveLength(1);
    const md = modelDir(dir);
    expectSameFiles(md);
    // a finished model's folder is a plain package folder
    const pkg = await openPackage(nodeFolder(md));
    expect(pkg.manifest.shards.length).toBe(manifest.shards.length);
    // the package view serves the same bytes: from chunks (ranges across chunk borders) and from a verified whole file
    const want = readFileSync(join(pkgs.tiny, CORE));
    for (const verify of [false, true]) {
      const src = (await store.folder(`${server.baseUrl}/tiny/`, { verify }))(CORE);
      expect(Buffer.from(await src.read(CHUNK - 10, 2 * CHUNK + 20)).equals(want.subarray(CHUNK - 10, 3 * CHUNK + 10)), `verify ${verify}`).toBe(true);
      expect(Buffer.from(await src.read(0, want.length)).equals(want)).toBe(true);
      expect(Buffer.from(await src.read(want.length - 5, 5)).equals(want.subarray(want.length - 5))).toBe(true);
    }
    // again: nothing fetched
    server.log.length = 0;
    await store.download(`${server.baseUrl}/tiny/`);
    expect(server.log).toEqual([]);
    expect((await store.list()).map((x) => x.id)).toEqual([`${server.baseUrl}/tiny/`]);
    const est = await store.estimate();
    expect(est.models).toEqual([{ id: `${server.baseUrl}/tiny/`, bytes: pkgBytes() + readFileSync(join(md, 'manifest.json')).length }]);
  });

  it('a load hashes each stored file once: the view re-hashes it, the package reader trusts exactly those bytes', async () => {
    reset();
    const { store } = freshStore();
    const url = `${server.baseUrl}/tiny/`;
    await store.download(url);
    const shardBytes = manifest.shards.reduce((n, x) => n + x.bytes, 0), fileBytes = manifest.files.reduce((n, f) => n + f.bytes, 0);
    const load = async (verify: boolean) => {
      const pkg = await openPackage(await store.folder(url, { verify }));
      for (const x of manifest.shards) await pkg.readShard(x.file);
      for (const f of manifest.files) await pkg.readFile(f.path);
      return pkg.hashStats;
    };
    expect(await load(true)).toMatchObject({ bytes: 0, vouchedBytes: shardBytes + fileBytes });
    // a view told not to re-hash vouches for nothing: the reader hashes every byte itself
    expect(await load(false)).toMatchObject({ bytes: shardBytes + fileBytes, vouchedBytes: 0 });
    // only a whole-file buffer of the same file, as that read returned it, is vouched for
    const view = await store.folder(url);
    const core = view(CORE), size = manifest.shards.find((x) => x.file === CORE)!.bytes;
    const part = await core.read(0, 10);
    const whole = await view(CORE).read(0, size); // the second read of the file: served from chunks
    expect(core.vouchedSha256!(part)).toBeUndefined();
    expect(core.vouchedSha256!(whole)).toBeUndefined();
    const expert = manifest.shards.find((x) => x.kind === 'expert')!;
    const eb = await view(expert.file).read(0, expert.bytes);
    expect(view(expert.file).vouchedSha256!(eb)).toBe(expert.sha256);
    expect(core.vouchedSha256!(eb)).toBeUndefined();
    expect(view(expert.file).vouchedSha256!(eb.slice())).toBeUndefined();
  });

  it('a connection closed mid-shard resumes with a Range request from the last stored chunk', async () => {
    reset();
    const { dir, store } = freshStore();
    server.misbehave.cutAfter = new Map([[CORE, 150_000]]);
    server.misbehave.slowMs = 10; // each piece is read before the next is sent, so the cut loses none
    await store.download(`${server.baseUrl}/tiny/`);
    const reqs = server.requests(CORE);
    expect(reqs.map((r) => [r.status, r.rangeStart])).toEqual([[200, undefined], [206, 2 * CHUNK]]);
    expect(server.bytesSent(CORE)).toBe(150_000 + manifest.shards[0]!.bytes - 2 * CHUNK);
    expectSameFiles(modelDir(dir));
  });

  it('AbortSignal stops a slow download; the next download fetches no verified file again and resumes the partial one', async () => {
    reset();
    const { dir, store } = freshStore();
    server.misbehave.slowMs = 15;
    const ac = new AbortController();
    const url = `${server.baseUrl}/tiny/`;
    let abortedAt = 0;
    // Abort once some bytes moved and the core shard has a stored partial chunk (read from the
    // backend's own state file, so the test does not depend on how fast this machine is).
    const corePartial = () => {
      try {
        const f = JSON.parse(readFileSync(join(modelDir(dir), '.ernie-store', 'state.json'), 'utf8')).files?.[CORE];
        return f?.state === 'partial' && f.bytes > 0;
      } catch {
        return false;
      }
    };
    const err = await store.download(url, { signal: ac.signal, parallel: 2, onProgress: (p) => { if (p.bytesDone > 200_000 && !abortedAt && corePartial()) (abortedAt = Date.now()), ac.abort(); } }).catch((e) => e);
    expect(err).toBeInstanceOf(AbortError);
    expect(Date.now() - abortedAt).toBeLessThan(1000); // within one network chunk, not at the end of the file
    const after = (await store.get(url))!;
    expect(after.complete).toBe(false);
    expect(after.files.verified).toBeGreaterThan(0);
    const st = JSON.parse(readFileSync(join(modelDir(dir), '.ernie-store', 'state.json'), 'utf8')).files as Record<string, { state: string; bytes?: number }>;
    const verified = Object.keys(st).filter((f) => st[f]!.state === 'verified');
    const partial = Object.keys(st).filter((f) => st[f]!.state === 'partial' && st[f]!.bytes! > 0);
    expect(partial).toContain(CORE);
    // the store on disk is consistent: a new store instance over the same folder resumes
    delete server.misbehave.slowMs;
    server.log.length = 0;
    const store2 = new ModelStore(folderBackend(dir), CHUNK);
    await store2.download(url);
    for (const f of verified) expect(server.requests(f), f).toEqual([]);
    expect(server.requests(CORE)).toEqual([expect.objectContaining({ status: 206, rangeStart: st[CORE]!.bytes })]);
    expectSameFiles(modelDir(dir));
  });

  it('a server without Range support: the partial shard restarts from byte 0', async () => {
    reset();
    const { dir, store } = freshStore();
    server.misbehave.cutAfter = new Map([[CORE, 150_000]]);
    server.misbehave.slowMs = 10;
    server.misbehave.noRange = true;
    await store.download(`${server.baseUrl}/tiny/`);
    expect(server.requests(CORE).map((r) => [r.status, r.rangeStart])).toEqual([[200, undefined], [200, 2 * CHUNK]]);
    expectSameFiles(modelDir(dir));
  });

  it('5xx and 429 are retried (Retry-After honoured); 404 and 403 are not', async () => {
    reset();
    const { store } = freshStore();
    server.misbehave.fail = new Map([[CORE, { times: 2, status: 503, retryAfter: 1 }], ['tokenizer.json', { times: 1, status: 429, retryAfter: 0 }]]);
    const t0 = Date.now();
    await store.download(`${server.baseUrl}/tiny/`, { retry: FAST_RETRY });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(2000); // two Retry-After: 1 waits, not the 10 ms backoff
    expect(server.requests(CORE).map((r) => r.status)).toEqual([503, 503, 200]);
    expect(server.requests('tokenizer.json').map((r) => r.status)).toEqual([429, 200]);

    reset();
    server.misbehave.fail = new Map([[CORE, { times: 5, status: 403 }]]);
    const { store: s2 } = freshStore();
    const e403 = await s2.download(`${server.baseUrl}/tiny/`, { retry: FAST_RETRY }).catch((e) => e);
    expect(e403).toBeInstanceOf(ErnieError);
    expect(e403.message).toContain(CORE);
    expect(e403.message).toContain('403');
    expect(server.requests(CORE)).toHaveLength(1);

    reset();
    const e404 = await freshStore().store.download(`${server.baseUrl}/nothing-here/`, { retry: FAST_RETRY }).catch((e) => e);
    expect(e404).toBeInstanceOf(FileNotFoundError);
    expect(e404.message).toContain('manifest.json');
    expect(server.log).toHaveLength(1);

    // a static host whose SPA fallback answers a missing shard with its index.html
    reset();
    server.misbehave.spaFallback = new Set([CORE]);
    const spa = await freshStore().store.download(`${server.baseUrl}/tiny/`, { retry: FAST_RETRY }).catch((e) => e);
    expect(spa).toBeInstanceOf(FileNotFoundError);
    expect(spa.file).toBe(CORE);
    expect(spa.message).toContain('HTML');
    expect(server.requests(CORE)).toHaveLength(1);
  });

  it('a shard corrupt on the server is never marked verified: IntegrityError naming it, nothing of it kept', async () => {
    reset();
    const { dir, store } = freshStore();
    const bad = manifest.shards.find((s) => s.kind === 'expert')!.file;
    server.misbehave.corrupt = new Set([bad, 'tokenizer.json']);
    const url = `${server.baseUrl}/tiny/`;
    const err = await store.download(url, { parallel: 1 }).catch((e) => e);
    expect(err).toBeInstanceOf(IntegrityError);
    expect(err.file).toBe('tokenizer.json'); // the first failure; the other files still finished
    expect(err.message).toContain('SHA-256');
    const st = JSON.parse(readFileSync(join(modelDir(dir), '.ernie-store', 'state.json'), 'utf8')).files;
    expect(st[bad]).toEqual({ state: 'missing' });
    expect(st['tokenizer.json']).toEqual({ state: 'missing' });
    expect(Object.values(st).filter((x) => (x as { state: string }).state === 'verified')).toHaveLength(allFiles().length - 2);
    expect(existsSync(join(modelDir(dir), bad))).toBe(false);
    expect(existsSync(join(modelDir(dir), 'manifest.json'))).toBe(false);
    // fixed on the server: the next download fetches only what is missing
    server.misbehave.corrupt = undefined;
    server.log.length = 0;
    await store.download(url, { parallel: 1 });
    expect(server.log.map((l) => l.file)).toEqual(['tokenizer.json', bad]);
    expectSameFiles(modelDir(dir));
  });

  it('a file corrupted on disk is found before use: re-fetched when online, a typed error naming it offline', async () => {
    reset();
    const { dir, store } = freshStore();
    const url = `${server.baseUrl}/tiny2/`;
    await store.download(url);
    const md = modelDir(dir);
    const flip = (f: string) => {
      const b = readFileSync(join(md, f));
      b[b.length >> 1] ^= 1;
      writeFileSync(join(md, f), b);
    };
    const expert = manifest.shards.find((s) => s.kind === 'expert')!.file;
    flip(expert);
    expect(await store.verify(url)).toEqual({ verified: allFiles().filter((f) => f !== expert), dropped: [expert] });
    expect((await store.get(url))!.complete).toBe(false);
    // lazy repair: the engine's read of that expert fetches it again
    server.log.length = 0;
    const pkg = await openPackage(await store.folder(url));
    const shard = await pkg.readExpertShard(manifest.shards.find((s) => s.file === expert)!.layer!, manifest.shards.find((s) => s.file === expert)!.expert!);
    expect(shard.bytes.byteLength).toBeGreaterThan(0);
    expect(server.log.map((l) => l.file)).toEqual([expert]);
    expect((await store.get(url))!.complete).toBe(true);

    // corrupt again with the server gone: the read fails with a typed error naming the shard
    flip(CORE);
    const offline = new ModelStore(folderBackend(dir), CHUNK);
    const view = await offline.folder(url, { baseUrl: 'http://127.0.0.1:9/tiny2/', retry: FAST_RETRY });
    const p2 = await openPackage(view);
    const err = await p2.readTensor(manifest.tensors.find((t) => t.shard === CORE)!.name).catch((e) => e);
    expect(err).toBeInstanceOf(IntegrityError);
    expect(err.file).toBe(CORE);
  });

  it('quota: a download that cannot fit fails before writing; one that runs out midway drops only its partial shard', async () => {
    reset();
    const { dir, backend, store } = freshStore();
    const other = await store.download(`${server.baseUrl}/tiny/`, { id: 'first' });
    backend.quotaBytes = other.bytesStored + pkgBytes() / 2;
    server.log.length = 0;
    const before = readdirSync(dir).sort();
    const err = await store.download(`${server.baseUrl}/tiny2/`).catch((e) => e);
    expect(err).toBeInstanceOf(QuotaError);
    expect(err.needed).toBeGreaterThan(pkgBytes());
    expect(err.available).toBe(pkgBytes() / 2);
    expect(err.deletable).toEqual([{ id: 'first', bytes: other.bytesStored, lastUsed: expect.any(Number) }]);
    expect(server.log.map((l) => l.file)).toEqual(['manifest.json']); // no file byte fetched
    expect(readdirSync(dir).sort()).toEqual(before); // nothing written
    expect(await store.list()).toHaveLength(1);

    // room for it at the start, taken away midway (another app filled the disk)
    backend.quotaBytes = other.bytesStored + 2 * pkgBytes();
    server.misbehave.slowMs = 5;
    const mid = await store.download(`${server.baseUrl}/tiny2/`, { onProgress: (p) => { if (p.bytesDone > 100_000) backend.quotaBytes = other.bytesStored + 110_000; } }).catch((e) => e);
    expect(mid).toBeInstanceOf(QuotaError);
    expect(mid.message).toContain('ran out of space');
    const partial = (await store.get(`${server.baseUrl}/tiny2/`))!;
    expect(partial.complete).toBe(false);
    expect(partial.bytesStored).toBeLessThanOrEqual(110_000);
    // the model stored before is intact
    expect((await store.verify('first')).dropped).toEqual([]);
    expect((await store.get('first'))!.complete).toBe(true);
    // room again: the download finishes, fetching no verified file twice
    backend.quotaBytes = undefined;
    delete server.misbehave.slowMs;
    const verifiedBefore = Object.entries(JSON.parse(readFileSync(join(dir, readdirSync(dir).find((n) => n.startsWith('127.0.0.1'))!, '.ernie-store', 'state.json'), 'utf8')).files as Record<string, { state: string }>).filter(([, v]) => v.state === 'verified').map(([k]) => k);
    server.log.length = 0;
    await store.download(`${server.baseUrl}/tiny2/`);
    for (const f of verifiedBefore) expect(server.requests(f), f).toEqual([]);
  });

  it('lazy mode: core and tokenizer first, an expert shard on its first read, then kept', async () => {
    reset();
    const { store } = freshStore();
    const url = `${server.baseUrl}/tiny/`;
    const m = await store.download(url, { mode: 'lazy' });
    const experts = manifest.shards.filter((s) => s.kind === 'expert');
    expect(m.files.missing).toBe(experts.length);
    expect(server.log.some((l) => l.file.startsWith('experts/'))).toBe(false);
    const pkg = await openPackage(await store.folder(url));
    const e = experts[3]!;
    server.log.length = 0;
    await pkg.readExpertShard(e.layer!, e.expert!);
    await pkg.readExpertShard(e.layer!, e.expert!);
    expect(server.log.map((l) => l.file)).toEqual([e.file]);
    const again = await openPackage(await new ModelStore(store.backend, CHUNK).folder(url, { fetchMissing: false }));
    await again.readExpertShard(e.layer!, e.expert!);
    const missing = experts[4]!;
    await expect(again.readExpertShard(missing.layer!, missing.expert!)).rejects.toBeInstanceOf(FileNotFoundError);
  });
});

describe('ernie-webgpu download', () => {
  const run = (args: string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, ['bin/ernie-webgpu.mjs', 'download', ...args], { encoding: 'utf8' }, (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }));
    });

  it('writes a verified package folder with progress; a failed run resumes without fetching verified files', async () => {
    reset();
    const out = join(mkdtempSync(join(tmpdir(), 'ernie-dl-')), 'pkg');
    server.misbehave.fail = new Map([[CORE, { times: 1, status: 403 }]]);
    const first = await run([`${server.baseUrl}/tiny/`, '--out', out, '--parallel', '2']);
    expect(first.code).toBe(1);
    expect(first.stderr).toMatch(/core-000\.bin.*403/);
    expect(existsSync(join(out, 'manifest.json'))).toBe(false); // not a package until every file is verified
    const fetched = new Set(server.log.filter((l) => l.status === 200).map((l) => l.file));
    server.log.length = 0;
    const second = await run([`${server.baseUrl}/tiny/`, '--out', out]);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toMatch(/downloading \d+\/\d+ files, .* MiB\/s/);
    expect(second.stdout).toContain(`${allFiles().length} files verified (SHA-256)`);
    for (const l of server.log) expect(fetched.has(l.file) && l.file !== 'manifest.json', l.file).toBe(false);
    expect(server.requests(CORE)).toHaveLength(1);
    expectSameFiles(out);
    expect((await openPackage(nodeFolder(out))).manifest.shards.length).toBe(manifest.shards.length);
  });
});
