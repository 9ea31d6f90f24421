// The demo page as a person uses it: open it in Chromium, wait for the model, send a message,
// watch the answer stream in, and take a screenshot.
import { mkdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { useHarness } from './browser.js';

describe('demo page in Chromium', { timeout: 240_000 }, () => {
  const harness = useHarness();

  it('loads the tiny model and streams a chat answer', async () => {
    const page = harness().page;
    await page.goto(`${harness().baseUrl}/demo/index.html`);
    await page.waitForFunction(() => document.getElementById('status')?.textContent?.startsWith('Ready'), null, { timeout: 180_000 });
    await page.fill('#prompt', 'Hi there');
    await page.click('#send');
    await page.waitForFunction(() => (document.getElementById('status')?.textContent ?? '').includes('tok/s'), null, { timeout: 180_000 });
    const log = await page.textContent('#log');
    expect(log).toMatch(/^user: Hi there\nassistant: .+/s);
    mkdirSync('tmp', { recursive: true });
    await page.screenshot({ path: 'tmp/demo.png' });
    expect(harness().logs.filter((l) => l.kind === 'pageerror' || l.kind === 'crash')).toEqual([]);
    // No red 404s from optional-file probes: the demo gives the folders' file lists.
    expect(harness().logs.filter((l) => l.kind === 'requestfailed' || l.kind === 'console.error')).toEqual([]);
  });
});
