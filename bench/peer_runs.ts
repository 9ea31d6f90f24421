// The two runs that bench:peers (this machine) and bench/device.sh (a GPU machine) share, on one
// GGUF, greedy, each prompt in turn from an empty cache:
//   oursInNode: our engine in Node (Dawn; SwiftShader here, the GPU's Vulkan driver there);
//   llamaCpp:   llama.cpp through node-llama-cpp, from a folder holding its node_modules (not a
//               dependency of this package): the CPU build here, its Vulkan build on a GPU.
// Prefill times include the first sampled token; every time waits for the work it times.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { acquireDevice } from '../src/gpu/device.js';
import { GpuContext } from '../src/gpu/context.js';
import { nodeGpu } from '../src/node.js';
import { fromPath } from '../src/formats/node_source.js';
import { GgufFile } from '../src/formats/gguf.js';
import { openGgufWeights } from '../src/model/ernie45/gguf_source.js';
import { loadWeights } from '../src/model/ernie45/weights.js';
import { ErnieForward } from '../src/model/ernie45/forward.js';
import { timeGreedy, type GreedyTiming } from './peer_timing.js';

export interface PeerRun {
  prompt: number[];
  decode: number;
}

export interface PeerResult {
  timings: GreedyTiming[];
  loadS: number;
  /** Adapter, build, devices: what ran. */
  what: string;
}

/** The greedy prompt bench:peers and the device script give every engine: `n` ids below `vocab` (1000, 1037, ... past the specials). */
export const peerPrompt = (n: number, vocab: number) => Array.from({ length: n }, (_, i) => 3 + ((997 + 37 * i) % (vocab - 3)));

/** The vocabulary size of a GGUF (its token list). */
export async function ggufVocab(gguf: string): Promise<number> {
  const tokens = (await GgufFile.open(fromPath(gguf))).metadata.get('tokenizer.ggml.tokens');
  if (!Array.isArray(tokens)) throw new Error(`${gguf}: no tokenizer.ggml.tokens`);
  return tokens.length;
}

export async function oursInNode(gguf: string, runs: PeerRun[]): Promise<PeerResult> {
  const ctx = new GpuContext(await acquireDevice(await nodeGpu()));
  try {
    const t0 = performance.now();
    const { config, weights } = await openGgufWeights(fromPath(gguf));
    const longest = Math.max(...runs.map((r) => r.prompt.length + r.decode)) + 2;
    const kvCacheBytes = 2 * config.numLayers * config.numKvHeads * config.headDim * 4 * longest;
    const maxBatch = Math.min(512, Math.max(16, ...runs.map((r) => r.prompt.length)));
    // every expert resident on the GPU (the comparison is with engines that hold the whole file)
    const loaded = await loadWeights(ctx, config, weights, { expertCache: { gpuExperts: '100%' }, maxBatch });
    const forward = new ErnieForward(ctx, config, loaded, { kvCacheBytes, maxBatch });
    await ctx.device.queue.onSubmittedWorkDone();
    const loadS = (performance.now() - t0) / 1000;
    const timings: GreedyTiming[] = [];
    for (const r of runs) timings.push(await timeGreedy(ctx, forward, config.vocabSize, r.prompt, r.decode));
    const a = ctx.adapterInfo;
    return { timings, loadS, what: `${[a.vendor, a.architecture, a.description].filter(Boolean).join(' / ')}; all experts resident` };
  } finally {
    ctx.destroy();
  }
}

export async function llamaCpp(nodeModules: string, gguf: string, runs: PeerRun[], o: { gpu: false | 'vulkan'; threads?: number }): Promise<PeerResult> {
  const pkg = join(nodeModules, 'node-llama-cpp');
  const { getLlama } = await import(pathToFileURL(join(pkg, 'dist/index.js')).href);
  const version = JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8')).version as string;
  const t0 = performance.now();
  // build: 'never': only the prebuilt binaries (no compiler, no network where this runs)
  const llama = await getLlama({ gpu: o.gpu, build: 'never', progressLogs: false });
  if (o.gpu && llama.gpu !== o.gpu) throw new Error(`node-llama-cpp loaded its ${llama.gpu || 'CPU'} build, not ${o.gpu}`);
  const model = await llama.loadModel({ modelPath: gguf, gpuLayers: o.gpu ? 'max' : 0 });
  const longest = Math.max(...runs.map((r) => r.prompt.length + r.decode)) + 16;
  const context = await model.createContext({ contextSize: Math.max(512, longest), batchSize: Math.min(512, Math.max(...runs.map((r) => r.prompt.length))), ...(o.threads ? { threads: o.threads } : {}) });
  const loadS = (performance.now() - t0) / 1000;
  const devices: string[] = o.gpu ? await llama.getGpuDeviceNames() : [];
  const threads = o.gpu ? '' : `, ${context.currentThreads} threads`;
  const sequence = context.getSequence();
  const timings: GreedyTiming[] = [];
  try {
    for (const r of runs) {
      await sequence.clearHistory();
      const ids: number[] = [];
      const t1 = performance.now();
      let t2 = 0;
      for await (const id of sequence.evaluate(r.prompt, { temperature: 0 })) {
        if (ids.length === 0) t2 = performance.now();
        ids.push(id);
        if (ids.length > r.decode) break;
      }
      const t3 = performance.now();
      timings.push({ prefillTokens: r.prompt.length, prefillMs: t2 - t1, decodeTokens: ids.length - 1, decodeMs: t3 - t2, ids });
    }
  } finally {
    await context.dispose();
    await model.dispose();
  }
  // ggml's Vulkan backend skips devices of CPU type (SwiftShader): then it all ran on its CPU backend
  const where = !o.gpu ? '' : devices.length ? `; on ${devices.join(', ')}` : '; no Vulkan GPU device found, so it ran on the CPU backend';
  return { timings, loadS, what: `node-llama-cpp ${version}, ${llama.buildType} ${llama.gpu || 'CPU'} build${threads}${where}` };
}

export const tokensPerS = (t: GreedyTiming) => ({ prefill: (t.prefillTokens * 1000) / t.prefillMs, decode: (t.decodeTokens * 1000) / t.decodeMs });
