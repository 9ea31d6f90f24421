// `npm run bench:stream`: ERNIE-4.5-21B-A3B geometry streamed from a package on disk.
//  1. all 28 layers (27 MoE x 64 experts, q2 experts, q4 core), random weights made in-process and
//     written as a package (~7.5 GB) under --dir; loaded with a 1 GiB GPU expert budget, a few
//     tokens decoded; a counting allocator (device.createBuffer wrapped) reports every GPU byte
//     allocated (must stay under 3 GiB) and the peak held.
//  2. a 21B-width package with fewer layers (--sweep-layers, default 4: one dense + three MoE),
//     decode tokens/s at 10/25/50/100% GPU expert budget side by side, with expert-id readbacks
//     per token and the milliseconds per token the scheduler waited for experts.
// Weights: one random quantized row per (layout, width, variant), repeated; routers random, so
// tokens route to different experts. The package is written once and reused when its manifest is
// there (delete --dir to rebuild). Not a CI test: SwiftShader needs minutes at this width.
// Usage: npm run bench:stream -- [--dir /tmp/ernie-stream] [--layers 28] [--tokens 3]
//        [--gpu-bytes 1073741824] [--sweep-layers 4] [--sweep-tokens 6] [--skip-full] [--skip-sweep]
import { existsSync, mkdirSync, statfsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { acquireDevice } from '../src/gpu/device.js';
import { GpuContext } from '../src/gpu/context.js';
import { nodeGpu } from '../src/node.js';
import { nodeFolder } from '../src/formats/node_source.js';
import { manifestJson } from '../src/convert/convert.js';
import { loadErnieFromFolder } from '../src/model/ernie45/load.js';
import { parseConfig } from '../src/model/ernie45/config.js';
import { ExpertScheduler } from '../src/experts/scheduler.js';
import { sample } from '../src/kernels/sample.js';
import { sha256Hex } from '../src/package/hash.js';
import { MANIFEST_FILE, PACKAGE_FORMAT_VERSION, PACKAGE_MAGIC, TENSOR_ALIGNMENT, type Manifest, type ManifestShard, type ManifestTensor } from '../src/package/manifest.js';
import { coreShardName, expectedTensors, expertShardName, type ExpectedTensor } from '../src/package/tensors.js';
import { LAYOUTS, type LayoutId, layoutFor, matrixDims, quantize, tensorBytes } from '../src/quant/layouts.js';
import { Rng } from '../src/sampling/rng.js';

const args = new Map<string, string>();
process.argv.slice(2).forEach((a, i, all) => a.startsWith('--') && args.set(a.slice(2), all[i + 1]?.startsWith('--') ? '1' : (all[i + 1] ?? '1')));
const DIR = args.get('dir') ?? '/tmp/ernie-stream';
const GiB = 2 ** 30, MiB = 2 ** 20;
const rng = new Rng(1234), rand = () => rng.uniform();

function rawConfig(layers: number): Record<string, unknown> {
  return {
    architectures: ['Ernie4_5_MoeForCausalLM'], model_type: 'ernie4_5_moe', vocab_size: 103424, hidden_size: 2560, num_hidden_layers: layers,
    num_attention_heads: 20, num_key_value_heads: 4, head_dim: 128, intermediate_size: 12288, moe_intermediate_size: 1536, moe_k: 6,
    moe_num_experts: 64, moe_num_shared_experts: 2, moe_layer_start_index: 1, moe_layer_end_index: layers - 1, moe_layer_interval: 1,
    rope_theta: 500000, rms_norm_eps: 1e-5, tie_word_embeddings: true, max_position_embeddings: 131072,
  };
}

const VARIANTS = 8;
/** Distinct rows per matrix (rows repeat with this period): tokens embed differently, logits differ. */
const PERIOD = 16;
const rowCache = new Map<string, Uint8Array>();
/** A [rows, cols] matrix of `layout` made of PERIOD random quantized rows (set v), repeated. */
function matrixBytes(layout: LayoutId, rows: number, cols: number, v: number, scale: number): Uint8Array {
  const key = `${layout}/${cols}/${v}/${scale}`;
  let block = rowCache.get(key);
  if (!block) rowCache.set(key, (block = quantize(layout, Float32Array.from({ length: PERIOD * cols }, () => (rand() - 0.5) * scale), PERIOD, cols, { effort: 'fast' })));
  const rb = block.length / PERIOD, out = new Uint8Array(tensorBytes(layout, rows, cols));
  for (let r = 0; r < rows; r += PERIOD) out.set(block.subarray(0, Math.min(PERIOD, rows - r) * rb), r * rb);
  return out;
}

const align = (n: number) => Math.ceil(n / TENSOR_ALIGNMENT) * TENSOR_ALIGNMENT;

/** Writes (once) a package of the 21B-A3B geometry with `layers` layers into `dir`; returns its bytes. */
async function writePackage(dir: string, layers: number): Promise<number> {
  const manifestPath = join(dir, MANIFEST_FILE);
  const raw = rawConfig(layers), cfg = parseConfig(raw);
  const expected = expectedTensors(cfg);
  const layoutOf = (e: ExpectedTensor): LayoutId | 'f32' => {
    const cols = matrixDims(e.shape)[1];
    return e.role === 'expert' ? layoutFor('q2', cols) : e.role === 'matrix' || e.role === 'head' ? layoutFor('q4', cols) : 'f32';
  };
  const bytesOf = (e: ExpectedTensor) => {
    const l = layoutOf(e), [r, c] = matrixDims(e.shape);
    return l === 'f32' ? r * c * 4 : tensorBytes(l, r, c);
  };
  const total = expected.reduce((s, e) => s + bytesOf(e), 0);
  if (existsSync(manifestPath)) return total;
  const free = statfsSync('/tmp').bavail * statfsSync('/tmp').bsize;
  if (free < total * 1.1) throw new Error(`bench:stream: the package needs ${(total / GiB).toFixed(1)} GiB in ${dir}, ${(free / GiB).toFixed(1)} GiB free; use --layers fewer`);
  mkdirSync(join(dir, 'experts'), { recursive: true });
  const t0 = performance.now();
  const tensors: ManifestTensor[] = [], shards: ManifestShard[] = [];
  let core: { file: string; parts: [number, Uint8Array][]; size: number } | null = null, coreN = 0;
  const flushCore = async () => {
    if (!core) return;
    const buf = new Uint8Array(core.size);
    for (const [o, b] of core.parts) buf.set(b, o);
    writeFileSync(join(dir, core.file), buf);
    shards.push({ file: core.file, kind: 'core', bytes: buf.length, sha256: await sha256Hex(buf) });
    core = null;
  };
  const shaOfVariant = new Map<string, string>();
  for (let i = 0; i < expected.length; ) {
    const e = expected[i]!;
    if (e.role === 'expert') {
      // the three matrices of one expert, one shard; shards of one variant share their bytes
      const parts = expected.slice(i, i + 3), v = (e.layer! * 7 + e.expert!) % VARIANTS;
      const file = expertShardName(cfg, e.layer!, e.expert!);
      let size = 0;
      const placed = parts.map((p) => {
        const off = align(size);
        size = off + bytesOf(p);
        return off;
      });
      const buf = new Uint8Array(size);
      parts.forEach((p, j) => {
        const [r, c] = matrixDims(p.shape), l = layoutOf(p) as LayoutId;
        buf.set(matrixBytes(l, r, c, v, 0.04), placed[j]!);
        tensors.push({ name: p.name, shape: p.shape, scheme: LAYOUTS[l].scheme, layout: l, shard: file, offset: placed[j]!, bytes: bytesOf(p) });
      });
      mkdirSync(join(dir, file, '..'), { recursive: true });
      writeFileSync(join(dir, file), buf);
      const key = `${v}`;
      if (!shaOfVariant.has(key)) shaOfVariant.set(key, await sha256Hex(buf));
      shards.push({ file, kind: 'expert', layer: e.layer!, expert: e.expert!, bytes: size, sha256: shaOfVariant.get(key)! });
      i += 3;
      continue;
    }
    const l = layoutOf(e), [r, c] = matrixDims(e.shape), n = bytesOf(e);
    let bytes: Uint8Array;
    if (l === 'f32') {
      const f = new Float32Array(r * c);
      if (e.role === 'norm') f.fill(1);
      else if (e.role === 'router') for (let j = 0; j < f.length; j++) f[j] = (rand() - 0.5) * 0.2;
      bytes = new Uint8Array(f.buffer);
    } else bytes = matrixBytes(l, r, c, (e.layer ?? 0) % VARIANTS, e.role === 'head' ? 0.1 : 0.04);
    if (!core || align(core.size) + n > 64 * MiB) {
      await flushCore();
      core = { file: coreShardName(coreN++), parts: [], size: 0 };
    }
    const off = align(core.size);
    core.parts.push([off, bytes]);
    core.size = off + n;
    tensors.push({ name: e.name, shape: e.shape, scheme: l === 'f32' ? 'f32' : LAYOUTS[l].scheme, layout: l, shard: core.file, offset: off, bytes: n });
    i++;
  }
  await flushCore();
  const manifest: Manifest = { magic: PACKAGE_MAGIC, formatVersion: PACKAGE_FORMAT_VERSION, config: raw, files: [], shards, tensors, metadata: { bench: 'bench/stream.ts: random weights' } };
  writeFileSync(manifestPath, manifestJson(manifest));
  console.log(`wrote ${dir}: ${layers} layers, ${(total / GiB).toFixed(2)} GiB in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  return total;
}

/** A GPU context whose device counts every byte createBuffer allocates (total, and the peak held). */
async function countingContext(): Promise<{ ctx: GpuContext; bytes: { total: number; live: number; peak: number } }> {
  const ctx = new GpuContext(await acquireDevice(await nodeGpu()));
  const bytes = { total: 0, live: 0, peak: 0 };
  const device = ctx.device, create = device.createBuffer.bind(device);
  device.createBuffer = (d: GPUBufferDescriptor) => {
    const b = create(d), size = d.size;
    bytes.total += size;
    bytes.live += size;
    bytes.peak = Math.max(bytes.peak, bytes.live);
    const destroy = b.destroy.bind(b);
    let gone = false;
    b.destroy = () => {
      if (!gone) bytes.live -= size;
      gone = true;
      destroy();
    };
    return b;
  };
  return { ctx, bytes };
}

type Forward = Awaited<ReturnType<typeof loadErnieFromFolder>>['forward'];

/** Prefill `prompt`, then decode `n` greedy tokens; the scheduler's counters over the decode. */
async function decode(ctx: GpuContext, forward: Forward, prompt: number[], n: number) {
  const result = ctx.createBuffer('token', 4);
  const tp = performance.now();
  await forward.run(prompt);
  sample(ctx, { logits: forward.logitsBuffer, row: 0, vocab: forward.cfg.vocabSize, result, options: { temperature: 0 }, u: 0 });
  let [id] = await ctx.readU32(result, 0, 1);
  const prefillS = (performance.now() - tp) / 1000;
  const before = forward.w.experts!.stats();
  const td = performance.now();
  const tokens = [id!];
  for (let i = 0; i < n; i++) {
    await forward.run([id!]);
    sample(ctx, { logits: forward.logitsBuffer, row: 0, vocab: forward.cfg.vocabSize, result, options: { temperature: 0 }, u: 0 });
    [id] = await ctx.readU32(result, 0, 1);
    tokens.push(id!);
  }
  const decodeS = (performance.now() - td) / 1000;
  result.destroy();
  const s = forward.w.experts!.stats();
  const t = Math.max(1, s.tokens - before.tokens);
  return {
    prefillS, decodeS, tokens, tokS: n / decodeS, slots: s.gpu.slots, allocatedBytes: s.gpu.allocatedBytes,
    readbacks: (s.readbacks - before.readbacks) / t + 1, // + the sampled id
    waitMs: (s.waitMs - before.waitMs) / t,
    hitRate: s.gpu.hits + s.gpu.misses === before.gpu.hits + before.gpu.misses ? 1 : (s.gpu.hits - before.gpu.hits) / (s.gpu.hits - before.gpu.hits + s.gpu.misses - before.gpu.misses),
    uploadedMB: (s.gpu.bytesUploaded - before.gpu.bytesUploaded) / t / 1e6,
    precision: s.prefetch.precision, recall: s.prefetch.recall,
  };
}

const prompt = [1000, 1001, 1002, 1003];
const { cpus } = await import('node:os');
console.log(`# ${new Date().toISOString()} node ${process.version}, ${cpus().length} x ${cpus()[0]?.model}`);

if (!args.has('skip-full')) {
  const layers = Number(args.get('layers') ?? 28), gpuBytes = Number(args.get('gpu-bytes') ?? GiB);
  const dir = join(DIR, `l${layers}`);
  const pkg = await writePackage(dir, layers);
  const { ctx, bytes } = await countingContext();
  console.log(`adapter: ${ctx.adapterInfo.vendor} ${ctx.adapterInfo.architecture} ${ctx.adapterInfo.description}`);
  const t0 = performance.now();
  const { forward } = await loadErnieFromFolder(ctx, nodeFolder(dir), { maxBatch: 4, kvCacheBytes: 16 * MiB, expertCache: { gpuBytes } });
  await ctx.device.queue.onSubmittedWorkDone();
  const loadS = (performance.now() - t0) / 1000;
  const r = await decode(ctx, forward, prompt, Number(args.get('tokens') ?? 3));
  console.log(`\n## ${layers} layers, q2 experts, package ${(pkg / GiB).toFixed(2)} GiB on disk, GPU expert budget ${(gpuBytes / GiB).toFixed(2)} GiB (${r.slots} slots, ${(r.allocatedBytes / MiB).toFixed(0)} MiB)`);
  console.log(`load ${loadS.toFixed(1)} s; prefill ${prompt.length} tokens ${r.prefillS.toFixed(1)} s; decode ${r.tokens.length - 1} tokens ${r.decodeS.toFixed(1)} s = ${r.tokS.toFixed(3)} tok/s; tokens ${r.tokens.join(' ')}`);
  console.log(`per token: ${r.readbacks.toFixed(1)} readbacks, ${r.waitMs.toFixed(0)} ms waiting for experts, GPU hit rate ${r.hitRate.toFixed(2)}, ${r.uploadedMB.toFixed(1)} MB uploaded; prefetch precision ${r.precision.toFixed(2)} recall ${r.recall.toFixed(2)}`);
  console.log(`GPU bytes allocated: ${(bytes.total / GiB).toFixed(3)} GiB in all, peak held ${(bytes.peak / GiB).toFixed(3)} GiB (limit 3 GiB: ${bytes.total < 3 * GiB ? 'under' : 'OVER'})`);
  forward.w.experts!.destroy();
  ctx.destroy();
}

if (!args.has('skip-sweep')) {
  const layers = Number(args.get('sweep-layers') ?? 4), n = Number(args.get('sweep-tokens') ?? 6);
  const dir = join(DIR, `l${layers}`);
  await writePackage(dir, layers);
  const { ctx } = await countingContext();
  const { forward } = await loadErnieFromFolder(ctx, nodeFolder(dir), { maxBatch: 4, kvCacheBytes: 16 * MiB, expertCache: { gpuExperts: '10%' } });
  console.log(`\n## ${layers} layers (${layers - 1} MoE) streamed from ${dir}, q2 experts, ${n} decode tokens per budget (RAM tier: default 512 MiB)`);
  console.log('| GPU budget | slots | decode tok/s | readbacks / token | wait ms / token | GPU hit rate | MB uploaded / token | prefetch precision / recall | tokens |');
  console.log('|---|---|---|---|---|---|---|---|---|');
  let first: number[] | null = null;
  for (const [b, budget] of ['10%', '25%', '50%', '100%'].entries()) {
    if (b > 0) {
      const source = forward.w.experts!.source;
      forward.w.experts!.destroy();
      forward.w.experts = new ExpertScheduler(ctx, source, { gpuExperts: budget, maxTokens: 4 });
      if (forward.w.experts.holdsAll) await forward.w.experts.loadAll();
    }
    forward.truncate(0);
    const r = await decode(ctx, forward, prompt, n);
    first ??= r.tokens;
    const same = r.tokens.join() === first.join() ? '' : ' (DIFFERENT)';
    console.log(`| ${budget} | ${r.slots} | ${r.tokS.toFixed(3)} | ${r.readbacks.toFixed(1)} | ${r.waitMs.toFixed(0)} | ${r.hitRate.toFixed(2)} | ${r.uploadedMB.toFixed(1)} | ${r.precision.toFixed(2)} / ${r.recall.toFixed(2)} | ${r.tokens.join(' ')}${same} |`);
  }
  forward.w.experts!.destroy();
  ctx.destroy();
}
