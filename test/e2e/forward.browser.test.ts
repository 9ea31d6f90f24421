// The same forward pass in headless Chromium (WebGPU on SwiftShader), weights streamed from a
// local HTTP server with Range requests: logits and greedy tokens equal HF transformers'.
import { describe, expect, it } from 'vitest';
import { runInPage, useHarness } from './browser.js';
import { maxAbsDiff } from '../reference/ops.js';
import { TINY, openReferenceTensors, readTinyReference } from '../helpers/fixtures.js';
import { fromPath } from '../../src/formats/node_source.js';
import { GgufFile } from '../../src/formats/gguf.js';
import { tokenizerFilesFromGguf } from '../../src/text/gguf_tokenizer.js';
import { ErnieTokenizer } from '../../src/text/tokenizer.js';

describe('ERNIE 4.5 MoE forward in Chromium', { timeout: 300_000 }, () => {
  useHarness(); // runInPage() drives the harness this opens

  it('tiny fixture: logits of every position and 24 greedy tokens match HF', async () => {
    const ref = readTinyReference();
    const p = 1;
    const res = await runInPage<{ logits: Float32Array; greedy: number[]; adapter: string }>('/test/e2e/pages/forward.ts', 'tinyForward', {
      folder: `/${TINY}/`,
      prompt: ref.prompts[p],
      greedyTokens: 24,
    }, { timeoutMs: 280_000 });
    const want = await (await openReferenceTensors(`${TINY}/reference.safetensors`)).readF32(`logits_${p}`);
    const diff = maxAbsDiff(res.logits, want);
    console.log(`[e2e] Chromium (${res.adapter}) tiny MoE: max |logit diff| ${diff.toExponential(2)}`);
    expect(diff).toBeLessThan(1e-3);
    expect(res.greedy).toEqual(ref.greedy[p]);
  });

  it('loadEngine({ model: file }) with a picked .gguf File: greedy text of the GGUF reference', async () => {
    const name = 'ernie45-moe-tiny-q4_0';
    const path = `test/fixtures/gguf/${name}.gguf`;
    const raw = await (await openReferenceTensors(`test/fixtures/gguf/${name}.reference.safetensors`)).readRaw('greedy_0');
    const all = Array.from(new Int32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4));
    const end = all.findIndex((id) => id === 1 || id === 2);
    const want = all.slice(0, Math.min(6, end < 0 ? all.length : end));
    expect(want.length).toBeGreaterThan(2);
    const res = await runInPage<{ text: string; tokens: number; fileName: string }>('/test/e2e/pages/gguf_file.ts', 'ggufFileEngine', {
      url: `/${path}`, prompt: readTinyReference().prompts[0], maxTokens: want.length,
    });
    const tok = ErnieTokenizer.fromFiles(tokenizerFilesFromGguf(await GgufFile.open(fromPath(path))));
    expect(res.fileName).toBe(`${name}.gguf`);
    expect(res.tokens).toBe(want.length);
    expect(res.text).toBe(tok.decode(want, { skipSpecialTokens: true }));
  });
});
