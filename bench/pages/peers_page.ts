// bench:peers, in Chromium: our engine and wllama on the same GGUF URL (see bench/peers.ts).
import { acquireDevice } from '../../src/gpu/device.js';
import { GpuContext } from '../../src/gpu/context.js';
import { fromUrl } from '../../src/formats/sources.js';
import { openGgufWeights } from '../../src/model/ernie45/gguf_source.js';
import { loadWeights } from '../../src/model/ernie45/weights.js';
import { ErnieForward } from '../../src/model/ernie45/forward.js';
import { timeGreedy, type GreedyTiming } from '../peer_timing.js';

export async function ours(arg: { url: string; prompt: number[]; decode: number }): Promise<GreedyTiming & { loadMs: number; adapter: string }> {
  const ctx = new GpuContext(await acquireDevice(navigator.gpu));
  try {
    const t0 = performance.now();
    const { config, weights } = await openGgufWeights(fromUrl(new URL(arg.url, location.href).href));
    const forward = new ErnieForward(ctx, config, await loadWeights(ctx, config, weights), { kvCacheBytes: 64 * 2 ** 20 });
    await ctx.device.queue.onSubmittedWorkDone();
    const loadMs = performance.now() - t0;
    const t = await timeGreedy(ctx, forward, config.vocabSize, arg.prompt, arg.decode);
    return { ...t, loadMs, adapter: `${ctx.adapterInfo.vendor} ${ctx.adapterInfo.description}`.trim() };
  } finally {
    ctx.destroy();
  }
}

interface WllamaTimings { prompt_n: number; prompt_ms: number; predicted_n: number; predicted_ms: number }

/**
 * `bannedTokens`: ids given a bias of -inf (llama.cpp server's `logit_bias` [[id, false]] form).
 * bench:peers bans the byte-fallback tokens: wllama returns the completion as JSON text, and a
 * random model that samples a lone byte such as <0xB6> makes invalid UTF-8, on which wllama's
 * JSON encoder throws (the page then sees "Invalid typed array length: 1163217991", the
 * message's "GLUE" magic read as its length).
 */
export async function wllama(arg: { moduleUrl: string; wasmUrl: string; url: string; prompt: string; decode: number; threads: number; gpuLayers: number; bannedTokens: number[] }): Promise<{ loadMs: number; timings: WllamaTimings; text: string; threads: number; multithread: boolean }> {
  const { Wllama } = await import(/* @vite-ignore */ arg.moduleUrl);
  const w = new Wllama({ default: arg.wasmUrl }, { suppressNativeLog: true });
  const t0 = performance.now();
  await w.loadModelFromUrl(new URL(arg.url, location.href).href, { n_ctx: 512, n_threads: arg.threads, n_gpu_layers: arg.gpuLayers, useCache: false });
  const loadMs = performance.now() - t0;
  const r = await w.createCompletion({ prompt: arg.prompt, max_tokens: arg.decode + 1, temperature: 0, logit_bias: arg.bannedTokens.map((id) => [id, false]) });
  const out = { loadMs, timings: r.timings as WllamaTimings, text: r.choices[0].text as string, threads: w.getNumThreads() as number, multithread: w.isMultithread() as boolean };
  await w.exit();
  return out;
}
