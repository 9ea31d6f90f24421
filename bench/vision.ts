// `npm run bench:vision`: the VL vision tower + resampler on one image at ERNIE-4.5-VL-28B-A3B's
// vision geometry (hidden 1280, 16 heads of 80, MLP 5120, patch 14, 2x2 merge, resampler to
// 2560) with random f32 weights made in-process. `--depth N` blocks (default 2; the model has
// 32, whose f32 weights are 2.5 GB), `--size S` for an S x S image (default 448), `--dtype f16`
// for the tower's and resampler's matrices stored f16 as a converted package holds them (default f32).
// `--warmup 0` skips the untimed first run (its time then includes compiling the pipelines).
// `--profile` submits each dispatch alone and prints the time per kernel (bench/dispatch_profile.ts).
// `--skip-resampler` times the tower alone (the resampler's work is linear in the image tokens).
// Prints wall and CPU time (on a software adapter the "GPU" is this process's threads), per block,
// and the 32-block total extrapolated from the blocks run.
// Usage: npm run bench:vision -- [--size 448] [--depth 2] [--dtype f32|f16] [--warmup 1] [--skip-resampler] [--profile]
import { acquireDevice } from '../src/gpu/device.js';
import { GpuContext } from '../src/gpu/context.js';
import { nodeGpu } from '../src/node.js';
import { parseVlConfig } from '../src/model/ernie45_vl/config.js';
import { expectedVlTensors } from '../src/model/ernie45_vl/tensors.js';
import { loadVisionWeights } from '../src/model/ernie45_vl/vision_weights.js';
import { VisionEncoder } from '../src/model/ernie45_vl/vision.js';
import { parsePreprocessorConfig, preprocessImage } from '../src/model/ernie45_vl/preprocess.js';
import type { WeightSource } from '../src/model/ernie45/weights.js';
import { quantize } from '../src/quant/layouts.js';
import { profileDispatches } from './dispatch_profile.js';

const args = new Map<string, string>();
process.argv.slice(2).forEach((a, i, all) => a.startsWith('--') && args.set(a.slice(2), all[i + 1] ?? '1'));
const size = Number(args.get('size') ?? 448);
const depth = Number(args.get('depth') ?? 2);
const dtype = args.get('dtype') ?? 'f32';
const skipResampler = args.has('skip-resampler');
if (dtype !== 'f32' && dtype !== 'f16') throw new Error(`--dtype must be f32 or f16, not ${dtype}`);

const ctx = new GpuContext(await acquireDevice(await nodeGpu()));
const info = ctx.adapterInfo;
console.log(`# ${new Date().toISOString().slice(0, 10)} adapter: ${info.vendor} ${info.architecture} ${info.description}`);

// the 28B in Baidu's flat spelling, text side shrunk (only the vision side runs here)
const cfg = parseVlConfig({
  model_type: 'ernie4_5_vl_moe', hidden_size: 2560, intermediate_size: 64, num_hidden_layers: 2, num_attention_heads: 20, num_key_value_heads: 4,
  vocab_size: 128, rms_norm_eps: 1e-5, rope_theta: 500000, moe_num_experts: [2, 2], moe_intermediate_size: [8, 8], moe_k: 1, moe_num_shared_experts: 0,
  freq_allocation: 20, spatial_conv_size: 2, temporal_conv_size: 2,
  vision_config: { depth, embed_dim: 1280, hidden_size: 1280, num_heads: 16, mlp_ratio: 4, patch_size: 14, in_channels: 3, spatial_merge_size: 2 },
});
let seed = 1;
const rand = (n: number, scale: number) => {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) { seed = (seed * 1103515245 + 12345) >>> 0; out[i] = ((seed / 2 ** 32) * 2 - 1) * scale; }
  return out;
};
const shapes = new Map(expectedVlTensors(cfg, 'vision_model.').filter((t) => t.part !== 'text').map((t) => [t.name, t.shape]));
const values = (n: string) => { const s = shapes.get(n)!; return s.length === 1 ? rand(s[0], 0.1).map((x) => (n.endsWith('weight') ? 1 + x : x)) : rand(s[0] * s[1], 1 / Math.sqrt(s[1])); };
const src: WeightSource = {
  has: (n) => shapes.has(n),
  info: (n) => ({ shape: shapes.get(n)!, dtype: dtype === 'f16' && shapes.get(n)!.length === 2 ? 'F16' : 'F32' }),
  readF32: async (n) => values(n),
  readRaw: async (n) => { const [rows, cols] = shapes.get(n)!; return quantize('f16', values(n), rows, cols); },
};
const t0 = performance.now();
const { vision, resampler } = await loadVisionWeights(ctx, cfg, src, 'vision_model.');
await ctx.device.queue.onSubmittedWorkDone();
console.log(`weights (depth ${depth}, ${dtype} matrices) made and uploaded in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

const pixels = new Uint8Array(size * size * 3);
for (let i = 0; i < pixels.length; i++) pixels[i] = (i * 37) & 255;
const t1 = performance.now();
const patches = preprocessImage({ width: size, height: size, data: pixels }, parsePreprocessorConfig({}));
const preMs = performance.now() - t1;
const encoder = new VisionEncoder(ctx, cfg, vision, resampler);
const tokens = (patches.grid.h * patches.grid.w) / 4;
// wall time, and this process's CPU time (on a software adapter the GPU is this process's threads)
// (the same work as encoder.encode(), timed in two parts)
const timed = async <T>(work: () => Promise<T>) => {
  const s = performance.now(), c = process.cpuUsage();
  const value = await work();
  const cpu = process.cpuUsage(c);
  return { value, wall: (performance.now() - s) / 1000, cpu: (cpu.user + cpu.system) / 1e6 };
};
const run = async () => {
  const tower = await timed(async () => {
    const x = encoder.tower(patches);
    await ctx.settle();
    return x;
  });
  const resampled = await timed(async () => {
    if (skipResampler) return;
    const out = encoder.resample(tower.value, patches.grid);
    await ctx.readF32(out, 0, 4);
    out.destroy();
  });
  tower.value.destroy();
  return { tower, resampled };
};
const warmup = Number(args.get('warmup') ?? 1);
if (warmup > 0) await run(); // pipelines compiled
const profile = args.has('profile') ? profileDispatches(ctx) : null;
const { tower, resampled } = await run();
const FULL_DEPTH = 32; // ERNIE-4.5-VL-28B-A3B's vision blocks
const load = (await import('node:os')).loadavg()[0]!.toFixed(1);
const fmt = (t: { wall: number; cpu: number }) => `${t.wall.toFixed(1)} s wall / ${t.cpu.toFixed(1)} s CPU`;
console.log(`${size}x${size} -> ${patches.width}x${patches.height}, ${patches.grid.h * patches.grid.w} patches, ${tokens} image tokens (${dtype}${warmup > 0 ? '' : ', first run: pipeline compilation included'}; load average ${load}):`);
console.log(`  preprocessing ${preMs.toFixed(0)} ms; tower, ${depth} of ${FULL_DEPTH} blocks: ${fmt(tower)} (${(tower.wall / depth).toFixed(1)} s wall / ${(tower.cpu / depth).toFixed(1)} s CPU per block); ${skipResampler ? 'resampler skipped' : `resampler ${fmt(resampled)}`}`);
if (profile) console.log(['per kernel (each dispatch submitted alone):', ...(await profile.report())].join('\n'));
if (!skipResampler) console.log(`  the 28B's ${FULL_DEPTH} blocks at this per-block time + resampler: ${((tower.wall / depth) * FULL_DEPTH + resampled.wall).toFixed(0)} s wall, ${((tower.cpu / depth) * FULL_DEPTH + resampled.cpu).toFixed(0)} s CPU${depth === FULL_DEPTH ? ' (measured)' : ` (extrapolated from ${depth} block${depth > 1 ? 's' : ''})`}`);
