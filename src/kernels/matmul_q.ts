// Host code of the quantized-weight matmuls: matvec_q.wgsl (dense, decode and prefill) and
// moe_matmul_q.wgsl (grouped experts). Weights stay in their block layout on the GPU (the
// bytes of src/quant/layouts.ts, GGUF's blocks byte for byte where the layout is GGUF's) and
// are decoded in registers, 32 values at a time, by the shaders/common/q_<layout>.wgsl include.
import matvecQSource from '../../shaders/matvec_q.wgsl?raw';
import matvecQTiledSource from '../../shaders/matvec_q_wg_tiled.wgsl?raw';
import moeMatmulQTiledSource from '../../shaders/moe_matmul_q_wg_tiled.wgsl?raw';
import moeMatmulQSource from '../../shaders/moe_matmul_q.wgsl?raw';
import { type Binding, type GpuContext, grid1d, Params } from '../gpu/context.js';
import { preprocess } from '../gpu/wgsl.js';
import { quantize, rowBytes } from '../quant/layouts.js';
import { type PrefillVariant, subgroupsUsable, variantsOf } from './variants.js';

/** The block layouts the quantized kernels read (layouts.ts ids; f16/f32 go through matmul()). */
export type QuantLayout = 'q8_0' | 'q4_0' | 'iq4_nl' | 'q4_k' | 'q2_k' | 'q6_k' | 'q2_g32';

export const QUANT_LAYOUTS: readonly QuantLayout[] = ['q8_0', 'q4_0', 'iq4_nl', 'q4_k', 'q2_k', 'q6_k', 'q2_g32'];

export function isQuantLayout(v: unknown): v is QuantLayout {
  return typeof v === 'string' && (QUANT_LAYOUTS as readonly string[]).includes(v);
}

/**
 * A quantized weight matrix on the GPU: [rows, cols] quantized row by row in `layout`; row r
 * starts at byte r * rowBytes(layout, cols) (each row's last block may be partial).
 */
export interface GpuQuantWeight {
  buffer: GPUBuffer;
  layout: QuantLayout;
  rows: number;
  cols: number;
}

/** Tokens per pass over the weights: the kernels keep this many sums per row in registers. */
export const MATVEC_Q_TOKENS = 8;
/** Output rows per thread (or per subgroup): each unit of x read serves this many rows. */
const ROWS_PER_THREAD = 2;

/**
 * Which variant runs: 'single' one thread per pair of output rows (portable), 'subgroup' one
 * subgroup per pair of rows, its lanes splitting the row (needs the `subgroups` feature and a
 * known subgroup size); 'auto' (default) picks 'subgroup' where available, as matmul() does.
 */
export type MatmulQKernel = 'auto' | 'single' | 'subgroup';

function lanesFor(ctx: GpuContext, kernel: MatmulQKernel = 'auto'): number {
  const ok = subgroupsUsable(ctx);
  if (kernel === 'subgroup' && !ok) throw new Error('matmulQ: the subgroup kernel needs the `subgroups` feature (and a subgroup size <= 64)');
  const lanes = kernel === 'auto' ? variantsOf(ctx).decode : kernel;
  return lanes === 'subgroup' && ok ? ctx.features.subgroupMaxSize : 1;
}

function tiledPipeline(ctx: GpuContext, layout: QuantLayout, xVec4: boolean, name = 'matvec_q_wg_tiled', source = matvecQTiledSource): GPUComputePipeline {
  const xs = xVec4 ? 'vec4' : 'f32';
  return ctx.pipeline(`${name}:${layout}:x${xs}`, () => preprocess(source, { q_layout: `q_${layout}`, q_x: `q_x_${xs}` }));
}

function qPipeline(ctx: GpuContext, name: string, source: string, layout: QuantLayout, subgroup: boolean, xVec4: boolean): GPUComputePipeline {
  const lanes = subgroup ? 'subgroup' : 'single';
  const xs = xVec4 ? 'vec4' : 'f32';
  return ctx.pipeline(`${name}:${layout}:${lanes}:x${xs}`, () =>
    preprocess(source, { q_lanes: `q_lanes_${lanes}`, q_layout: `q_${layout}`, q_x: `q_x_${xs}` }),
  );
}

function checkWeight(w: GpuQuantWeight, what: string): number {
  if (!isQuantLayout(w.layout)) throw new Error(`${what}: ${JSON.stringify(w.layout)} is not a quantized layout (one of ${QUANT_LAYOUTS.join(', ')})`);
  if (!(Number.isSafeInteger(w.rows) && Number.isSafeInteger(w.cols) && w.rows >= 1 && w.cols >= 1)) throw new Error(`${what}: bad weight dims [${w.rows}, ${w.cols}]`);
  const rb = rowBytes(w.layout, w.cols);
  if (w.buffer.size < w.rows * rb) throw new Error(`${what}: ${w.layout} [${w.rows}, ${w.cols}] needs ${w.rows * rb} bytes, the buffer has ${w.buffer.size}`);
  if (w.rows * rb > 2 ** 32 - 4) throw new Error(`${what}: weights over 4 GiB are not addressable by the kernel`);
  return rb;
}

/**
 * y[t, n] (+)= sum_k x[t, k] * dequant(W)[n, k]   x: [tokens, K] f32, W: [N, K] quantized,
 * y: [tokens, N] f32. Any number of tokens: each pass over the weights serves 8 (decode is one
 * pass; prefill runs ceil(tokens / 8) passes side by side). `accumulate` adds into y.
 */
/** Bytes a binding exposes (a whole buffer, or a slice of one). */
function bindingBytes(b: Binding): number {
  return 'buffer' in b ? (b.size ?? b.buffer.size - (b.offset ?? 0)) : b.size;
}

export function matmulQ(
  ctx: GpuContext,
  a: { x: Binding; w: GpuQuantWeight; y: Binding; tokens: number; accumulate?: boolean; kernel?: MatmulQKernel; prefill?: PrefillVariant },
): void {
  const { rows: N, cols: K } = a.w;
  const rb = checkWeight(a.w, 'matmulQ');
  if (!(Number.isSafeInteger(a.tokens) && a.tokens >= 0)) throw new Error(`matmulQ: bad token count ${a.tokens}`);
  if (a.tokens === 0) return;
  if (bindingBytes(a.x) < a.tokens * K * 4) throw new Error(`matmulQ: x holds ${bindingBytes(a.x)} bytes, [${a.tokens}, ${K}] f32 needs ${a.tokens * K * 4}`);
  if (bindingBytes(a.y) < a.tokens * N * 4) throw new Error(`matmulQ: y holds ${bindingBytes(a.y)} bytes, [${a.tokens}, ${N}] f32 needs ${a.tokens * N * 4}`);
  const params = new Params(6).u32(a.tokens).u32(K).u32(N).u32(a.accumulate ? 1 : 0).u32(rb).u32(Math.ceil(K / 32));
  // prefill (more tokens than one pass holds) on the workgroup-tiled variant: 64 rows x 32 tokens per workgroup
  if (a.tokens > MATVEC_Q_TOKENS && (a.prefill ?? variantsOf(ctx).prefill) === 'workgroup_tiled') {
    ctx.dispatch(tiledPipeline(ctx, a.w.layout, K % 4 === 0), params.buffer, [a.w.buffer, a.x, a.y], [Math.ceil(N / 64), Math.ceil(a.tokens / 32)]);
    return;
  }
  const lanes = lanesFor(ctx, a.kernel);
  const pipeline = qPipeline(ctx, 'matvec_q', matvecQSource, a.w.layout, lanes > 1, K % 4 === 0);
  // 64 / lanes row pairs per workgroup (at the largest subgroup size; extra workgroups exit)
  const [gx, gy] = grid1d(Math.ceil((N * lanes) / (64 * ROWS_PER_THREAD)));
  ctx.dispatch(pipeline, params.buffer, [a.w.buffer, a.x, a.y], [gx, gy, Math.ceil(a.tokens / MATVEC_Q_TOKENS)]);
}

/**
 * The grouped expert matmul of moe.ts moeMatmul on quantized expert slots: y[a, :] =
 * dequant(W[slot(a)]) · x[row(a), :] for every assignment whose expert's slot lies in
 * slotStart..slotStart+slots-1; `w` is one expert's [N, K] (rows, cols), slot i at byte
 * (i - slotStart) * slotStride of w.buffer. groups/order come from moeGroup; `perToken`: x has
 * one row per token (row(a) = a / k), else one per assignment. `maxGroups` bounds the active
 * experts (min(experts, assignments)).
 */
export function moeMatmulQ(
  ctx: GpuContext,
  a: {
    x: GPUBuffer;
    w: GpuQuantWeight;
    groups: GPUBuffer;
    order: GPUBuffer;
    y: GPUBuffer;
    experts: number;
    k: number;
    perToken: boolean;
    maxGroups: number;
    kernel?: MatmulQKernel;
    slotStart: number;
    slots: number;
    /** bytes between slots: >= rows * rowBytes, a multiple of 4 */
    slotStride: number;
    /** most assignments one expert can have (the step's tokens); with more than 8 the prefill variant applies */
    tokens?: number;
    prefill?: PrefillVariant;
  },
): void {
  const rb = checkWeight(a.w, 'moeMatmulQ');
  const N = a.w.rows, K = a.w.cols;
  if (a.slotStride < N * rb || a.slotStride % 4 !== 0) throw new Error(`moeMatmulQ: slot stride ${a.slotStride} is not a multiple of 4 holding ${N * rb} bytes`);
  if (a.w.buffer.size < a.slots * a.slotStride) throw new Error(`moeMatmulQ: ${a.slots} slots of ${a.slotStride} bytes do not fit the ${a.w.buffer.size}-byte buffer`);
  if (a.slots * a.slotStride > 2 ** 32 - 4) throw new Error('moeMatmulQ: slot buffers over 4 GiB are not addressable by the kernel');
  const perExpert = a.tokens ?? 0;
  const tiled = perExpert > MATVEC_Q_TOKENS && (a.prefill ?? variantsOf(ctx).prefill) === 'workgroup_tiled';
  const lanes = tiled ? 1 : lanesFor(ctx, a.kernel);
  const params = new Params(12).u32(N).u32(K).u32(a.experts).u32(a.perToken ? a.k : 1).u32(rb).u32(Math.ceil(K / 32))
    .u32(a.slotStart).u32(a.slotStart + a.slots).u32(a.slotStride).u32(0).u32(0).u32(0);
  if (tiled) {
    // 64 rows x 32 of the expert's assignments per workgroup; blocks past an expert's count exit
    const pipeline = tiledPipeline(ctx, a.w.layout, K % 4 === 0, 'moe_matmul_q_wg_tiled', moeMatmulQTiledSource);
    ctx.dispatch(pipeline, params.buffer, [a.w.buffer, a.x, a.groups, a.order, a.y], [Math.ceil(N / 64), a.maxGroups, Math.ceil(perExpert / 32)]);
    return;
  }
  const pipeline = qPipeline(ctx, 'moe_matmul_q', moeMatmulQSource, a.w.layout, lanes > 1, K % 4 === 0);
  ctx.dispatch(pipeline, params.buffer, [a.w.buffer, a.x, a.groups, a.order, a.y], [Math.ceil((N * lanes) / (64 * ROWS_PER_THREAD)), a.maxGroups]);
}

/** What benchMatmulQ measured. */
export interface MatmulQBench {
  layout: QuantLayout;
  rows: number;
  cols: number;
  tokens: number;
  kernel: 'single' | 'subgroup';
  /** Bytes of quantized weights one call reads. */
  weightBytes: number;
  /** Seconds per call (mean over `reps`, after one warm-up call). */
  seconds: number;
  /** weightBytes / seconds / 1e9. */
  gbs: number;
}

/**
 * Times matmulQ on a [rows, cols] weight in `layout` the way bench/run.ts times the f32/f16
 * matvecs: one warm-up call, then `reps` calls (each submitted) awaited together with
 * queue.onSubmittedWorkDone(). The weights are 16 randomly quantized rows repeated.
 */
export async function benchMatmulQ(
  ctx: GpuContext,
  o: { layout: QuantLayout; rows: number; cols: number; tokens?: number; reps?: number; kernel?: MatmulQKernel },
): Promise<MatmulQBench> {
  const tokens = o.tokens ?? 1, reps = o.reps ?? 5;
  const rb = rowBytes(o.layout, o.cols);
  const weightBytes = o.rows * rb;
  let seed = 12345;
  const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32) * 2 - 1;
  const proto = 16;
  const values = new Float32Array(proto * o.cols).map(() => 0.02 * (rand() + rand() + rand()));
  const block = quantize(o.layout, values, proto, o.cols, { effort: 'fast' });
  const bytes = new Uint8Array(weightBytes);
  for (let r = 0; r < o.rows; r += proto) bytes.set(block.subarray(0, Math.min(proto, o.rows - r) * rb), r * rb);
  const w: GpuQuantWeight = { buffer: ctx.upload(`bench ${o.layout}`, bytes), layout: o.layout, rows: o.rows, cols: o.cols };
  const x = ctx.upload('bench x', new Float32Array(tokens * o.cols).map(() => rand()));
  const y = ctx.createBuffer('bench y', tokens * o.rows * 4);
  const run = () => {
    matmulQ(ctx, { x, w, y, tokens, kernel: o.kernel });
    ctx.submit();
  };
  run();
  await ctx.device.queue.onSubmittedWorkDone();
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) run();
  await ctx.device.queue.onSubmittedWorkDone();
  const seconds = (performance.now() - t0) / 1000 / reps;
  w.buffer.destroy();
  x.destroy();
  y.destroy();
  return {
    layout: o.layout, rows: o.rows, cols: o.cols, tokens,
    kernel: lanesFor(ctx, o.kernel) > 1 ? 'subgroup' : 'single',
    weightBytes, seconds, gbs: weightBytes / seconds / 1e9,
  };
}
