// `npm run bench`: what this adapter does, measured in one run.
//  1. copy bandwidth (copyBufferToBuffer) of the adapter: the yardstick;
//  2. decode matrix-vector kernels at ERNIE-4.5-21B-A3B shapes, in GB/s of weights read,
//     as a fraction of (1);
//  3. decode tokens/s of the full forward at 21B-A3B width (hidden 2560, 20/4 heads of 128,
//     64 experts of 1536, top-6, shared 3072, vocab 103424) with random f16 weights made
//     in-process; `--layers N` (default 4: one dense + three MoE, as the peer numbers in
//     BENCHMARKS.md use), since all 28 layers with every expert resident need ~43 GB.
//  4. the quantized matvec kernels (dequantise in registers) at the experts' shapes.
// Usage: npm run bench -- [--layers 4] [--tokens 16] [--experts f16|q4|q2] [--gpu-experts 10%,25%,50%,100%] [--prompt-tokens 16] [--skip-model] [--model-only]
import { acquireDevice } from '../src/gpu/device.js';
import { GpuContext } from '../src/gpu/context.js';
import { nodeGpu } from '../src/node.js';
import { matmul } from '../src/kernels/matmul.js';
import type { GpuWeight } from '../src/kernels/common.js';
import { parseConfig } from '../src/model/ernie45/config.js';
import { expectedShapes, loadWeights, type WeightSource } from '../src/model/ernie45/weights.js';
import { ErnieForward } from '../src/model/ernie45/forward.js';
import { ExpertScheduler } from '../src/experts/scheduler.js';
import { sample } from '../src/kernels/sample.js';
import { benchMatmulQ } from '../src/kernels/matmul_q.js';
import { quantize, rowBytes } from '../src/quant/layouts.js';

const args = new Map<string, string>();
process.argv.slice(2).forEach((a, i, all) => a.startsWith('--') && args.set(a.slice(2), all[i + 1]?.startsWith('--') ? '1' : (all[i + 1] ?? '1')));
const layers = Number(args.get('layers') ?? 4);
const decodeTokens = Number(args.get('tokens') ?? 16);
const expertFormat = (args.get('experts') ?? 'f16') as 'f16' | 'q4' | 'q2';

const ctx = new GpuContext(await acquireDevice(await nodeGpu()));
const info = ctx.adapterInfo;
console.log(`# ${new Date().toISOString().slice(0, 10)} adapter: ${info.vendor} ${info.architecture} ${info.description}; f16: ${ctx.features.shaderF16}`);

async function timeIt(run: () => void, reps: number): Promise<number> {
  run();
  await ctx.device.queue.onSubmittedWorkDone();
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) run();
  await ctx.device.queue.onSubmittedWorkDone();
  return (performance.now() - t0) / 1000 / reps;
}

// 1. copy bandwidth: each copy reads and writes `bytes`
const bytes = 256 * 2 ** 20;
const a = ctx.createBuffer('copy src', bytes), b = ctx.createBuffer('copy dst', bytes);
const copyS = await timeIt(() => {
  ctx.copy(a, 0, b, 0, bytes);
  ctx.submit();
}, 5);
const copyGBs = (2 * bytes) / copyS / 1e9;
console.log(`copy bandwidth: ${copyGBs.toFixed(2)} GB/s (read + write of ${bytes / 2 ** 20} MiB)`);
a.destroy();
b.destroy();

// 2. decode matvec at 21B shapes (--model-only skips 2 and 4)
const kernels = !args.has('model-only');
const shapes: [string, number, number][] = [
  ['q_proj 2560x2560', 2560, 2560],
  ['expert gate+up 3072x2560', 3072, 2560],
  ['expert down 2560x1536', 2560, 1536],
  ['lm_head 103424x2560', 103424, 2560],
];
for (const dtype of kernels ? (['f32', 'f16'] as const) : []) {
  for (const [name, N, K] of shapes) {
    const size = N * K * (dtype === 'f16' ? 2 : 4);
    if (size > ctx.limits.maxStorageBufferBindingSize) {
      console.log(`matvec ${dtype} ${name}: skipped (${size} B > binding limit)`);
      continue;
    }
    const w: GpuWeight = { buffer: ctx.createBuffer('w', size), dtype, rows: N, cols: K };
    const x = ctx.createBuffer('x', K * 4), y = ctx.createBuffer('y', N * 4);
    const s = await timeIt(() => {
      matmul(ctx, { x, w, y, tokens: 1 });
      ctx.submit();
    }, 5);
    const gbs = size / s / 1e9;
    console.log(`matvec ${dtype} ${name}: ${(s * 1e3).toFixed(2)} ms, ${gbs.toFixed(2)} GB/s = ${(gbs / copyGBs).toFixed(2)} x copy`);
    w.buffer.destroy();
    x.destroy();
    y.destroy();
  }
}

// 4. quantized matvec at the experts' shapes (q4 -> Q4_K blocks, q2 -> Q2_K blocks)
for (const layout of kernels ? (['q4_k', 'q2_k', 'q8_0'] as const) : []) {
  for (const [name, N, K] of [['expert gate+up 3072x2560', 3072, 2560], ['expert down 2560x1536', 2560, 1536]] as const) {
    const r = await benchMatmulQ(ctx, { layout, rows: N, cols: K });
    console.log(`matvec ${layout} ${name}: ${(r.seconds * 1e3).toFixed(2)} ms, ${r.gbs.toFixed(2)} GB/s of blocks = ${(r.gbs / copyGBs).toFixed(2)} x copy`);
  }
}

// 3. decode tokens/s at 21B-A3B width
if (!args.has('skip-model')) {
  const cfg = parseConfig({
    model_type: 'ernie4_5_moe', vocab_size: 103424, hidden_size: 2560, num_hidden_layers: layers, num_attention_heads: 20, num_key_value_heads: 4,
    head_dim: 128, intermediate_size: 12288, moe_intermediate_size: 1536, moe_k: 6, moe_num_experts: 64, moe_num_shared_experts: 2,
    moe_layer_start_index: 1, moe_layer_end_index: -1, moe_layer_interval: 1, rope_theta: 500000, rms_norm_eps: 1e-5, tie_word_embeddings: true,
    max_position_embeddings: 131072,
  });
  // Random f16 weights made in-process: one random block of bits reused for every tensor.
  const shapesByName = expectedShapes(cfg);
  const block = new Uint16Array(1 << 22);
  for (let i = 0; i < block.length; i++) block[i] = 0x2000 + Math.floor(Math.random() * 0x1000) + (i & 1 ? 0x8000 : 0); // ~1e-4..1e-3, both signs
  const fill = (n: number) => {
    const out = new Uint16Array(n);
    for (let i = 0; i < n; i += block.length) out.set(block.subarray(0, Math.min(block.length, n - i)), i);
    return new Uint8Array(out.buffer);
  };
  // Routed experts optionally quantized: Q4_K / Q2_K rows, one random quantized row repeated.
  const expertLayout = expertFormat === 'q4' ? 'q4_k' : expertFormat === 'q2' ? 'q2_k' : null;
  const isExpert = (n: string) => n.includes('.mlp.experts.');
  const quantRow = new Map<number, Uint8Array>();
  const fillQuant = (rows: number, cols: number) => {
    let row = quantRow.get(cols);
    if (!row) quantRow.set(cols, (row = quantize(expertLayout!, Float32Array.from({ length: cols }, () => (Math.random() - 0.5) * 0.04), 1, cols, { effort: 'fast' })));
    const out = new Uint8Array(rows * rowBytes(expertLayout!, cols));
    for (let r = 0; r < rows; r++) out.set(row, r * row.length);
    return out;
  };
  const src: WeightSource = {
    has: (n) => shapesByName.has(n),
    info: (n) => ({
      shape: shapesByName.get(n)!,
      dtype: expertLayout && isExpert(n) ? expertLayout.toUpperCase() : shapesByName.get(n)!.length === 2 && !n.endsWith('mlp.gate.weight') ? 'F16' : 'F32',
    }),
    readRaw: async (n) => {
      const shape = shapesByName.get(n)!;
      return expertLayout && isExpert(n) ? fillQuant(shape[0], shape[1]) : fill(shape.reduce((x, y) => x * y, 1));
    },
    // routers random (constant ones would route every token to the same experts), the rest constant
    readF32: async (n) => {
      const out = new Float32Array(shapesByName.get(n)!.reduce((x, y) => x * y, 1));
      if (n.endsWith('mlp.gate.weight')) for (let i = 0; i < out.length; i++) out[i] = (Math.random() - 0.5) * 0.2;
      else out.fill(n.includes('norm') ? 1 : 0.01);
      return out;
    },
  };
  const t0 = performance.now();
  const budgets = (args.get('gpu-experts') ?? '100%').split(',');
  const weights = await loadWeights(ctx, cfg, src, { expertCache: { gpuExperts: budgets[0] } });
  await ctx.device.queue.onSubmittedWorkDone();
  console.log(`21B-width model, ${layers} layers (${Math.max(0, layers - 1)} MoE), f16 weights, ${expertLayout ?? 'f16'} routed experts: uploaded in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const model = new ErnieForward(ctx, cfg, weights, { maxBatch: 16, kvCacheBytes: 64 * 2 ** 20 });
  const result = ctx.createBuffer('token', 4);
  const prompt = Array.from({ length: Number(args.get('prompt-tokens') ?? 16) }, (_, i) => 1000 + i);
  // one run per GPU expert budget (--gpu-experts 10%,25%,50%,100%): the same model, a fresh expert cache each
  for (const [b, budget] of budgets.entries()) {
    if (b > 0) {
      weights.experts!.destroy();
      weights.experts = new ExpertScheduler(ctx, weights.experts!.source, { gpuExperts: budget, maxTokens: 16 });
      if (weights.experts.holdsAll) await weights.experts.loadAll();
      model.truncate(0);
    }
    const tp = performance.now();
    await model.run(prompt);
    await ctx.readU32(result, 0, 1);
    const prefillS = (performance.now() - tp) / 1000;
    let id = 7;
    const before = weights.experts!.stats();
    const td = performance.now();
    for (let i = 0; i < decodeTokens; i++) {
      await model.run([id]);
      sample(ctx, { logits: model.logitsBuffer, row: 0, vocab: cfg.vocabSize, result, options: { temperature: 0 }, u: 0 });
      id = (await ctx.readU32(result, 0, 1))[0];
    }
    const decodeS = (performance.now() - td) / 1000;
    const s = weights.experts!.stats();
    const tokens = s.tokens - before.tokens;
    const perToken = (x: number, y: number) => ((x - y) / Math.max(1, tokens)).toFixed(1);
    console.log(`GPU experts ${budget} (${s.gpu.slots} slots, ${(s.gpu.allocatedBytes / 2 ** 20).toFixed(0)} MiB):`);
    console.log(`  prefill: ${prompt.length} tokens in ${prefillS.toFixed(2)} s = ${(prompt.length / prefillS).toFixed(2)} tok/s`);
    console.log(`  decode: ${decodeTokens} tokens in ${decodeS.toFixed(2)} s = ${(decodeTokens / decodeS).toFixed(2)} tok/s (${ctx.dispatchCount} dispatches so far); per token: ${perToken(s.readbacks, before.readbacks)} expert readbacks + 1, ${perToken(s.gpu.misses, before.gpu.misses)} experts uploaded, ${perToken(s.waitMs, before.waitMs)} ms blocked in expert readbacks and reads`);
  }
}
ctx.destroy();
