// `npm run bench:cache`: the GPU expert cache's trace simulator at ERNIE-4.5-21B-A3B shape
// (27 MoE layers x 64 experts, top-6; expert bytes of FORMAT.md's q4_k and q2_k layouts), per
// eviction policy (LRU, LFU with decay, layered; Belady's offline optimum as the bound) with and without prefetch, at 10/25/50/100%
// of the experts resident: hit rate, experts and bytes uploaded per token, prefetch accuracy,
// readbacks per token, and tokens/s from a cost model whose constants are measured here:
//   upload GB/s       queue.writeBuffer of 64 MiB, then onSubmittedWorkDone
//   store read GB/s   reading a 256 MiB file (page-cached) with fs
//   readback latency  a 4-byte copy + mapAsync round trip
//   compute s/token   bytes a 21B-A3B token reads (routed experts + the rest, q4) / the Q4_K matvec GB/s
// time per token = compute + readbacks x latency + demand bytes x (1/upload + 1/read)
//                  + max(0, prefetched bytes x (1/upload + 1/read) - compute)   (prefetch overlaps compute)
// Traces: synthetic (skewed popularity, reuse between neighbouring tokens, per-layer
// correlation; and uniform), or one recorded from the engine:
//   npm run bench:cache -- --record-trace trace.json [--model DIR] [--tokens 64]
//   npm run bench:cache -- --trace trace.json
// Usage: npm run bench:cache -- [--tokens 400] [--quick]
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { acquireDevice } from '../src/gpu/device.js';
import { GpuContext } from '../src/gpu/context.js';
import { nodeGpu } from '../src/node.js';
import { benchMatmulQ } from '../src/kernels/matmul_q.js';
import { expertSlotBytes } from '../src/kernels/moe.js';
import { POLICY_NAMES } from '../src/experts/policy.js';
import { type RoutingTrace, simulate, syntheticTrace } from '../src/experts/simulate.js';

const args = new Map<string, string>();
process.argv.slice(2).forEach((a, i, all) => a.startsWith('--') && args.set(a.slice(2), all[i + 1]?.startsWith('--') ? '1' : (all[i + 1] ?? '1')));
const TOKENS = Number(args.get('tokens') ?? 400);

// ---- 21B-A3B geometry (ERNIE45.md): hidden 2560, expert inter 1536, 27 MoE layers x 64, top-6
const H = 2560, I = 1536, MOE = 27, E = 64, K = 6;
const expertBytes = (layout: 'q4_k' | 'q2_k') => expertSlotBytes(layout, 2 * I, H) + expertSlotBytes(layout, H, I);
// per token, besides the routed experts: attention (q,k,v,o), shared experts (3072), dense layer 0, lm_head; at q4 (4.5 bits)
const coreParams = 28 * (2 * H * H + 2 * H * 512) + 27 * 3 * H * 3072 + 3 * H * 12288 + 103424 * H;
const coreBytes = (coreParams * 4.5) / 8;

async function measure(): Promise<{ uploadGBs: number; readGBs: number; readbackMs: number; matvecGBs: number; adapter: string }> {
  const ctx = new GpuContext(await acquireDevice(await nodeGpu()));
  const info = ctx.adapterInfo;
  const size = 64 << 20;
  const buf = ctx.createBuffer('upload probe', size);
  const data = new Uint8Array(size).fill(7);
  ctx.write(buf, data);
  await ctx.device.queue.onSubmittedWorkDone();
  let t0 = performance.now();
  for (let i = 0; i < 4; i++) ctx.write(buf, data);
  await ctx.device.queue.onSubmittedWorkDone();
  const uploadGBs = (4 * size) / ((performance.now() - t0) / 1000) / 1e9;
  const small = ctx.createBuffer('readback probe', 16);
  await ctx.readU32(small, 0, 1);
  t0 = performance.now();
  for (let i = 0; i < 20; i++) await ctx.readU32(small, 0, 1);
  const readbackMs = (performance.now() - t0) / 20;
  const q = await benchMatmulQ(ctx, { layout: 'q4_k', rows: 2 * I, cols: H, reps: 3 });
  ctx.destroy();
  const dir = mkdtempSync(join(tmpdir(), 'ernie-bench-cache-'));
  const file = join(dir, 'store.bin');
  writeFileSync(file, new Uint8Array(256 << 20).fill(3));
  const fh = await open(file, 'r');
  const chunk = new Uint8Array(8 << 20);
  await fh.read(chunk, 0, chunk.length, 0);
  t0 = performance.now();
  for (let o = 0; o < 256 << 20; o += chunk.length) await fh.read(chunk, 0, chunk.length, o);
  const readGBs = (256 << 20) / ((performance.now() - t0) / 1000) / 1e9;
  await fh.close();
  rmSync(dir, { recursive: true });
  return { uploadGBs, readGBs, readbackMs, matvecGBs: q.gbs, adapter: `${info.vendor} ${info.architecture} ${info.description}`.trim() };
}

async function recordTrace(out: string): Promise<void> {
  const { loadEngine } = await import('../src/engine/load.js');
  const { nodeFolder } = await import('../src/formats/node_source.js');
  const dir = args.get('model') ?? 'test/fixtures/ernie45-moe-tiny';
  const engine = await loadEngine({ model: nodeFolder(dir), tokenizer: nodeFolder(args.get('tokenizer') ?? 'test/fixtures/ernie-tokenizer-tiny'), gpu: await nodeGpu(), kvCacheBytes: 1 << 24 });
  // the scheduler behind the engine's model (loadEngine wires GpuLanguageModel -> ErnieForward)
  const sched = (engine as unknown as { model: { model: { w: { experts: import('../src/experts/scheduler.js').ExpertScheduler } } } }).model.model.w.experts;
  sched.trace = { tokens: [], predicted: [] };
  await engine.completions.create({ prompt: args.get('prompt') ?? 'The history of the printing press', max_tokens: Number(args.get('tokens') ?? 64), temperature: 0.7, seed: 1 });
  const t = sched.trace;
  const trace: RoutingTrace = { layers: sched.source.layers.length, experts: sched.source.experts, topK: sched.source.topK, tokens: t.tokens.filter((x) => x.length > 0), predicted: t.predicted.filter((x) => x.length > 0) };
  writeFileSync(out, JSON.stringify(trace));
  console.log(`recorded ${trace.tokens.length} decode tokens x ${trace.layers} MoE layers from ${dir} into ${out}`);
  engine.dispose();
}

/** Tokens at the start of a trace that fill the cache and are not counted. */
const warmupOf = (trace: RoutingTrace) => Math.min(50, Math.floor(trace.tokens.length / 4));

function table(name: string, trace: RoutingTrace, m: Awaited<ReturnType<typeof measure>>, fullShape: boolean): { lru25: number; ours25: { total: number; critical: number }; opt25: number } {
  const WARMUP = warmupOf(trace);
  const all = trace.layers * trace.experts;
  const computeS = (coreBytes + MOE * K * expertBytes('q4_k')) / (m.matvecGBs * 1e9);
  console.log(`\n### ${name}\n`);
  console.log(`compute per token (cost model): ${computeS.toFixed(1)} s`);
  console.log('| budget | policy | prefetch | GPU hit rate | experts moved / token: total (critical path) | MB / token q4: total (critical path) | MB / token q2: total (critical path) | prefetch precision / recall | readbacks / token | expert ms / token q4 | tok/s q4 | tok/s q2 |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|');
  let lru25 = 0, opt25 = 0;
  const ours25 = { total: Infinity, critical: Infinity };
  for (const pct of [10, 25, 50, 100]) {
    const slots = Math.max(trace.topK, Math.floor((all * pct) / 100));
    for (const policy of [...POLICY_NAMES, 'belady' as const]) {
      for (const prefetch of [false, true]) {
        if (prefetch && (policy === 'lfu' || policy === 'belady')) continue;
        const r = simulate(trace, { slots, policy, prefetch, warmup: WARMUP });
        const mb = (layout: 'q4_k' | 'q2_k') => `${((r.uploadsPerToken * expertBytes(layout)) / 1e6).toFixed(1)} (${((r.demandPerToken * expertBytes(layout)) / 1e6).toFixed(1)})`;
        /** seconds a token spends on experts beyond compute: readbacks, demand uploads, prefetch not hidden by compute */
        const expertS = (layout: 'q4_k' | 'q2_k') => {
          const b = expertBytes(layout), per = 1 / (m.uploadGBs * 1e9) + 1 / (m.readGBs * 1e9);
          return r.readbacksPerToken * (m.readbackMs / 1000) + r.demandPerToken * b * per + Math.max(0, r.prefetchPerToken * b * per - computeS);
        };
        const tps = (layout: 'q4_k' | 'q2_k') => 1 / (computeS + expertS(layout));
        if (pct === 25 && policy === 'lru' && !prefetch) lru25 = r.uploadsPerToken;
        if (pct === 25 && policy === 'layered' && prefetch) Object.assign(ours25, { total: r.uploadsPerToken, critical: r.demandPerToken });
        if (pct === 25 && policy === 'belady') opt25 = r.uploadsPerToken;
        const pf = prefetch && r.prefetchPerToken > 0 ? `${r.prefetchPrecision.toFixed(2)} / ${r.prefetchRecall.toFixed(2)}` : '-';
        const sizes = fullShape ? [mb('q4_k'), mb('q2_k'), (1000 * expertS('q4_k')).toFixed(0), tps('q4_k').toPrecision(2), tps('q2_k').toPrecision(2)] : ['-', '-', '-', '-', '-'];
        console.log(`| ${pct}% (${slots} slots) | ${policy} | ${prefetch ? 'yes' : 'no'} | ${r.hitRate.toFixed(3)} | ${r.uploadsPerToken.toFixed(1)} (${r.demandPerToken.toFixed(1)}) | ${sizes[0]} | ${sizes[1]} | ${pf} | ${r.readbacksPerToken.toFixed(1)} | ${sizes[2]} | ${sizes[3]} | ${sizes[4]} |`);
      }
    }
  }
  return { lru25, ours25, opt25 };
}

/** The goal line: at 25%, layered + prefetch against LRU without prefetch (whose bytes are all on the critical path). */
function goal(g: ReturnType<typeof table>): void {
  const pct = (x: number) => `${((100 * x) / g.lru25).toFixed(0)}%`;
  const met = (x: number) => (x <= g.lru25 / 2 ? 'met' : 'NOT met');
  console.log(`\nAt 25%: LRU moves ${g.lru25.toFixed(1)} experts/token. Layered + prefetch: ${g.ours25.critical.toFixed(1)} on the critical path (${pct(g.ours25.critical)} of LRU: goal <= 50% ${met(g.ours25.critical)}), ${g.ours25.total.toFixed(1)} in total (${pct(g.ours25.total)}: ${met(g.ours25.total)}); Belady's offline optimum without prefetch ${g.opt25.toFixed(1)} (${pct(g.opt25)}), the floor for total bytes of any demand policy.`);
}

if (args.has('record-trace')) await recordTrace(args.get('record-trace')!);
else {
  const m = await measure();
  console.log(`# ${new Date().toISOString().slice(0, 10)} bench:cache, adapter: ${m.adapter}`);
  console.log(`measured: upload ${m.uploadGBs.toFixed(2)} GB/s, store read ${m.readGBs.toFixed(2)} GB/s (page-cached file), readback ${m.readbackMs.toFixed(2)} ms, Q4_K matvec ${m.matvecGBs.toFixed(3)} GB/s`);
  console.log(`21B-A3B expert: ${expertBytes('q4_k')} bytes (q4_k), ${expertBytes('q2_k')} bytes (q2_k); a token also reads ~${(coreBytes / 1e9).toFixed(2)} GB of non-expert weights at q4`);
  console.log('Real ERNIE routing traces are not available here: the synthetic traces below are assumptions, not measurements of ERNIE.');
  if (args.has('trace')) {
    const trace = JSON.parse(readFileSync(args.get('trace')!, 'utf8')) as RoutingTrace;
    table(`recorded trace ${args.get('trace')} (${trace.tokens.length} tokens, first ${warmupOf(trace)} not counted, ${trace.layers} MoE layers x ${trace.experts} experts, top-${trace.topK}; the model's own geometry, so no byte or tok/s columns)`, trace, m, false);
  } else {
    const base = { layers: MOE, experts: E, topK: K, tokens: TOKENS, seed: 1, predictAccuracy: 0.8 };
    const mixed = syntheticTrace({ ...base, skew: 1.0, reuse: 0.5, correlation: 0.3 });
    const g = table(`synthetic: Zipf(1.0) popularity per layer, reuse 0.5, layer correlation 0.3, predictions 80% right (${TOKENS} tokens, first ${warmupOf(mixed)} not counted)`, mixed, m, true);
    goal(g);
    if (!args.has('quick')) {
      const uniform = syntheticTrace({ ...base, skew: 0, reuse: 0, correlation: 0 });
      goal(table('synthetic: uniform routing, no reuse, no correlation (the worst case), predictions 80% right', uniform, m, true));
    }
  }
}
