// Image chat with the tiny ERNIE-4.5-VL model in headless Chromium through the WorkerEngine:
// engine.chat.completions.create in a worker, streamed, the image as a data: URL, a Blob (decoded
// by the worker's createImageBitmap), a blob: URL of the page, an ImageBitmap and ImageData, thinking off and on.
import { describe, expect, it } from 'vitest';
import { runInPage, useHarness } from './browser.js';
import type { VlChatResult } from './pages/vl_chat.js';
import { VL } from '../helpers/vl_fixture.js';

describe('ERNIE-4.5-VL image chat in a Chromium worker', { timeout: 300_000 }, () => {
  useHarness();

  it('streams an image chat (data: URL, Blob, blob: URL, ImageBitmap, ImageData alike), thinking off and on', async () => {
    const r = await runInPage<VlChatResult>('/test/e2e/pages/vl_chat.ts', 'vlChat', { model: `/${VL}/`, tokenizer: '/test/fixtures/ernie45-vl-tiny-tokenizer/' }, { timeoutMs: 280_000 });
    console.log(`[e2e] VL chat: ${JSON.stringify(r.dataUrl.content)}; thinking: ${JSON.stringify(r.thinking.reasoning)}`);
    // thinking off (the default): the template closes an empty <think> block, the reply is content
    expect(r.dataUrl.content.length).toBeGreaterThan(0);
    expect(r.dataUrl.reasoningChunks).toBe(0);
    expect(r.dataUrl.finish).toBe('length');
    // the same picture as a Blob: the same prompt and the same greedy reply
    expect(r.blob).toEqual(r.dataUrl);
    expect(r.blobUrl).toEqual(r.dataUrl);
    expect(r.bitmap).toEqual(r.dataUrl);
    expect(r.imageData).toEqual(r.dataUrl);
    // thinking on: the prompt ends with an open <think> (shorter than the closed block), the reply streams as reasoning_content
    expect(r.thinking.promptTokens).toBeLessThan(r.dataUrl.promptTokens);
    expect(r.thinking.reasoningChunks).toBeGreaterThan(0);
    expect(r.thinking.reasoning + r.thinking.content).not.toBe('');
    expect(r.thinkingWhole).toEqual({ content: r.thinking.content, reasoning: r.thinking.reasoning });
    expect(r.badImage).toMatchObject({ name: 'ImageError', code: 'BAD_IMAGE', message: /messages\[0\]\.content\[0\]: not a PNG or JPEG/ });
  });
});
