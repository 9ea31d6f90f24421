// Page module for forward.browser.test.ts: a .gguf the user picked (a File) is the whole model
// for loadEngine: weights, config and tokenizer come from it, read in slices.
import { loadEngine } from '../../../src/engine/load.js';
import type { Completion } from '../../../src/api/types.js';

export async function ggufFileEngine(c: { url: string; prompt: number[]; maxTokens: number }): Promise<{ text: string; tokens: number; fileName: string }> {
  const blob = await (await fetch(c.url)).blob();
  const file = new File([blob], c.url.split('/').pop()!, { type: 'application/octet-stream' });
  const engine = await loadEngine({ model: file, gpu: navigator.gpu, kvCacheBytes: 1 << 22 });
  try {
    const r = (await engine.completions.create({ prompt: c.prompt, max_tokens: c.maxTokens, temperature: 0 })) as Completion;
    return { text: r.choices[0]!.text, tokens: r.usage.completion_tokens, fileName: file.name };
  } finally {
    engine.dispose();
  }
}
