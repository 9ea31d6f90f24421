// Page module for streaming.browser.test.ts: a package downloaded into IndexedDB by the model
// store, then run with its experts streamed from there (the test stops the server in between).
import { loadEngine } from '../../../src/engine/load.js';
import { openModelStore } from '../../../src/store/store.js';
import type { Completion } from '../../../src/api/types.js';
import type { ExpertCacheOptions } from '../../../src/experts/budget.js';
import type { ExpertStats } from '../../../src/experts/stats.js';

// Token ids, not text: the k256 model's vocabulary (512) is smaller than the tiny tokenizer's.
const REQUEST = { prompt: [5, 17, 33, 101, 250], max_tokens: 8, temperature: 0 };

/** The package at `url` into IndexedDB: every file, or (lazy) all but the expert shards. */
export async function download(arg: { url: string; mode?: 'full' | 'lazy' }) {
  const store = await openModelStore({ chunkBytes: 64 * 1024 });
  const m = await store.download(arg.url, { mode: arg.mode ?? 'full' });
  return { complete: m.complete, files: m.files.total, missing: m.files.missing };
}

/** The stored model (store: true: IndexedDB), once per expert budget: greedy tokens and the expert counters. */
export async function runStored(arg: { url: string; budgets: ExpertCacheOptions[] }) {
  const runs: { text: string; tokens: number; stats: ExpertStats | null }[] = [];
  for (const expertCache of arg.budgets) {
    const engine = await loadEngine({ model: arg.url, store: true, kvCacheBytes: 1 << 22, expertCache });
    try {
      const r = (await engine.completions.create(REQUEST)) as Completion;
      runs.push({ text: r.choices[0]!.text, tokens: r.usage.completion_tokens, stats: engine.stats().experts });
    } finally {
      engine.dispose();
    }
  }
  return { runs };
}

/** A lazily stored model (no expert shards yet) run with its server gone: the typed error, and what the cache holds after. */
export async function lazyOffline(arg: { url: string; expertCache: ExpertCacheOptions }) {
  const engine = await loadEngine({ model: arg.url, store: true, download: 'lazy', kvCacheBytes: 1 << 22, expertCache: arg.expertCache }).catch((e: unknown) => e as Error);
  if (engine instanceof Error) return { loadError: { name: engine.name, code: (engine as { code?: string }).code, message: engine.message } };
  try {
    await engine.completions.create(REQUEST);
    return { ok: true };
  } catch (e) {
    const x = e as { name: string; code?: string; message: string };
    return { error: { name: x.name, code: x.code, message: x.message }, stats: engine.stats().experts };
  } finally {
    engine.dispose();
  }
}
