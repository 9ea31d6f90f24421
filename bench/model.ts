// Whole-model runs of `npm run bench`: load a random-weight model (bench/geometry.ts) on a fresh
// device, prefill a prompt, then decode at each context length. The KV cache is filled to a
// context by moving its length (the cached keys/values are zeros: attention does the same work
// over them as over real ones). Every time waits for the GPU (ctx.settle() / the id readback).
import { GpuContext } from '../src/gpu/context.js';
import { acquireDevice } from '../src/gpu/device.js';
import { nodeGpu } from '../src/node.js';
import { loadWeights } from '../src/model/ernie45/weights.js';
import { ErnieForward } from '../src/model/ernie45/forward.js';
import { sample } from '../src/kernels/sample.js';
import { forceVariants, type KernelVariants, variantsOf } from '../src/kernels/variants.js';
import { benchConfig, type ExpertFormat, type Geometry, randomWeights } from './geometry.js';

export interface ModelRun {
  label: string;
  variants: KernelVariants;
  uploadS: number;
  gpuExperts: string;
  slots: number;
  prefill: { tokens: number; s: number };
  decode: { context: number; tokens: number; s: number; dispatches: number; submits: number; readbacks: number; expertReadbacks: number; uploads: number }[];
}

export async function runModel(o: {
  geometry: Geometry; layers: number; experts: ExpertFormat; gpuExperts: string; promptTokens: number; decodeTokens: number;
  contexts: number[]; forced?: Partial<KernelVariants>; log: (line: string) => void;
}): Promise<ModelRun> {
  const maxContext = Math.max(o.promptTokens + 1, ...o.contexts) + o.decodeTokens + 2;
  const cfg = benchConfig(o.geometry, o.layers);
  const ctx = new GpuContext(await acquireDevice(await nodeGpu()));
  try {
    if (o.forced) forceVariants(ctx, o.forced);
    const t0 = performance.now();
    const weights = await loadWeights(ctx, cfg, randomWeights(cfg, o.experts), { expertCache: { gpuExperts: o.gpuExperts } });
    await ctx.settle();
    const uploadS = (performance.now() - t0) / 1000;
    const kvBytes = 2 * cfg.numLayers * cfg.numKvHeads * cfg.headDim * 4 * maxContext;
    const model = new ErnieForward(ctx, cfg, weights, { maxBatch: Math.min(512, Math.max(16, o.promptTokens)), kvCacheBytes: kvBytes });
    if (model.kv.capacity < maxContext) throw new Error(`the KV cache holds ${model.kv.capacity} tokens on this device, ${maxContext} needed (binding limit)`);
    const label = `${o.geometry} ${o.layers} layers, ${o.experts} experts, GPU experts ${o.gpuExperts}`;
    o.log(`  ${label}: random weights made and uploaded in ${uploadS.toFixed(1)} s`);
    const result = ctx.createBuffer('token', 4);
    const prompt = Array.from({ length: o.promptTokens }, (_, i) => 1000 + i);
    // warm-up (pipelines, bind groups), then the timed prefill from an empty cache
    await model.run(prompt.slice(0, Math.min(prompt.length, 9)));
    await model.run([5]);
    await ctx.settle();
    model.truncate(0);
    const tp = performance.now();
    await model.run(prompt);
    await ctx.settle();
    const prefill = { tokens: prompt.length, s: (performance.now() - tp) / 1000 };
    o.log(`  ${label}: prefill ${prompt.length} tokens in ${prefill.s.toFixed(3)} s = ${(prompt.length / prefill.s).toFixed(1)} tok/s`);
    const decode: ModelRun['decode'] = [];
    let id = 7;
    const step = async () => {
      await model.run([id]);
      sample(ctx, { logits: model.logitsBuffer, row: 0, vocab: cfg.vocabSize, result, options: { temperature: 0 }, u: 0 });
      id = (await ctx.readU32(result, 0, 1))[0]!;
    };
    for (const context of o.contexts) {
      model.kv.length = context - 1;
      await step(); // warm at this length
      const e0 = weights.experts!.stats();
      const c0 = { d: ctx.dispatchCount, s: ctx.submitCount, r: ctx.readbackCount };
      const td = performance.now();
      for (let i = 0; i < o.decodeTokens; i++) await step();
      const s = (performance.now() - td) / 1000;
      const e1 = weights.experts!.stats();
      const n = o.decodeTokens;
      const row = {
        context, tokens: n, s,
        dispatches: (ctx.dispatchCount - c0.d) / n, submits: (ctx.submitCount - c0.s) / n, readbacks: (ctx.readbackCount - c0.r) / n,
        expertReadbacks: (e1.readbacks - e0.readbacks) / n, uploads: (e1.gpu.misses - e0.gpu.misses) / n,
      };
      decode.push(row);
      o.log(`  ${label}: decode at context ${context}: ${(n / s).toFixed(2)} tok/s; per token ${row.dispatches.toFixed(0)} dispatches, ${row.submits.toFixed(1)} submits, ${row.readbacks.toFixed(1)} readbacks (${row.expertReadbacks.toFixed(1)} for experts), ${row.uploads.toFixed(1)} experts uploaded`);
    }
    const st = weights.experts!.stats();
    return { label, variants: variantsOf(ctx), uploadS, gpuExperts: o.gpuExperts, slots: st.gpu.slots, prefill, decode };
  } finally {
    ctx.destroy();
  }
}

export function modelMarkdown(runs: ModelRun[]): string {
  const lines = ['| model | variants | prefill tok/s | context | decode tok/s | dispatches / token | submits / token | readbacks / token | experts uploaded / token |', '|---|---|---|---|---|---|---|---|---|'];
  for (const r of runs) {
    for (const d of r.decode) {
      lines.push(`| ${r.label} (${r.slots} slots) | decode ${r.variants.decode}, prefill ${r.variants.prefill} | ${(r.prefill.tokens / r.prefill.s).toFixed(1)} (${r.prefill.tokens} tokens) | ${d.context} | ${(d.tokens / d.s).toFixed(2)} | ${d.dispatches.toFixed(0)} | ${d.submits.toFixed(1)} | ${d.readbacks.toFixed(1)} | ${d.uploads.toFixed(1)} |`);
    }
  }
  return lines.join('\n');
}
