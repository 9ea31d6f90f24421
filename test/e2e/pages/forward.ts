// Page module for forward.browser.test.ts: loads the tiny ERNIE 4.5 MoE checkpoint over HTTP
// (Range requests into model.safetensors) and runs the forward pass in Chromium's WebGPU.
import { acquireDevice } from '../../../src/gpu/device.js';
import { GpuContext } from '../../../src/gpu/context.js';
import { urlFolder } from '../../../src/formats/sources.js';
import { loadErnieFromFolder } from '../../../src/model/ernie45/load.js';
import { GpuLanguageModel } from '../../../src/engine/gpu_model.js';
import type { ExpertCacheOptions } from '../../../src/experts/budget.js';
import type { ErnieForward } from '../../../src/model/ernie45/forward.js';

export interface ForwardCase {
  folder: string; // URL path of the checkpoint folder, e.g. /test/fixtures/ernie45-moe-tiny/
  prompt: number[];
  greedyTokens: number;
}

/** `count` greedy tokens after `prompt`, decoded with the KV cache from an empty cache, then frees the language model (its expert cache included): `forward` is not run again. */
async function greedyTokens(ctx: GpuContext, forward: ErnieForward, prompt: number[], count: number): Promise<number[]> {
  const lm = new GpuLanguageModel(ctx, forward);
  forward.truncate(0);
  await lm.forward(prompt);
  const greedy: number[] = [];
  for (let i = 0; i < count; i++) {
    const id = await lm.sample({
      temperature: 0, topK: 0, topP: 1, minP: 0, u: 0, repetitionPenalty: 1, frequencyPenalty: 0, presencePenalty: 0, penaltyTokens: [], logitBias: new Map(),
    });
    greedy.push(id);
    if (i < count - 1) await lm.forward([id]);
  }
  lm.dispose();
  return greedy;
}

export async function tinyForward(c: ForwardCase): Promise<{ logits: Float32Array; greedy: number[]; adapter: string }> {
  const ctx = new GpuContext(await acquireDevice(navigator.gpu));
  try {
    const { forward } = await loadErnieFromFolder(ctx, urlFolder(location.origin + c.folder), { maxBatch: 16 });
    const { logits } = await forward.run(c.prompt, { allLogits: true });
    const greedy = await greedyTokens(ctx, forward, c.prompt, c.greedyTokens);
    return { logits: logits!, greedy, adapter: `${ctx.adapterInfo.vendor} ${ctx.adapterInfo.architecture}` };
  } finally {
    ctx.destroy();
  }
}

/**
 * The same checkpoint twice in one page: every expert resident, then `expertCache` (a
 * streaming budget); all-position logits and greedy tokens of both.
 */
export async function streamingForward(c: ForwardCase & { expertCache: ExpertCacheOptions }): Promise<{ runs: { logits: Float32Array; greedy: number[]; misses: number; readbacks: number }[] }> {
  const ctx = new GpuContext(await acquireDevice(navigator.gpu));
  try {
    const runs = [];
    for (const expertCache of [{ gpuExperts: '100%' }, c.expertCache]) {
      const { forward } = await loadErnieFromFolder(ctx, urlFolder(location.origin + c.folder), { maxBatch: 4, expertCache });
      const { logits } = await forward.run(c.prompt, { allLogits: true });
      const greedy = await greedyTokens(ctx, forward, c.prompt, c.greedyTokens);
      const s = forward.w.experts!.stats();
      runs.push({ logits: logits!, greedy, misses: s.gpu.misses, readbacks: s.readbacks });
    }
    return { runs };
  } finally {
    ctx.destroy();
  }
}
