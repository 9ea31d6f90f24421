// The model store on IndexedDB in Chromium: packages of the tiny and the k256 q2 model
// downloaded from a local server (another origin: CORS) with progress; loaded and run again
// with the server stopped; downloads interrupted (connection closed, AbortSignal, page reload)
// resume without fetching a verified file twice; corrupt shards on the server and inside
// IndexedDB are caught; the origin's quota lowered over CDP gives QuotaError before and during
// a download while the model stored before keeps working.
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runInPage, useHarness } from './browser.js';
import { decode, encode } from './codec.js';
import type { RunAnswer } from './harness_client.js';
import { makeTestPackages } from '../store/packages.js';
import { startPackageServer, type PackageServer } from '../store/server.js';

const PAGE = '/test/e2e/pages/store.ts';
const CHUNK = 64 * 1024; // as in the page module
const CORE = 'core-000.bin';
const LONG = { timeoutMs: 200_000 };

interface Stored { id: string; complete: boolean; bytesStored: number; bytesTotal: number; files: { total: number; verified: number } }
interface Err { name: string; code?: string; file?: string; message: string; needed?: number; available?: number; deletable?: { id: string; bytes: number }[] }
interface Progress { bytesDone: number; bytesTotal: number; filesDone: number; filesTotal: number }

describe('model store on IndexedDB in Chromium', { timeout: 300_000 }, () => {
  // Chromium reports a static quota to navigator.storage.estimate() (usage + 10 GiB, against
  // fingerprinting) unless these features are off; then estimate() shows the CDP override.
  const harness = useHarness({ extraArgs: ['--disable-features=StaticStorageQuota,IncognitoStaticStorageQuota'] });
  let server: PackageServer;
  let k256CoreBytes = 0;
  let tinyCoreBytes = 0;
  let k256Experts = 0;
  const url = (name: string) => `${server.baseUrl}/${name}/`;
  const texts: Record<string, string> = {};
  const reset = () => {
    server.log.length = 0;
    for (const k of Object.keys(server.misbehave)) delete (server.misbehave as Record<string, unknown>)[k];
  };

  beforeAll(async () => {
    const pkgs = await makeTestPackages({ k256: true });
    k256CoreBytes = statSync(join(pkgs.k256!, CORE)).size;
    tinyCoreBytes = statSync(join(pkgs.tiny, CORE)).size;
    k256Experts = (JSON.parse(readFileSync(join(pkgs.k256!, 'manifest.json'), 'utf8')) as { shards: { kind: string }[] }).shards.filter((x) => x.kind === 'expert').length;
    server = await startPackageServer({ tiny: pkgs.tiny, k256: pkgs.k256!, k256b: pkgs.k256!, tinyc: pkgs.tiny, tinyr: pkgs.tiny, k256q: pkgs.k256!, k256l: pkgs.k256! });
  }, 120_000);
  afterAll(() => server?.close());

  it('downloads the tiny and the k256 q2 packages with progress; with the server stopped both load from IndexedDB and answer the same', async () => {
    for (const name of ['tiny', 'k256']) {
      reset();
      const r = await runInPage<{ text: string; events: number; last: Progress; monotonic: boolean; stored: Stored }>(PAGE, 'downloadAndChat', { url: url(name) }, LONG);
      expect(r.stored.complete).toBe(true);
      expect(r.events).toBeGreaterThan(2);
      expect(r.monotonic).toBe(true);
      expect(r.last).toMatchObject({ bytesDone: r.stored.bytesTotal, bytesTotal: r.stored.bytesTotal, filesDone: r.stored.files.total, filesTotal: r.stored.files.total });
      expect(r.text.length).toBeGreaterThan(0);
      // every file fetched once; loading the engine read nothing more from the server
      const files = new Set(server.log.map((l) => l.file));
      expect(server.log.length).toBe(files.size);
      texts[name] = r.text;
      console.log(`[e2e] ${name}: ${r.stored.files.total} files, ${r.stored.bytesTotal} bytes into IndexedDB; answer ${JSON.stringify(r.text)}`);
    }
    await server.stop();
    try {
      for (const name of ['tiny', 'k256']) {
        const r = await runInPage<{ text?: string; error?: Err }>(PAGE, 'chatStored', { url: url(name) }, LONG);
        expect(r.error).toBeUndefined();
        expect(r.text).toBe(texts[name]);
      }
    } finally {
      await server.start();
    }

    // lazy: no expert shard before the load; the load fetches each once, keeps it, and answers the same
    reset();
    const lazy = await runInPage<{ before: Stored & { files: { missing: number } }; text: string; after: Stored }>(PAGE, 'lazyChat', { url: url('k256l') }, LONG);
    expect(lazy.before.files.missing).toBe(k256Experts);
    expect(lazy.text).toBe(texts.k256);
    expect(lazy.after.complete).toBe(true);
    const expertReqs = server.log.filter((l) => l.file.startsWith('experts/'));
    expect(expertReqs).toHaveLength(k256Experts);
    expect(new Set(expertReqs.map((l) => l.file)).size).toBe(k256Experts);
  });

  it('interrupted downloads resume: connection closed mid-shard (Range), AbortSignal, then a page reload; no Range support, 503 then success', async () => {
    reset();
    server.misbehave.cutAfter = new Map([[CORE, 300_000]]);
    server.misbehave.slowMs = 50; // slow enough that the page stores what it got before the cut (a broken stream drops its queue)
    const cut = await runInPage<{ stored: Stored }>(PAGE, 'download', { url: url('k256b') }, LONG);
    expect(cut.stored.complete).toBe(true);
    const [first, second, ...more] = server.requests(CORE);
    expect([first!.status, second!.status, more]).toEqual([200, 206, []]);
    // resumed from the last whole chunk stored before the cut, and only the rest was sent again
    expect(second!.rangeStart! % CHUNK).toBe(0);
    expect(second!.rangeStart!).toBeGreaterThan(0);
    expect(second!.rangeStart!).toBeLessThanOrEqual(300_000);
    expect(first!.bytes).toBe(300_000);
    expect(second!.bytes).toBe(k256CoreBytes - second!.rangeStart!);

    reset();
    server.misbehave.slowMs = 30;
    const aborted = await runInPage<{ error: Err; stored: Stored }>(PAGE, 'download', { url: url('k256q'), abortAfterBytes: 500_000, parallel: 2 }, LONG);
    expect(aborted.error.name).toBe('AbortError');
    expect(aborted.stored.complete).toBe(false);
    const states = await runInPage<Record<string, { state: string; bytes?: number }>>(PAGE, 'fileStates', { id: url('k256q') });
    const verified = Object.keys(states).filter((f) => states[f]!.state === 'verified');
    expect(verified.length).toBeGreaterThan(0);
    expect(states[CORE]).toMatchObject({ state: 'partial' });
    const partialBytes = states[CORE]!.bytes!;
    expect(partialBytes % CHUNK).toBe(0);
    expect(partialBytes).toBeGreaterThan(0);

    reset(); // the next runInPage is a fresh page load
    const resumed = await runInPage<{ stored: Stored }>(PAGE, 'download', { url: url('k256q') }, LONG);
    expect(resumed.stored.complete).toBe(true);
    for (const f of verified) expect(server.requests(f), f).toEqual([]);
    expect(server.requests(CORE).map((r) => [r.status, r.rangeStart])).toEqual([[206, partialBytes]]);

    // a server without Range support that also answers 503 once: the broken shard restarts from byte 0
    reset();
    server.misbehave.noRange = true;
    server.misbehave.slowMs = 50;
    server.misbehave.cutAfter = new Map([[CORE, 200_000]]);
    server.misbehave.fail = new Map([['tokenizer.json', { times: 1, status: 503, retryAfter: 0 }]]);
    const noRange = await runInPage<{ stored: Stored }>(PAGE, 'download', { url: url('tinyr') }, LONG);
    expect(noRange.stored.complete).toBe(true);
    expect(server.requests('tokenizer.json').map((r) => r.status)).toEqual([503, 200]);
    const core = server.requests(CORE);
    expect(core.map((r) => r.status)).toEqual([200, 200]);
    expect(core[1]!.bytes).toBe(tinyCoreBytes); // the whole file again
  });

  it('a host without CORS headers, and one answering a missing shard with its index.html: typed errors naming the file', async () => {
    reset();
    server.misbehave.noCors = true;
    const cors = await runInPage<{ error: Err; stored?: Stored }>(PAGE, 'download', { url: url('tinyr') + '?cors', retry: { retries: 0, baseDelayMs: 1, maxDelayMs: 1 } });
    expect(cors.error).toMatchObject({ name: 'HttpError', code: 'FETCH_FAILED', file: 'manifest.json' });
    expect(cors.error.message).toContain('CORS');
    expect(cors.stored).toBeUndefined();

    reset();
    server.misbehave.spaFallback = new Set([CORE]);
    const spa = await runInPage<{ error: Err; stored?: Stored }>(PAGE, 'download', { url: url('tinyr') + '?spa' });
    expect(spa.error).toMatchObject({ name: 'FileNotFoundError', file: CORE });
    expect(spa.error.message).toContain('HTML');
    expect(spa.stored!.complete).toBe(false);
  });

  it('a shard corrupt on the server is never stored; a chunk corrupted inside IndexedDB is caught before use', async () => {
    reset();
    const bad = 'experts/layer-1/expert-03.bin';
    server.misbehave.corrupt = new Set([bad]);
    const r = await runInPage<{ error: Err }>(PAGE, 'download', { url: url('tinyc') }, LONG);
    expect(r.error).toMatchObject({ name: 'IntegrityError', code: 'INTEGRITY', file: bad });
    expect((await runInPage<Record<string, { state: string }>>(PAGE, 'fileStates', { id: url('tinyc') }))[bad]).toEqual({ state: 'missing' });

    reset();
    const ok = await runInPage<{ stored: Stored }>(PAGE, 'download', { url: url('tinyc') }, LONG);
    expect(ok.stored.complete).toBe(true);
    expect(server.log.map((l) => l.file)).toEqual([bad]);

    await runInPage(PAGE, 'corruptChunk', { id: url('tinyc'), file: CORE, offset: CHUNK });
    const offline = await runInPage<{ error: Err }>(PAGE, 'readOffline', { id: url('tinyc'), file: CORE });
    expect(offline.error).toMatchObject({ name: 'IntegrityError', file: CORE });
    // dropped when found; online, the read fetches it again and the store is whole
    reset();
    const online = await runInPage<{ ok?: boolean; error?: Err }>(PAGE, 'readShard', { id: url('tinyc'), file: CORE });
    expect(online).toEqual({ ok: true, complete: true });
    expect(server.log.map((l) => [l.file, l.status])).toEqual([[CORE, 200]]);
  });

  it('quota (CDP Storage.overrideQuotaForOrigin): QuotaError before writing, and midway; the model stored before still answers the same', async () => {
    // A fresh origin (localhost, same Vite server): Chromium's IndexedDB caches the space it may
    // use for a while, so a quota must be in place before the origin's first write.
    const origin = harness().baseUrl.replace('127.0.0.1', 'localhost');
    const page = harness().page;
    const cdp = await page.context().newCDPSession(page);
    const usage = async () => ((await cdp.send('Storage.getUsageAndQuota', { origin })) as { usage: number }).usage;
    const run = async <T,>(exportName: string, arg?: unknown): Promise<T> => {
      await page.goto(`${origin}/test/e2e/harness.html`);
      await page.waitForFunction(() => (window as { __ernieHarness?: { ready?: boolean } }).__ernieHarness?.ready === true);
      const answer = decode<RunAnswer>(await page.evaluate(([m, e, a]) => window.__ernieHarness!.run(m, e, a), [PAGE, exportName, encode(arg ?? null)] as const));
      if (!answer.ok) throw new Error(`${exportName} threw in the page: ${answer.error.name}: ${answer.error.message}`);
      return answer.value as T;
    };
    try {
      await cdp.send('Storage.overrideQuotaForOrigin', { origin, quotaSize: 1_500_000 });
      reset();
      const tiny = await run<{ stored: Stored }>('download', { url: url('tiny') });
      expect(tiny.stored.complete).toBe(true);
      texts.tiny ??= (await runInPage<{ text: string }>(PAGE, 'chatStored', { url: url('tiny') }, LONG)).text; // when run alone

      reset();
      const early = await run<{ error: Err }>('download', { url: url('k256') });
      expect(early.error).toMatchObject({ name: 'QuotaError', code: 'QUOTA_EXCEEDED' });
      expect(early.error.needed).toBeGreaterThan(early.error.available!);
      expect(early.error.deletable!.map((d) => d.id)).toEqual([url('tiny')]);
      expect(early.error.message).toContain('nothing was written');
      expect(server.log.map((l) => l.file)).toEqual(['manifest.json']);
      expect((await run<{ list: Stored[] }>('listAndEstimate')).list.map((m) => m.id)).toEqual([url('tiny')]);

      // room for it at the start; "another tab" fills the origin's storage while it downloads
      await cdp.send('Storage.overrideQuotaForOrigin', { origin, quotaSize: (await usage()) + early.error.needed! + 100_000 });
      reset();
      let release!: () => void;
      server.misbehave.holdAfterFirstPiece = new Promise<void>((r) => (release = r));
      const midRun = run<{ error?: Err; stored?: Stored }>('downloadWhileFilling', { url: url('k256'), fillBytes: early.error.needed! });
      try {
        const filled = () => page.evaluate(() => (window as { __fillDone?: boolean }).__fillDone === true).catch(() => false);
        for (const until = Date.now() + 120_000; !(await filled()) && Date.now() < until; ) await new Promise((r) => setTimeout(r, 50));
      } finally {
        release(); // held until the other "tab" filled the origin: the race is gone
      }
      const mid = await midRun;
      expect(mid.error).toMatchObject({ name: 'QuotaError', code: 'QUOTA_EXCEEDED' });
      expect(mid.error!.message).toContain('ran out of space');
      expect(server.log.filter((l) => l.file !== 'manifest.json').length).toBeGreaterThan(0);
      expect(mid.stored!.complete).toBe(false);
      // the model stored before is intact and answers the same
      expect((await run<{ dropped: string[] }>('verify', { id: url('tiny') })).dropped).toEqual([]);
      expect((await run<{ text?: string; error?: Err }>('chatStored', { url: url('tiny') })).text).toBe(texts.tiny);
    } finally {
      await cdp.send('Storage.overrideQuotaForOrigin', { origin }).catch(() => undefined);
      await cdp.detach().catch(() => undefined);
    }
  });
});
