// Page module for http.browser.test.ts: loading over HTTP from another origin, as a page does.
import { loadEngine } from '../../../src/engine/load.js';
import { fromUrl } from '../../../src/formats/sources.js';
import type { ChatCompletion } from '../../../src/api/types.js';

export interface PageError {
  name: string;
  code?: string;
  failure?: string;
  message: string;
}

const asPageError = (e: unknown): PageError => {
  const err = e as Error & { code?: string; failure?: string };
  return { name: err.name, code: err.code, failure: err.failure, message: err.message };
};

/** Loads a model folder URL and answers greedily. */
export async function loadAndAnswer(arg: { model: string }): Promise<string> {
  const engine = await loadEngine({ model: arg.model, kvCacheBytes: 1 << 21 });
  try {
    const r = (await engine.chat.completions.create({ messages: [{ role: 'user', content: 'Hello! What is 2+2?' }], max_tokens: 6, temperature: 0 })) as ChatCompletion;
    return r.choices[0].message.content ?? '';
  } finally {
    engine.dispose();
  }
}

/** The error a model load gives, or null when it loads. */
export async function loadError(arg: { model: string }): Promise<PageError | null> {
  try {
    (await loadEngine({ model: arg.model, kvCacheBytes: 1 << 21 })).dispose();
    return null;
  } catch (e) {
    return asPageError(e);
  }
}

/** The error of one ranged read, or null. */
export async function readError(arg: { url: string }): Promise<PageError | null> {
  try {
    await fromUrl(arg.url, { retry: { retries: 1, baseDelayMs: 10, maxDelayMs: 20 } }).read(0, 8);
    return null;
  } catch (e) {
    return asPageError(e);
  }
}
