// The per-kernel table of `npm run bench`: each hot kernel at the model's shapes, in every
// variant this adapter can run (src/kernels/variants.ts), timed by bench/timer.ts. Decode
// kernels are memory-bound: GB/s of weights read and that as a share of copy bandwidth.
// Prefill kernels also report GFLOP/s (2 * tokens * rows * cols per call).
import type { GpuContext } from '../src/gpu/context.js';
import type { GpuWeight } from '../src/kernels/common.js';
import { matmul, type MatmulKernel } from '../src/kernels/matmul.js';
import { type GpuQuantWeight, matmulQ, type QuantLayout } from '../src/kernels/matmul_q.js';
import { expertSlotBytes, moeGroup, moeGroupsLength, moeMatmul } from '../src/kernels/moe.js';
import { type DecodeVariant, type PrefillVariant, subgroupsUsable, tiledUsable } from '../src/kernels/variants.js';
import { quantize, rowBytes } from '../src/quant/layouts.js';
import { Rng } from '../src/sampling/rng.js';
import type { ErnieConfig } from '../src/model/ernie45/config.js';
import { bestS, timeGpu, type Timing } from './timer.js';

export interface KernelRow {
  kernel: string;
  variant: string;
  shape: string;
  bytes: number;
  flops: number;
  timing: Timing;
}

function randomBytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  const rng = new Rng(seed);
  for (let i = 0; i < n; i++) out[i] = rng.nextU32() >>> 24;
  return out;
}

/** f16 weights with small finite values (random bits would hold NaN/Inf patterns). */
function f16Weights(n: number): Uint16Array {
  const out = new Uint16Array(n);
  for (let i = 0; i < n; i++) out[i] = 0x2000 + ((i * 2654435761) >>> 20) % 0x1000 + (i & 1 ? 0x8000 : 0);
  return out;
}

function quantWeights(layout: QuantLayout, rows: number, cols: number): Uint8Array {
  const proto = 16;
  const rb = rowBytes(layout, cols);
  const r = randomBytes(proto * cols * 4, 7);
  const values = new Float32Array(proto * cols).map((_, i) => (r[i]! - 128) / 6400);
  const block = quantize(layout, values, proto, cols, { effort: 'fast' });
  const out = new Uint8Array(rows * rb);
  for (let i = 0; i < rows; i += proto) out.set(block.subarray(0, Math.min(proto, rows - i) * rb), i * rb);
  return out;
}

export async function kernelTable(ctx: GpuContext, cfg: ErnieConfig, o: { reps: number; prefillTokens: number; layouts: QuantLayout[]; log: (row: KernelRow) => void }): Promise<KernelRow[]> {
  const rows: KernelRow[] = [];
  const H = cfg.hiddenSize, EI = cfg.moe!.expertIntermediateSize, V = cfg.vocabSize;
  const decodeVariants: DecodeVariant[] = subgroupsUsable(ctx) ? ['single', 'subgroup'] : ['single'];
  const prefillVariants: PrefillVariant[] = tiledUsable(ctx) ? ['blocked', 'workgroup_tiled'] : ['blocked'];
  const maxBinding = ctx.limits.maxStorageBufferBindingSize;
  const add = (r: KernelRow) => {
    rows.push(r);
    o.log(r);
  };
  const x = ctx.upload('bench x', new Float32Array(Math.max(o.prefillTokens, 8) * Math.max(H, EI, cfg.numHeads * cfg.headDim) * 2).fill(0.01));
  const y = ctx.createBuffer('bench y', Math.max(o.prefillTokens, 8) * Math.max(V, 2 * EI, H) * 4);

  // f16 dense matvec (attention projections, lm_head) and prefill matmul
  const dense: [string, number, number][] = [['q_proj', cfg.numHeads * cfg.headDim, H], ['lm_head', V, H]];
  for (const [name, N, K] of dense) {
    if (N * K * 2 > maxBinding) continue;
    const w: GpuWeight = { buffer: ctx.upload(`w ${name}`, f16Weights(N * K)), dtype: 'f16', rows: N, cols: K };
    for (const v of decodeVariants) {
      const kernel: MatmulKernel = v === 'subgroup' ? 'matvec_subgroup' : 'matvec';
      const timing = await timeGpu(ctx, () => (matmul(ctx, { x, w, y, tokens: 1, kernel }), ctx.submit()), o.reps);
      add({ kernel: `matvec f16 ${name}`, variant: v, shape: `${N}x${K}`, bytes: N * K * 2, flops: 2 * N * K, timing });
    }
    if (name === 'q_proj') {
      for (const v of prefillVariants) {
        const kernel: MatmulKernel = v === 'workgroup_tiled' ? 'workgroup_tiled' : 'tiled';
        const T = o.prefillTokens;
        const timing = await timeGpu(ctx, () => (matmul(ctx, { x, w, y, tokens: T, kernel }), ctx.submit()), o.reps);
        add({ kernel: `matmul f16 ${name} x${T} tokens`, variant: v, shape: `${N}x${K}`, bytes: N * K * 2, flops: 2 * T * N * K, timing });
      }
    }
    w.buffer.destroy();
  }

  // quantized expert matrices: dense matvec (one expert), prefill, and the grouped expert matmul (top-k of a layer)
  for (const layout of o.layouts) {
    for (const [name, N, K] of [['expert gate|up', 2 * EI, H], ['expert down', H, EI]] as const) {
      const bytes = quantWeights(layout, N, K);
      const w: GpuQuantWeight = { buffer: ctx.upload(`wq ${name}`, bytes), layout, rows: N, cols: K };
      for (const v of decodeVariants) {
        const timing = await timeGpu(ctx, () => (matmulQ(ctx, { x, w, y, tokens: 1, kernel: v }), ctx.submit()), o.reps);
        add({ kernel: `matvec ${layout} ${name}`, variant: v, shape: `${N}x${K}`, bytes: bytes.length, flops: 2 * N * K, timing });
      }
      if (name === 'expert gate|up') {
        for (const v of prefillVariants) {
          const T = o.prefillTokens;
          const timing = await timeGpu(ctx, () => (matmulQ(ctx, { x, w, y, tokens: T, prefill: v }), ctx.submit()), o.reps);
          add({ kernel: `matmul ${layout} ${name} x${T} tokens`, variant: v === 'blocked' ? 'passes' : v, shape: `${N}x${K}`, bytes: bytes.length, flops: 2 * T * N * K, timing });
        }
      }
      w.buffer.destroy();
    }
    // grouped: one decode token's top-k experts of a layer's gate|up, as forward.ts runs it
    const E = cfg.moe!.numExperts, k = cfg.moe!.topK, N = 2 * EI, K = H;
    const stride = expertSlotBytes(layout, N, K);
    const slots = Math.min(E, Math.floor(maxBinding / stride));
    const one = quantWeights(layout, N, K);
    const slab = new Uint8Array(slots * stride);
    for (let s = 0; s < slots; s++) slab.set(one, s * stride);
    const buffer = ctx.upload('expert slots', slab);
    const ids = ctx.upload('ids', Uint32Array.from({ length: k }, (_, i) => (i * 5) % slots));
    const table = ctx.upload('slot table', Uint32Array.from({ length: E }, (_, e) => (e < slots ? e : 0xffffffff)));
    const groups = ctx.createBuffer('groups', moeGroupsLength(E) * 4), order = ctx.createBuffer('order', k * 4);
    moeGroup(ctx, { ids, slotTable: table, groups, order, assignments: k, experts: E });
    for (const v of decodeVariants) {
      const timing = await timeGpu(ctx, () => {
        moeMatmul(ctx, { x, w: { buffer, dtype: layout, N, K, slotStart: 0, slots }, groups, order, y, experts: E, k, perToken: true, maxGroups: k, kernel: v });
        ctx.submit();
      }, o.reps);
      add({ kernel: `moe_matmul ${layout} gate|up, top-${k} of one token`, variant: v, shape: `${k}x${N}x${K}`, bytes: k * one.length, flops: 2 * k * N * K, timing });
    }
    for (const b of [buffer, ids, table, groups, order]) b.destroy();
  }
  x.destroy();
  y.destroy();
  return rows;
}

export const KERNEL_HEADER = '| kernel | variant | shape | MB read | ms (timestamps) | ms (wall) | GB/s | x copy | GFLOP/s |\n|---|---|---|---|---|---|---|---|---|';

/** One table line: GB/s of weights read and that over copy bandwidth, from the timestamps where usable. */
export function kernelLine(r: KernelRow, copyGBs: number): string {
  const s = bestS(r.timing);
  const gbs = r.bytes / s / 1e9;
  return `| ${r.kernel} | ${r.variant} | ${r.shape} | ${(r.bytes / 1e6).toFixed(2)} | ${r.timing.gpuS === null ? '-' : (r.timing.gpuS * 1e3).toFixed(3)} | ${(r.timing.wallS * 1e3).toFixed(3)} | ${gbs.toFixed(2)} | ${(gbs / copyGBs).toFixed(3)} | ${(r.flops / s / 1e9).toFixed(1)} |`;
}
