// The chat app (demo/) as a person uses it, against the BUILT site (npm run build:demo) served
// by `vite preview` on 127.0.0.1, in one Chromium: first visit (pick the tiny model, byte
// progress, an answer streaming into a bubble, Stop keeps the partial answer, settings reach
// the request the engine worker receives, regenerate), offline (service worker serves the app,
// the stored model answers the same tokens for the same seed, the chats are still there,
// edit-and-resend), the download manager (size listed, delete frees the storage, pause/resume
// fetches only the rest, cancel deletes the partial model, a warning before a download that
// will not fit), a local folder and a .gguf file, and a browser without WebGPU (the page says so
// and what to do, no console errors) chatting through `ernie-webgpu serve` with an image
// attached; the tiny VL package from the catalogue answering a chat with an image. Screenshots of each state, desktop and 375 px wide, go to test-results/demo/.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { preview, type PreviewServer } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM_ARGS, CHROMIUM_PATH, REPO_ROOT } from './browser.js';

const SHOTS = join(REPO_ROOT, 'test-results/demo');
const MODEL_DIR = join(REPO_ROOT, 'dist-demo/models/ernie45-moe-tiny');
const PROMPT = 'Hello! What is 2+2?';
const GGUF = join(REPO_ROOT, 'test/fixtures/gguf/ernie45-moe-tiny-bf16.gguf');
const IMAGE = join(REPO_ROOT, 'demo/public/icon-192.png');
const SERVE_KEY = 'demo-key';

/** `ernie-webgpu serve` on the tiny model, allowing `origin`; resolves with its API root. */
function startServe(origin: string): { child: ChildProcess; baseURL: Promise<string> } {
  const child = spawn(process.execPath, [
    'bin/ernie-webgpu.mjs', 'serve', 'test/fixtures/ernie45-moe-tiny', '--tokenizer', 'test/fixtures/ernie-tokenizer-tiny', '--port', '0', '--api-key', SERVE_KEY, '--cors', origin,
  ], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '', err = '';
  child.stderr!.on('data', (d) => (err += d));
  const baseURL = new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /at (http:\/\/127\.0\.0\.1:\d+\/v1)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`serve exited with ${code}: ${err}`)));
  });
  baseURL.catch(() => undefined);
  return { child, baseURL };
}

interface Hook { requests: Record<string, unknown>[]; modelReady: boolean; webgpu?: string; engine: string; loads: number }
declare global {
  interface Window { __ernieDemo: Hook; __streamLengths: number[] }
}

describe('chat app (built site) in Chromium', { timeout: 150_000 }, () => {
  let server: PreviewServer;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let base = '';
  let serve: ReturnType<typeof startServe> | undefined;
  const consoleErrors: string[] = [];

  const watch = (p: Page) => {
    p.on('console', (m) => m.type() === 'error' && consoleErrors.push(`${m.text()} (${m.location().url})`));
    p.on('pageerror', (e) => consoleErrors.push(`pageerror: ${e.message}`));
  };
  async function shots(p: Page, name: string): Promise<void> {
    await p.setViewportSize({ width: 1200, height: 800 });
    await p.screenshot({ path: join(SHOTS, `${name}-desktop.png`) });
    await p.setViewportSize({ width: 375, height: 740 });
    await p.screenshot({ path: join(SHOTS, `${name}-375.png`), fullPage: true });
    // usable at 375 px: nothing wider than the screen
    expect(await p.evaluate(() => document.documentElement.scrollWidth), `${name} at 375 px`).toBeLessThanOrEqual(375);
    await p.setViewportSize({ width: 1200, height: 800 });
  }
  const hook = (p: Page = page) => p.evaluate(() => window.__ernieDemo);
  const lastBubble = () => page.locator('#messages .bubble.assistant').last();
  async function send(text: string): Promise<void> {
    await page.fill('#prompt', text);
    await page.press('#prompt', 'Enter');
  }
  async function answered(): Promise<string> {
    await page.waitForFunction(() => !document.querySelector('#messages [aria-busy=true]') && !document.querySelector<HTMLButtonElement>('#send')!.disabled, null, { timeout: 120_000 });
    return bubbleText(lastBubble());
  }
  /** An answer's reasoning (collapsed) and content: what the model said, without the stats line. */
  async function bubbleText(b: ReturnType<typeof lastBubble>): Promise<string> {
    return b.evaluate((el) => [el.querySelector('.reasoning div')?.textContent ?? '', el.querySelector('.content')?.textContent ?? ''].join('|'));
  }

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    // NODE_ENV=test (vitest's) would make it a development build, without the service worker
    execFileSync('npm', ['run', 'build:demo'], { cwd: REPO_ROOT, stdio: 'pipe', env: { ...process.env, NODE_ENV: 'production' } });
    server = await preview({ configFile: join(REPO_ROOT, 'vite.demo.config.ts'), preview: { host: '127.0.0.1', port: 0, strictPort: true, open: false }, logLevel: 'warn' });
    const address = server.httpServer.address();
    if (!address || typeof address === 'string') throw new Error('preview server has no TCP address');
    base = `http://127.0.0.1:${address.port}/`;
    serve = startServe(base.replace(/\/$/, '')); // loads its model while the browser tests run
    browser = await chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: [...CHROMIUM_ARGS, '--disable-features=StaticStorageQuota,IncognitoStaticStorageQuota'] });
    context = await browser.newContext({ viewport: { width: 1200, height: 800 } });
    // Records the streamed answer's length at every DOM change, to see it grow token by token.
    await context.addInitScript(() => {
      window.__streamLengths = [];
      // counts the app's requests for persistent storage
      const persist = StorageManager.prototype.persist;
      (window as unknown as { __persistCalls: number }).__persistCalls = 0;
      StorageManager.prototype.persist = function () {
        (window as unknown as { __persistCalls: number }).__persistCalls++;
        return persist.call(this);
      };
      addEventListener('DOMContentLoaded', () => {
        new MutationObserver(() => {
          const busy = document.querySelector('#messages [aria-busy=true]');
          if (busy) window.__streamLengths.push(busy.textContent?.length ?? 0);
        }).observe(document.getElementById('messages')!, { subtree: true, childList: true, characterData: true });
      });
    });
    page = await context.newPage();
    watch(page);
  }, 180_000);

  afterAll(async () => {
    serve?.child.kill('SIGTERM');
    await browser?.close().catch(() => undefined);
    await server?.close().catch(() => undefined);
  });

  it('first visit: download the tiny model with byte progress, chat with streaming, settings reach the request, Stop keeps the partial answer', async () => {
    // every URL in the built page is relative, so the site runs from any sub-folder
    const html = readFileSync(join(REPO_ROOT, 'dist-demo/index.html'), 'utf8');
    expect([...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]).filter((u) => !u.startsWith('./') && !u.startsWith('#'))).toEqual([]);
    await page.goto(base);
    await page.waitForFunction(() => document.getElementById('status')!.textContent!.includes('Pick a model'));
    await shots(page, '1-first-visit');
    // keyboard and screen reader: every control has a name; the first Tab stop skips to the message box; the conversation is a live log
    const unnamed = await page.evaluate(() => [...document.querySelectorAll('input, textarea, button')].filter((el) => {
      const e = el as HTMLInputElement;
      return !(e.labels?.length || e.getAttribute('aria-label') || e.textContent!.trim());
    }).map((el) => el.id || el.outerHTML.slice(0, 80)));
    expect(unnamed).toEqual([]);
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Skip to the message box');
    await page.keyboard.press('Enter');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('prompt');
    expect(await page.getAttribute('#messages', 'role')).toBe('log');
    expect(await page.getAttribute('#messages', 'aria-live')).toBe('polite');

    const progressTexts: string[] = [];
    const poll = setInterval(() => void page.textContent('#dl-text').then((t) => t && progressTexts.push(t), () => undefined), 20);
    await page.click('#download');
    await page.waitForFunction(() => window.__ernieDemo.modelReady, null, { timeout: 120_000 });
    clearInterval(poll);
    const total = Number(await page.getAttribute('#dl-progress', 'max'));
    expect(total).toBeGreaterThan(100_000);
    expect(Number(await page.getAttribute('#dl-progress', 'value'))).toBe(total);
    expect(await page.textContent('#dl-text')).toMatch(/^Stored \d+(\.\d+)? (KB|MB) \(\d+ files\)\.$/);
    expect(progressTexts.some((t) => /^[\d.]+ (B|KB|MB) of [\d.]+ (KB|MB) · .* left · file \d+\/\d+$/.test(t))).toBe(true);
    expect(await page.textContent('#status')).toMatch(/^Ready: ernie45-moe-tiny on /);
    expect(await page.evaluate(() => (window as unknown as { __persistCalls: number }).__persistCalls)).toBe(1); // asked at the download

    // settings -> the request the engine worker receives
    await page.click('#settings-box summary');
    await page.fill('#set-system', 'Be brief.');
    await page.fill('#set-temperature', '0.5');
    await page.fill('#set-top-p', '0.9');
    await page.fill('#set-max-tokens', '12');
    await page.fill('#set-seed', '42');
    await page.check('#set-thinking');
    await page.uncheck('#set-thinking');
    await shots(page, '2b-settings');
    // a text model: attaching is off, and says why
    expect(await page.isDisabled('#attach')).toBe(true);
    expect(await page.textContent('#attach-why')).toBe('ernie45-moe-tiny reads text only: images need a vision-language model such as ERNIE-4.5-VL-28B-A3B.');
    await send(PROMPT);
    const answer = await answered();
    expect(answer.length).toBeGreaterThan(1);
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('prompt'); // focus back in the message box
    const req = (await hook()).requests.at(-1)!;
    expect(req).toMatchObject({ temperature: 0.5, top_p: 0.9, max_tokens: 12, seed: 42, enable_thinking: false, stream: true });
    expect(req.messages).toEqual([{ role: 'system', content: 'Be brief.' }, { role: 'user', content: PROMPT }]);
    expect(req.response_format).toBeUndefined();
    // streamed: the bubble's text grew in several steps
    const lengths = await page.evaluate(() => window.__streamLengths);
    expect(new Set(lengths.filter((n) => n > 0)).size).toBeGreaterThan(1);
    expect(await page.locator('#messages .bubble.user .content').last().textContent()).toBe(PROMPT);
    // the first request of a fresh engine reuses nothing
    expect(await lastBubble().locator('.meta').textContent()).toMatch(/^12 tokens, \d+\.\d tok\/s · prompt \d+ tokens$/);
    await shots(page, '3-answered');

    // Stop: a long answer, stopped once some text is in; what arrived stays, marked stopped
    await page.fill('#set-max-tokens', '400');
    await page.check('#set-json');
    await send('Tell me a long story.');
    await page.setViewportSize({ width: 1200, height: 320 }); // the conversation overflows its box
    await page.waitForFunction(() => (document.querySelector('#messages [aria-busy=true]')?.textContent?.length ?? 0) > 5, null, { timeout: 60_000 });
    // auto-scroll follows the stream at the bottom; scrolled up, it stays where the reader put it
    await page.waitForFunction(() => { const m = document.getElementById('messages')!; return m.scrollHeight > m.clientHeight + 50; }, null, { timeout: 60_000 });
    const atBottom = await page.evaluate(() => { const m = document.getElementById('messages')!; return Math.abs(m.scrollHeight - m.clientHeight - m.scrollTop) < 2; });
    expect(atBottom).toBe(true);
    const heightBefore = await page.evaluate(() => { const m = document.getElementById('messages')!; m.scrollTop = 0; m.dispatchEvent(new Event('scroll')); return m.scrollHeight; });
    await page.waitForFunction((h) => document.getElementById('messages')!.scrollHeight > h, heightBefore, { timeout: 60_000 });
    expect(await page.evaluate(() => document.getElementById('messages')!.scrollTop)).toBe(0);
    await page.click('#stop');
    await page.setViewportSize({ width: 1200, height: 800 });
    const partial = await answered();
    expect((await hook()).requests.at(-1)).toMatchObject({ max_tokens: 400, response_format: { type: 'json_object' } });
    expect(partial.length).toBeGreaterThan(6);
    await expect.poll(() => lastBubble().getAttribute('class')).toContain('stopped');
    expect(await lastBubble().locator('.meta').textContent()).toMatch(/^stopped · \d+ tokens?/);
    await shots(page, '4-stopped');

    // Regenerate replaces the last answer (here the stopped one) with a new one
    await page.uncheck('#set-json');
    await page.fill('#set-max-tokens', '12');
    await page.click('#regenerate');
    const again = await answered();
    expect(again.length).toBeGreaterThan(1);
    expect(await page.locator('#messages .bubble').count()).toBe(4);
    expect(await lastBubble().getAttribute('class')).not.toContain('stopped');
    // the regenerated answer's prompt is the last request's prompt: its KV entries are reused
    const [, promptTokens, reused] = /^12 tokens, \d+\.\d tok\/s · prompt (\d+) tokens, (\d+) reused$/.exec((await lastBubble().locator('.meta').textContent())!)!;
    expect(Number(reused)).toBeGreaterThan(0);
    expect(Number(reused)).toBeLessThanOrEqual(Number(promptTokens));
    expect((await hook()).requests.at(-1)!.messages).toHaveLength(4); // system, user, assistant, user

    (globalThis as { firstAnswer?: string }).firstAnswer = answer;
    (globalThis as { regenerated?: string }).regenerated = again;
  });

  it('offline: the service worker serves the app, the stored model answers the same tokens for the same seed, the chats are still there; edit-and-resend replaces what followed', async () => {
    const firstAnswer = (globalThis as { firstAnswer?: string }).firstAnswer!;
    const regenerated = (globalThis as { regenerated?: string }).regenerated!;
    await page.evaluate(async () => {
      await navigator.serviceWorker.ready;
    });
    await context.setOffline(true);
    try {
      await page.reload();
      expect(await page.evaluate(() => navigator.serviceWorker.controller !== null)).toBe(true);
      await page.waitForFunction(() => window.__ernieDemo?.modelReady, null, { timeout: 120_000 });
      // the last chat is open again, with both answers, the stopped one still marked
      const bubbles = page.locator('#messages .bubble');
      expect(await bubbles.count()).toBe(4);
      expect(await bubbleText(page.locator('#messages .bubble.assistant').first())).toBe(firstAnswer);
      expect(await bubbleText(page.locator('#messages .bubble.assistant').last())).toBe(regenerated);
      expect(await page.locator('#chats li').count()).toBe(1);
      await shots(page, '5-offline-reloaded');

      await page.click('#new-chat');
      await send(PROMPT);
      expect(await answered()).toBe(firstAnswer);
      expect(await page.locator('#chats li').count()).toBe(2);

      // edit-and-resend: the message edited, the answer after it is replaced (and left out of the request)
      await page.locator('#messages .bubble.user').first().getByRole('button', { name: 'Edit this message and send it again' }).click();
      const box = page.getByRole('textbox', { name: 'Edit your message' });
      expect(await box.evaluate((el) => el === document.activeElement)).toBe(true);
      expect(await box.inputValue()).toBe(PROMPT);
      await shots(page, '6b-editing');
      await box.fill('What is 5+5?');
      await box.press('Enter');
      await answered();
      expect(await page.locator('#messages .bubble').count()).toBe(2);
      expect(await page.locator('#messages .bubble.user .content').textContent()).toBe('What is 5+5?');
      expect((await hook()).requests.at(-1)!.messages).toEqual([{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'What is 5+5?' }]);
      expect(await bubbleText(lastBubble())).not.toBe(firstAnswer);
    } finally {
      await context.setOffline(false);
    }
  });

  it('download manager: lists the stored model with its size; Delete frees it; Pause keeps what was stored and Resume fetches only the rest; Cancel deletes the partial model; a download that will not fit is warned about and not started', async () => {
    const onDisk = (readdirSync(MODEL_DIR, { recursive: true }) as string[]).reduce((n, f) => n + (statSync(join(MODEL_DIR, f)).isFile() ? statSync(join(MODEL_DIR, f)).size : 0), 0);
    const row = page.locator('#stored li[data-model-id]');
    expect(await row.count()).toBe(1);
    const stored = Number(await row.getAttribute('data-bytes'));
    expect(stored).toBeGreaterThan(onDisk * 0.9);
    expect(stored).toBeLessThanOrEqual(onDisk);
    expect(await row.locator('.model-name').textContent()).toMatch(/^ernie45-moe-tiny — \d+(\.\d+)? KB$/);
    const usageBefore = Number(await page.getAttribute('#storage', 'data-usage'));
    await shots(page, '7-storage');
    await row.getByRole('button', { name: /^Delete/ }).click();
    await page.waitForFunction(() => document.getElementById('stored')!.textContent!.includes('No models stored'));
    const usageAfter = Number(await page.getAttribute('#storage', 'data-usage'));
    console.log(`[e2e demo] usage ${usageBefore} -> ${usageAfter} bytes after deleting a ${stored}-byte model`);
    expect(usageAfter).toBeLessThan(usageBefore - stored / 2);

    // persistent storage: the browser answers either way, and the button says which
    await page.click('#persist');
    await expect.poll(() => page.textContent('#persist')).toMatch(/^(Storage is persistent|The browser declined persistent storage)$/);

    // Pause and Resume on a slow network: paused, what was stored stays (incomplete); resumed, only the rest is fetched
    const cdp = await context.newCDPSession(page);
    const slow = () => cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 20, downloadThroughput: 60_000, uploadThroughput: -1 });
    const fast = () => cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
    const modelRequests: string[] = [];
    page.on('request', (r) => r.url().includes('/models/ernie45-moe-tiny/') && !r.url().endsWith('manifest.json') && modelRequests.push(r.url()));
    const progressTexts: string[] = [];
    const poll = setInterval(() => void page.textContent('#dl-text').then((t) => t && progressTexts.push(t), () => undefined), 20);
    const loadsBefore = (await hook()).loads;
    // the core shard's response is held while a test needs the download mid-way (however slow the machine)
    let release = () => undefined as void;
    let gate: Promise<void> | null = null;
    const hold = () => (gate = new Promise<void>((r) => (release = r)));
    const open = () => {
      release();
      gate = null;
    };
    const CORE = '**/models/ernie45-moe-tiny/core-000.bin';
    let routed = 0;
    await page.route(CORE, async (route) => {
      routed++;
      if (gate) await gate;
      await route.continue().catch(() => undefined); // the page may have given up on it (pause, cancel)
    });
    await slow();
    try {
      hold();
      await page.click('#download');
      await page.waitForFunction(() => /\/s · \d+ s left · file ([2-9]|\d\d+)\//.test(document.getElementById('dl-text')!.textContent!), null, { timeout: 30_000 });
      expect(await page.textContent('#dl-text')).toMatch(/^[\d.]+ (B|KB|MB) of [\d.]+ KB · [\d.]+ (B|KB|MB)\/s · \d+ s left · file \d+\/\d+$/);
      const filesTotal = Number(/file \d+\/(\d+)$/.exec((await page.textContent('#dl-text'))!)![1]);
      await page.click('#dl-pause');
      await page.waitForFunction(() => document.getElementById('dl-text')!.textContent!.startsWith('Paused at'), null, { timeout: 30_000 });
      expect(await page.textContent('#dl-text')).toMatch(/^Paused at [\d.]+ (B|KB) of [\d.]+ KB\. Resume fetches only the rest\.$/);
      expect(await page.textContent('#dl-pause')).toBe('Resume');
      await expect.poll(() => page.locator('#stored li[data-model-id] .model-name').textContent()).toMatch(/\(incomplete\)$/);
      const pausedBytes = Number(await page.getAttribute('#stored li[data-model-id]', 'data-bytes'));
      expect(pausedBytes).toBeGreaterThan(0);
      expect(pausedBytes).toBeLessThan(stored);
      await shots(page, '7c-paused');
      open();
      progressTexts.length = 0;
      modelRequests.length = 0;
      await page.click('#dl-pause');
      await page.waitForFunction(() => document.getElementById('dl-text')!.textContent!.startsWith('Stored'), null, { timeout: 60_000 });
      clearInterval(poll);
      // resumed: progress starts from what was stored, and the files stored before are not fetched again
      const done = progressTexts.map((t) => /^([\d.]+) (B|KB|MB) of/.exec(t)).filter((m) => m !== null).map((m) => Number(m[1]) * { B: 1, KB: 1e3, MB: 1e6 }[m[2] as 'B' | 'KB' | 'MB']);
      expect(done.length).toBeGreaterThan(0);
      expect(Math.min(...done)).toBeGreaterThanOrEqual(pausedBytes * 0.99);
      expect(new Set(modelRequests).size).toBeLessThan(filesTotal);
      await page.waitForFunction((n) => window.__ernieDemo.loads > n, loadsBefore, { timeout: 60_000 });
      expect(Number(await page.getAttribute('#stored li[data-model-id]', 'data-bytes'))).toBe(stored);

      // Cancel: a download stopped mid-way deletes what it had stored
      await page.locator('#stored li[data-model-id]').getByRole('button', { name: /^Delete/ }).click();
      await page.waitForFunction(() => document.getElementById('stored')!.textContent!.includes('No models stored'));
      hold();
      await page.click('#download');
      await page.waitForFunction(() => /\/s · \d+ s left · file ([2-9]|\d\d+)\//.test(document.getElementById('dl-text')!.textContent!), null, { timeout: 30_000 });
      await shots(page, '7b-downloading');
      await page.click('#dl-cancel');
      await page.waitForFunction(() => document.getElementById('dl-text')!.textContent!.includes('cancelled'), null, { timeout: 30_000 });
      expect(await page.textContent('#dl-text')).toMatch(/^Download cancelled; the [\d.]+ (B|KB) stored so far were deleted\.$/);
      await page.waitForFunction(() => document.getElementById('stored')!.textContent!.includes('No models stored'));
      expect(await page.isHidden('#dl-cancel')).toBe(true);
      expect(await page.isHidden('#dl-pause')).toBe(true);
      expect(routed).toBeGreaterThanOrEqual(3); // held at the pause and the cancel, let through at the resume
    } finally {
      clearInterval(poll);
      open();
      await page.unroute(CORE);
      await fast();
    }

    // a download that will not fit: the picker warns before any byte is fetched, and nothing starts
    const origin = base.replace(/\/$/, '');
    const { usage } = (await cdp.send('Storage.getUsageAndQuota', { origin })) as { usage: number };
    await cdp.send('Storage.overrideQuotaForOrigin', { origin, quotaSize: usage }); // nothing free
    try {
      await page.check('#pick-url');
      await page.check('#catalogue input[value=tiny]'); // picking it shows the size against the free space
      await page.waitForFunction(() => document.getElementById('fit')!.textContent!.startsWith('Will not fit'), null, { timeout: 30_000 });
      expect(await page.textContent('#fit')).toMatch(/^Will not fit: ernie45-moe-tiny needs [\d.]+ KB more, only [\d.]+ (B|KB) is free\. Free space on this device/);
      expect(await page.getAttribute('#fit', 'role')).toBe('alert');
      modelRequests.length = 0;
      await page.click('#download');
      await page.waitForTimeout(300);
      expect(modelRequests).toEqual([]);
      expect(await page.textContent('#stored')).toContain('No models stored');
      expect(await page.textContent('#status')).toMatch(/^Ready: ernie45-moe-tiny/); // the loaded model still answers
      await shots(page, '8b-will-not-fit');
    } finally {
      await cdp.send('Storage.overrideQuotaForOrigin', { origin }).catch(() => undefined);
      await cdp.detach().catch(() => undefined);
    }
    expect(consoleErrors).toEqual([]);
  });

  it('a local folder (webkitdirectory) and a single .gguf file load without the store and answer', async () => {
    await page.click('#new-chat');
    const slotsOf = async () => Number(/, (\d+) routed-expert slots on the GPU\.$/.exec((await page.textContent('#status'))!)?.[1]);
    const allSlots = await slotsOf();
    // the GPU expert budget (Settings) applies at the next load: 2 experts per MoE layer
    if (!(await page.isVisible('#set-gpu-experts'))) await page.click('#settings-box summary');
    await page.fill('#set-gpu-experts', '2');
    let loads = (await hook()).loads;
    await page.setInputFiles('#folder-input', MODEL_DIR);
    await page.waitForFunction((n) => window.__ernieDemo.loads > n, loads, { timeout: 60_000 });
    expect(await page.textContent('#status')).toMatch(/^Ready: ernie45-moe-tiny on /);
    console.log(`[e2e demo] expert slots: ${allSlots} automatic, ${await slotsOf()} with 2 per layer`);
    expect(await slotsOf()).toBeLessThan(allSlots);
    await send(PROMPT);
    expect(await answered()).toBe((globalThis as { firstAnswer?: string }).firstAnswer); // the same package, seed and settings; experts streamed through 2 slots per layer
    await page.fill('#set-gpu-experts', '');

    loads = (await hook()).loads;
    await page.setInputFiles('#gguf-input', GGUF);
    await page.waitForFunction((n) => window.__ernieDemo.loads > n, loads, { timeout: 60_000 });
    expect(await page.textContent('#status')).toMatch(/^Ready: ernie45-moe-tiny-bf16\.gguf on /);
    expect(await page.isDisabled('#attach')).toBe(true);
    expect(await page.textContent('#attach-why')).toContain('(a .gguf holds the text model only)');
    await shots(page, '8c-local-gguf');
    expect(consoleErrors).toEqual([]);
  });

  it('the tiny VL package from the catalogue: stored, attaching is on, and a chat with an image answers in the worker with its text and vision experts streaming (4 per layer and set)', async () => {
    await page.click('#new-chat');
    if (!(await page.isVisible('#catalogue'))) await page.click('#model-box summary');
    if (!(await page.isVisible('#set-gpu-experts'))) await page.click('#settings-box summary');
    const slotsOf = async () => Number(/, (\d+) routed-expert slots on the GPU\.$/.exec((await page.textContent('#status'))!)?.[1]);
    /** A new chat: the image and a question; the answer and the request the worker received. */
    const imageChat = async () => {
      await page.click('#new-chat');
      await page.setInputFiles('#image-input', IMAGE);
      await expect.poll(() => page.locator('#attached li').count()).toBe(1);
      await send('What is in this picture?');
      return { answer: await answered(), request: (await hook()).requests.at(-1)! };
    };
    // first with 4 experts per layer and set on the GPU: 2 dual-MoE layers x (text + vision) x 4
    await page.fill('#set-gpu-experts', '4');
    let loads = (await hook()).loads;
    await page.check('#catalogue input[value=tiny-vl]');
    await page.click('#download');
    await page.waitForFunction((n) => window.__ernieDemo.loads > n && window.__ernieDemo.modelReady, loads, { timeout: 120_000 });
    expect(await page.textContent('#status')).toMatch(/^Ready: ernie45-vl-tiny on /);
    expect(await slotsOf()).toBe(16);
    expect(await page.isDisabled('#attach')).toBe(false);
    const streamed = await imageChat();
    expect(streamed.answer.length).toBeGreaterThan(1);
    const parts = (streamed.request.messages as { content: unknown }[]).at(-1)!.content as { type: string; image_url?: { url: string } }[];
    expect(parts.map((x) => x.type)).toEqual(['text', 'image_url']);
    expect(parts[1]!.image_url!.url).toMatch(/^data:image\/png;base64,iVBOR/);
    expect(await page.locator('#messages .bubble.user').last().locator('.thumbs img').count()).toBe(1);
    // the prompt held the image's placeholder tokens: 196 x 196 pixels -> 7 x 7 merged patches
    expect(Number(/prompt (\d+) tokens/.exec((await lastBubble().locator('.meta').textContent())!)![1])).toBeGreaterThan(49);
    await shots(page, '8d-vl-image-chat');

    await page.fill('#set-gpu-experts', '');
    expect(consoleErrors).toEqual([]);
  });

  it('no WebGPU (dark scheme): the page says so and what to do, with no console errors; it chats through `serve` instead, with images attached', async () => {
    const ctx = await browser.newContext({ viewport: { width: 1200, height: 800 }, colorScheme: 'dark' });
    await ctx.addInitScript(() => {
      Object.defineProperty(Navigator.prototype, 'gpu', { get: () => undefined, configurable: true });
    });
    const p = await ctx.newPage();
    const errors: string[] = [];
    p.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    p.on('pageerror', (e) => errors.push(e.message));
    const bodies: Record<string, unknown>[] = [];
    p.on('request', (r) => r.method() === 'POST' && r.url().endsWith('/v1/chat/completions') && bodies.push(r.postDataJSON() as Record<string, unknown>));
    await p.goto(base);
    await p.waitForSelector('#no-webgpu:not([hidden])');
    const text = (await p.textContent('#no-webgpu-text')) ?? '';
    expect(text).toMatch(/does not offer WebGPU/);
    expect(text).toContain('chrome://flags/#enable-unsafe-webgpu');
    expect(text).toMatch(/Chrome or Edge 113\+/);
    expect(await p.getAttribute('#no-webgpu-text', 'role')).toBe('alert');
    expect(await p.isDisabled('#send')).toBe(true);
    // prefers-color-scheme: dark gives the dark palette
    expect(await p.evaluate(() => getComputedStyle(document.body).backgroundColor)).toBe('rgb(21, 23, 27)');
    await shots(p, '9-no-webgpu');
    expect(errors).toEqual([]);

    // the remote fallback: `ernie-webgpu serve --cors <this origin>` on 127.0.0.1, through RemoteEngine
    await p.click('#use-remote');
    expect(await p.evaluate(() => document.activeElement?.id)).toBe('remote-url');
    await p.fill('#remote-url', await serve!.baseURL);
    await p.fill('#remote-key', SERVE_KEY);
    await p.click('#remote-connect');
    await p.waitForFunction(() => window.__ernieDemo.modelReady, null, { timeout: 30_000 });
    expect(await p.textContent('#status')).toMatch(/^Ready: \S+ on the server at http:\/\/127\.0\.0\.1:\d+\/v1 /);
    await p.click('#settings-box summary');
    await p.fill('#set-max-tokens', '8');
    await p.fill('#prompt', 'Hi');
    await p.press('#prompt', 'Enter');
    const done = () => p.waitForFunction(() => !document.querySelector('#messages [aria-busy=true]') && !document.querySelector<HTMLButtonElement>('#send')!.disabled, null, { timeout: 60_000 });
    await done();
    const reply = p.locator('#messages .bubble.assistant').last();
    expect(((await reply.locator('.content').textContent()) ?? '').length).toBeGreaterThan(1);
    expect(await reply.locator('.meta').textContent()).toMatch(/^8 tokens, \d+\.\d tok\/s · prompt \d+ tokens$/);
    expect(bodies.at(-1)).toMatchObject({ max_tokens: 8, stream: true, messages: [{ role: 'system', content: 'You are a helpful assistant.' }, { role: 'user', content: 'Hi' }] });
    expect(errors).toEqual([]);

    // images: the file picker, a drop on the conversation and a paste into the message box; one removed
    expect(await p.isDisabled('#attach')).toBe(false);
    await p.setInputFiles('#image-input', IMAGE);
    await p.evaluate(async () => {
      const c = document.createElement('canvas');
      c.width = c.height = 8;
      c.getContext('2d')!.fillRect(0, 0, 8, 8);
      const blob = await new Promise<Blob>((r) => c.toBlob((b) => r(b!), 'image/png'));
      const files = (name: string) => {
        const dt = new DataTransfer();
        dt.items.add(new File([blob], name, { type: 'image/png' }));
        return dt;
      };
      document.getElementById('chat')!.dispatchEvent(new DragEvent('drop', { dataTransfer: files('dropped.png'), bubbles: true, cancelable: true }));
      document.getElementById('prompt')!.dispatchEvent(new ClipboardEvent('paste', { clipboardData: files('pasted.png'), bubbles: true, cancelable: true }));
    });
    await expect.poll(() => p.locator('#attached li').count()).toBe(3);
    await p.getByRole('button', { name: 'Remove attached image 2' }).click();
    expect(await p.locator('#attached li').count()).toBe(2);
    await p.fill('#prompt', 'What is in the picture?');
    await shots(p, '10-image-attached');
    await p.press('#prompt', 'Enter');
    await done();
    expect(await p.locator('#messages .bubble.user').last().locator('.thumbs img').count()).toBe(2);
    expect(await p.locator('#attached li').count()).toBe(0);
    // sent in OpenAI's shape; this server's model is text-only and says so
    const sent = (bodies.at(-1)!.messages as { role: string; content: unknown }[]).at(-1)!;
    expect(sent.role).toBe('user');
    const parts = sent.content as { type: string; text?: string; image_url?: { url: string } }[];
    expect(parts.map((x) => x.type)).toEqual(['text', 'image_url', 'image_url']);
    expect(parts[0]!.text).toBe('What is in the picture?');
    expect(parts[1]!.image_url!.url).toMatch(/^data:image\/png;base64,iVBOR/);
    expect(parts[2]!.image_url!.url).toMatch(/^data:image\/png;base64,/);
    expect(await p.locator('#messages .bubble.assistant').last().locator('.error').textContent()).toMatch(/^The request was refused: .*text-only model/);
    // the refused turn is left out of the next request, so the chat goes on
    await p.fill('#prompt', 'And now?');
    await p.press('#prompt', 'Enter');
    await done();
    expect(await p.locator('#messages .bubble.assistant').last().locator('.error').count()).toBe(0);
    expect((bodies.at(-1)!.messages as { content: unknown }[]).map((m) => m.content)).toEqual(['You are a helpful assistant.', 'Hi', expect.any(String), 'And now?']);
    expect(errors.filter((e) => !/status of 400/.test(e))).toEqual([]);
    await ctx.close();
  });
});
