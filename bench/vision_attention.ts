// `npm run bench:vision-attention`: the vision tower's attention over one segment of n tokens at
// the 28B-A3B's heads (16 x 80), random q/k/v, timed on the first `--queries` queries only: every
// query chunk does the same work (all n keys), so the whole layer's attention is that time x
// n / queries. For images too big to run a whole block on a software adapter (1344x1344: 9216 patches).
// Usage: npm run bench:vision-attention -- [--n 9216] [--queries 56] [--variant blocked|fused] [--profile]
import { acquireDevice } from '../src/gpu/device.js';
import { GpuContext } from '../src/gpu/context.js';
import { nodeGpu } from '../src/node.js';
import { profileDispatches } from './dispatch_profile.js';
import { type VisionAttentionVariant, visionAttention, visionAttentionScratchBytes } from '../src/kernels/vision_attention.js';

const args = new Map<string, string>();
process.argv.slice(2).forEach((a, i, all) => a.startsWith('--') && args.set(a.slice(2), all[i + 1] ?? '1'));
const n = Number(args.get('n') ?? 9216);
const queries = Math.min(n, Number(args.get('queries') ?? 56));
const variant = args.get('variant') as VisionAttentionVariant | undefined;
const heads = 16, headDim = 80;

const ctx = new GpuContext(await acquireDevice(await nodeGpu()));
const info = ctx.adapterInfo;
console.log(`# ${new Date().toISOString().slice(0, 10)} adapter: ${info.vendor} ${info.architecture} ${info.description}`);
const data = (count: number, seed: number) => Float32Array.from({ length: count }, (_, i) => Math.sin(i * 0.37 + seed));
const q = ctx.upload('q', data(queries * heads * headDim, 1)); // [queries, heads, headDim]
const k = ctx.upload('k', data(n * heads * headDim, 2)); // [n, heads, headDim]
const v = ctx.upload('v', data(n * heads * headDim, 3));
const out = ctx.createBuffer('out', queries * heads * headDim * 4);
const shape = { Tq: queries, n, heads, headDim, segLen: n, variant };
const bytes = visionAttentionScratchBytes(ctx, shape);
const scratch = bytes > 0 ? ctx.createBuffer('scores', bytes) : undefined;
const run = async () => {
  const s = performance.now(), c = process.cpuUsage();
  visionAttention(ctx, { ...shape, q, k, v, out, q0: 0, scratch });
  await ctx.readF32(out, 0, 4);
  const cpu = process.cpuUsage(c);
  return { wall: (performance.now() - s) / 1000, cpu: (cpu.user + cpu.system) / 1e6 };
};
await run(); // pipelines compiled
const profile = args.has('profile') ? profileDispatches(ctx) : null;
const t = await run();
if (profile) console.log(['per kernel (each dispatch submitted alone):', ...(await profile.report())].join('\n'));
const scale = n / queries;
const load = (await import('node:os')).loadavg()[0]!.toFixed(1);
console.log(`attention, ${n} tokens, ${heads} heads x ${headDim}, ${variant ?? 'adapter default'} variant (scores scratch ${(bytes / 2 ** 20).toFixed(1)} MiB), load average ${load}:`);
console.log(`  ${queries} queries: ${t.wall.toFixed(2)} s wall / ${t.cpu.toFixed(2)} s CPU; all ${n} queries (x ${scale.toFixed(1)}): ${(t.wall * scale).toFixed(0)} s wall / ${(t.cpu * scale).toFixed(0)} s CPU per block`);
