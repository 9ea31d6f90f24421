// The chat app (demo/) as a person uses it, against the BUILT site (npm run build:demo) served
// by `vite preview` on 127.0.0.1, in one Chromium: first visit (pick the tiny model, byte
// progress, an answer streaming into a bubble, Stop keeps the partial answer, settings reach
// the request the engine worker receives), offline (service worker serves the app, the stored
// model answers the same tokens for the same seed, the chats are still there), the download
// manager (size listed, delete frees the storage, cancel keeps what was stored), and a browser without WebGPU (the page says
// so and what to do, no console errors). Screenshots of each state, desktop and 375 px wide,
// go to test-results/demo/.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { preview, type PreviewServer } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM_ARGS, CHROMIUM_PATH, REPO_ROOT } from './browser.js';

const SHOTS = join(REPO_ROOT, 'test-results/demo');
const MODEL_DIR = join(REPO_ROOT, 'dist-demo/models/ernie45-moe-tiny');
const PROMPT = 'Hello! What is 2+2?';

interface Hook { requests: Record<string, unknown>[]; modelReady: boolean; webgpu?: string }
declare global {
  interface Window { __ernieDemo: Hook; __streamLengths: number[] }
}

describe('chat app (built site) in Chromium', { timeout: 150_000 }, () => {
  let server: PreviewServer;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let base = '';
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
    browser = await chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: [...CHROMIUM_ARGS, '--disable-features=StaticStorageQuota,IncognitoStaticStorageQuota'] });
    context = await browser.newContext({ viewport: { width: 1200, height: 800 } });
    // Records the streamed answer's length at every DOM change, to see it grow token by token.
    await context.addInitScript(() => {
      window.__streamLengths = [];
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
    await browser?.close().catch(() => undefined);
    await server?.close().catch(() => undefined);
  });

  it('first visit: download the tiny model with byte progress, chat with streaming, settings reach the request, Stop keeps the partial answer', async () => {
    // every URL in the built page is relative, so the site runs from any sub-folder
    const html = readFileSync(join(REPO_ROOT, 'dist-demo/index.html'), 'utf8');
    expect([...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]).filter((u) => !u.startsWith('./'))).toEqual([]);
    await page.goto(base);
    await page.waitForFunction(() => document.getElementById('status')!.textContent!.includes('Pick a model'));
    await shots(page, '1-first-visit');

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
    await shots(page, '2-model-ready');

    // settings -> the request the engine worker receives
    await page.click('#settings-box summary');
    await page.fill('#set-system', 'Be brief.');
    await page.fill('#set-temperature', '0.5');
    await page.fill('#set-top-p', '0.9');
    await page.fill('#set-max-tokens', '12');
    await page.fill('#set-seed', '42');
    await page.check('#set-thinking');
    await page.uncheck('#set-thinking');
    await send(PROMPT);
    const answer = await answered();
    expect(answer.length).toBeGreaterThan(1);
    const req = (await hook()).requests.at(-1)!;
    expect(req).toMatchObject({ temperature: 0.5, top_p: 0.9, max_tokens: 12, seed: 42, enable_thinking: false, stream: true });
    expect(req.messages).toEqual([{ role: 'system', content: 'Be brief.' }, { role: 'user', content: PROMPT }]);
    expect(req.response_format).toBeUndefined();
    // streamed: the bubble's text grew in several steps
    const lengths = await page.evaluate(() => window.__streamLengths);
    expect(new Set(lengths.filter((n) => n > 0)).size).toBeGreaterThan(1);
    expect(await page.locator('#messages .bubble.user').last().textContent()).toBe(PROMPT);
    expect(await lastBubble().locator('.meta').textContent()).toMatch(/^12 tokens, \d+\.\d tok\/s$/);
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
    expect((await hook()).requests.at(-1)!.messages).toHaveLength(4); // system, user, assistant, user

    (globalThis as { firstAnswer?: string }).firstAnswer = answer;
    (globalThis as { regenerated?: string }).regenerated = again;
  });

  it('offline: the service worker serves the app, the stored model answers the same tokens for the same seed, the chats are still there', async () => {
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
      await shots(page, '6-offline-answer');
    } finally {
      await context.setOffline(false);
    }
  });

  it('download manager: lists the stored model with its size; Delete frees it; Cancel keeps what was stored; a download that will not fit is refused', async () => {
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
    await shots(page, '8-deleted');

    // persistent storage: the browser answers either way, and the button says which
    await page.click('#persist');
    await expect.poll(() => page.textContent('#persist')).toMatch(/^(Storage is persistent|The browser declined persistent storage)$/);

    // Cancel: a slow download stopped mid-way keeps what it stored, listed as incomplete
    const cdp = await context.newCDPSession(page);
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 20, downloadThroughput: 150_000, uploadThroughput: -1 });
    try {
      await page.click('#download');
      await page.waitForFunction(() => /\/s · \d+ s left · file \d+\//.test(document.getElementById("dl-text")!.textContent!), null, { timeout: 30_000 });
      expect(await page.textContent('#dl-text')).toMatch(/^[\d.]+ (B|KB|MB) of [\d.]+ KB · [\d.]+ (B|KB|MB)\/s · \d+ s left · file \d+\/\d+$/);
      await page.click('#dl-cancel');
      await page.waitForFunction(() => document.getElementById('dl-text')!.textContent!.includes('cancelled'), null, { timeout: 30_000 });
      expect(await page.textContent('#dl-text')).toBe('Download cancelled; the bytes stored so far are kept, download again to resume.');
      await expect.poll(() => page.locator('#stored li[data-model-id] .model-name').textContent()).toMatch(/\(incomplete\)$/);
      expect(await page.isHidden('#dl-cancel')).toBe(true);
    } finally {
      await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
    }

    // a download that will not fit is refused before a byte is written, saying so
    const origin = base.replace(/\/$/, '');
    const { usage } = (await cdp.send('Storage.getUsageAndQuota', { origin })) as { usage: number };
    await cdp.send('Storage.overrideQuotaForOrigin', { origin, quotaSize: usage }); // nothing free, whatever the cancel left to fetch
    try {
      const storedBefore = await page.getAttribute('#stored li[data-model-id]', 'data-bytes');
      await page.click('#download');
      await page.waitForFunction(() => document.getElementById('dl-text')!.textContent!.startsWith('This model does not fit'), null, { timeout: 30_000 });
      expect(await page.textContent('#dl-text')).toMatch(/^This model does not fit: it needs [\d.]+ (B|KB) more, [\d.]+ (B|KB) is free\. Free space on this device/);
      expect(await page.getAttribute('#stored li[data-model-id]', 'data-bytes')).toBe(storedBefore);
      expect(await page.textContent('#status')).toMatch(/^Ready: ernie45-moe-tiny/); // the loaded model still answers
      await shots(page, '8b-will-not-fit');
    } finally {
      await cdp.send('Storage.overrideQuotaForOrigin', { origin }).catch(() => undefined);
      await cdp.detach().catch(() => undefined);
    }
    expect(consoleErrors).toEqual([]);
  });

  it('no WebGPU (dark scheme): the page says so and what to do, with no console errors', async () => {
    const ctx = await browser.newContext({ viewport: { width: 1200, height: 800 }, colorScheme: 'dark' });
    await ctx.addInitScript(() => {
      Object.defineProperty(Navigator.prototype, 'gpu', { get: () => undefined, configurable: true });
    });
    const p = await ctx.newPage();
    const errors: string[] = [];
    p.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    p.on('pageerror', (e) => errors.push(e.message));
    await p.goto(base);
    await p.waitForSelector('#no-webgpu:not([hidden])');
    const text = (await p.textContent('#no-webgpu')) ?? '';
    expect(text).toMatch(/does not offer WebGPU/);
    expect(text).toContain('chrome://flags/#enable-unsafe-webgpu');
    expect(text).toMatch(/Chrome or Edge 113\+/);
    expect(await p.getAttribute('#no-webgpu', 'role')).toBe('alert');
    expect(await p.isDisabled('#send')).toBe(true);
    // prefers-color-scheme: dark gives the dark palette
    expect(await p.evaluate(() => getComputedStyle(document.body).backgroundColor)).toBe('rgb(21, 23, 27)');
    await shots(p, '9-no-webgpu');
    expect(errors).toEqual([]);
    await ctx.close();
  });
});
