// `npm run bench`: what this adapter does, measured in one run, printed as markdown.
//  1. the adapter: identity, features, the limits the kernels care about, the kernel variants
//     chosen for it (src/kernels/variants.ts);
//  2. copy bandwidth (copyBufferToBuffer): the yardstick;
//  3. the per-kernel table (bench/kernels.ts): every hot kernel in every variant this adapter
//     runs, timestamp-query GPU time where offered and wall time, GB/s and x copy bandwidth;
//  4. whole-model runs (bench/model.ts) at ERNIE-4.5-21B-A3B geometry with random weights made
//     in-process: prefill tok/s, decode tok/s at several context lengths, dispatches / submits /
//     readbacks per token, for each `--runs` entry (expert format @ GPU expert budget).
// Every time waits for the GPU work it times.
// Usage: npm run bench -- [--small] [--geometry 21b|mini] [--layers N] [--runs q4@100%,q2@100%,q4@25%]
//        [--contexts 128,4096,32768] [--tokens 8] [--prompt-tokens 128] [--prefill-tokens 64] [--reps 5]
//        [--layouts q4_k,q2_k,q8_0] [--skip-model] [--model-only] [--json results.json]
// --small: the mini geometry, 2 layers, short runs: a rehearsal that finishes in minutes on SwiftShader.
// Kernel variants may be forced for the model runs with ERNIE_KERNELS=decode=single,prefill=workgroup_tiled.
import { writeFileSync } from 'node:fs';
import { acquireDevice } from '../src/gpu/device.js';
import { GpuContext } from '../src/gpu/context.js';
import { nodeGpu } from '../src/node.js';
import { isQuantLayout, type QuantLayout } from '../src/kernels/matmul_q.js';
import { variantsOf } from '../src/kernels/variants.js';
import { benchConfig, type ExpertFormat, type Geometry } from './geometry.js';
import { KERNEL_HEADER, kernelLine, kernelTable, type KernelRow } from './kernels.js';
import { modelMarkdown, type ModelRun, runModel } from './model.js';

const args = new Map<string, string>();
process.argv.slice(2).forEach((a, i, all) => a.startsWith('--') && args.set(a.slice(2), all[i + 1]?.startsWith('--') || all[i + 1] === undefined ? '1' : all[i + 1]!));
const small = args.has('small');
const geometry = (args.get('geometry') ?? (small ? 'mini' : '21b')) as Geometry;
if (geometry !== '21b' && geometry !== 'mini') throw new Error(`--geometry ${geometry}: use 21b or mini`);
const layers = Number(args.get('layers') ?? (small ? 2 : 4));
const list = (name: string, dflt: string) => (args.get(name) ?? dflt).split(',').map((s) => s.trim()).filter(Boolean);
const runs = list('runs', small ? 'q4@100%,q2@100%' : 'q4@100%,q2@100%').map((r) => {
  const [experts, budget] = r.split('@');
  if (!['f16', 'q4', 'q2'].includes(experts!)) throw new Error(`--runs ${r}: the expert format is f16, q4 or q2`);
  return { experts: experts as ExpertFormat, gpuExperts: budget ?? '100%' };
});
const contexts = list('contexts', small ? '128,512' : '128,4096,32768').map(Number);
const decodeTokens = Number(args.get('tokens') ?? (small ? 3 : 8));
const promptTokens = Number(args.get('prompt-tokens') ?? (small ? 16 : 128));
const prefillTokens = Number(args.get('prefill-tokens') ?? (small ? 32 : 64));
const reps = Number(args.get('reps') ?? (small ? 2 : 5));
const layouts = list('layouts', small ? 'q4_k,q2_k' : 'q4_k,q2_k,q8_0');
for (const l of layouts) if (!isQuantLayout(l)) throw new Error(`--layouts: ${l} is not a quantized layout`);

const out: string[] = [];
const say = (line: string) => {
  console.log(line);
  out.push(line);
};
const results: { adapter?: unknown; copyGBs?: number; kernels?: KernelRow[]; models: ModelRun[] } = { models: [] };

const ctx = new GpuContext(await acquireDevice(await nodeGpu()));
const info = ctx.adapterInfo, L = ctx.limits;
const limits = Object.fromEntries(['maxStorageBufferBindingSize', 'maxBufferSize', 'maxComputeWorkgroupStorageSize', 'maxComputeInvocationsPerWorkgroup', 'maxComputeWorkgroupSizeX', 'maxStorageBuffersPerShaderStage'].map((k) => [k, (L as unknown as Record<string, number>)[k]]));
results.adapter = { ...info, features: ctx.features, limits, variants: variantsOf(ctx) };
say(`# npm run bench, ${new Date().toISOString().slice(0, 16)}Z`);
say(`adapter: ${info.vendor} / ${info.architecture} / ${info.description}`);
say(`features: ${JSON.stringify(ctx.features)}`);
say(`limits: ${JSON.stringify(limits)}`);
say(`kernel variants chosen: ${JSON.stringify(variantsOf(ctx))}`);
say(`geometry: ${geometry} (${JSON.stringify(benchConfig(geometry, layers).hiddenSize)} hidden), command line: ${process.argv.slice(2).join(' ') || '(defaults)'}`);

// copy bandwidth: each copy reads and writes `bytes`
const bytes = Math.min(256 * 2 ** 20, Math.floor(L.maxBufferSize / 2 / 256) * 256);
const a = ctx.createBuffer('copy src', bytes), b = ctx.createBuffer('copy dst', bytes);
ctx.copy(a, 0, b, 0, bytes);
await ctx.settle();
const t0 = performance.now();
for (let i = 0; i < reps; i++) ctx.copy(a, 0, b, 0, bytes), ctx.submit();
await ctx.settle();
const copyGBs = (2 * bytes * reps) / ((performance.now() - t0) / 1000) / 1e9;
results.copyGBs = copyGBs;
say(`copy bandwidth: ${copyGBs.toFixed(2)} GB/s (read + write of ${bytes / 2 ** 20} MiB, wall time over ${reps} copies)`);
a.destroy();
b.destroy();

if (!args.has('model-only')) {
  say('');
  say(`## kernels (${geometry} shapes; prefill kernels at ${prefillTokens} tokens)`);
  say(KERNEL_HEADER);
  // each line as it is measured: a run stopped by a timeout keeps the lines before it
  results.kernels = await kernelTable(ctx, benchConfig(geometry, layers), { reps, prefillTokens, layouts: layouts as QuantLayout[], log: (r) => say(kernelLine(r, copyGBs)) });
}
ctx.destroy();

if (!args.has('skip-model')) {
  say('');
  say(`## model: ${geometry} geometry, ${layers} layers (${layers - 1} MoE), random weights; prompt ${promptTokens} tokens; ${decodeTokens} decode tokens per context`);
  for (const r of runs) {
    const run = await runModel({ geometry, layers, experts: r.experts, gpuExperts: r.gpuExperts, promptTokens, decodeTokens, contexts, log: say });
    results.models.push(run);
  }
  say(modelMarkdown(results.models));
}
if (args.has('json')) writeFileSync(args.get('json')!, JSON.stringify(results, null, 1));
