// The vision side on the GPU: ViT (patch embedding, pre-LN blocks with 2D RoPE attention inside
// each frame and a quick_gelu MLP, final LayerNorm) and the resampler (2x2 spatial merge, the
// temporal merge that also runs for still images, exact-GELU MLPs, LayerNorms, the projection
// to the text width and RMSNorm). One image at a time: attention never crosses images.
// Per-row work (MLPs, the resampler) runs in row chunks so no buffer outgrows one binding.
import { ErnieError } from '../../errors.js';
import type { Binding, GpuContext } from '../../gpu/context.js';
import { biasAct } from '../../kernels/bias_act.js';
import { layerNorm } from '../../kernels/layernorm.js';
import { matmul } from '../../kernels/matmul.js';
import { rmsnorm } from '../../kernels/rmsnorm.js';
import { ropeHalf, visionRopeTable } from '../../kernels/rope_half.js';
import { visionAttention, visionAttentionScratchBytes } from '../../kernels/vision_attention.js';
import { type ErnieVlConfig, mergedDim } from './config.js';
import { type Grid, patchPositions } from './positions3d.js';
import type { Affine, ResamplerWeights, VisionWeights } from './vision_weights.js';

export interface VisionInput {
  /** [patches, C * p * p] f32 in the processor's window order */
  pixelValues: Float32Array;
  grid: Grid;
}

const slice = (buffer: GPUBuffer, rowStart: number, rows: number, rowFloats: number): Binding => ({ buffer, offset: rowStart * rowFloats * 4, size: rows * rowFloats * 4 });

export class VisionEncoder {
  constructor(
    readonly ctx: GpuContext,
    readonly cfg: ErnieVlConfig,
    readonly vision: VisionWeights,
    readonly resampler: ResamplerWeights,
    readonly opts: { maxBindingBytes?: number; chunkRows?: number } = {},
  ) {
    this.maxBindingBytes = Math.min(opts.maxBindingBytes ?? Infinity, ctx.limits.maxStorageBufferBindingSize);
    // row slices of [*, D], [*, M] and [*, H] buffers must start 256-byte aligned
    const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
    this.rowAlign = 64 / [cfg.vision.hiddenSize, mergedDim(cfg), cfg.text.hiddenSize].reduce(gcd, 64);
    if (opts.chunkRows !== undefined && !(opts.chunkRows > 0 && opts.chunkRows % this.rowAlign === 0)) {
      throw new Error(`chunkRows ${opts.chunkRows} must be a positive multiple of ${this.rowAlign}`);
    }
  }

  readonly maxBindingBytes: number;
  /** Chunks start at multiples of this many rows. */
  readonly rowAlign: number;

  /**
   * Rows per chunk of the per-row work: a multiple of rowAlign whose widest scratch row fits one
   * binding; `opts.chunkRows` caps it (tests use small chunks).
   */
  private chunkRows(rowFloats: number, rows: number): number {
    const fit = Math.floor(this.maxBindingBytes / (rowFloats * 4) / this.rowAlign) * this.rowAlign;
    if (fit < this.rowAlign) throw new ErnieError('GPU_LIMIT', `a vision row of ${rowFloats} floats does not fit ${this.rowAlign} rows into one storage binding of ${this.maxBindingBytes} bytes`);
    return Math.min(fit, this.opts.chunkRows ?? Infinity, Math.ceil(rows / this.rowAlign) * this.rowAlign);
  }

  /** LM embeddings of one image: [mergedTokens(grid), text hidden] f32 in a new buffer. */
  encode(image: VisionInput): GPUBuffer {
    const x = this.tower(image);
    const out = this.resample(x, image.grid); // submits
    x.destroy();
    return out;
  }

  /**
   * The ViT alone: patch embedding, the blocks, the final LayerNorm; [patches, D] f32 in a new
   * buffer, its work submitted (benchmarks time it apart from the resampler).
   */
  tower(image: VisionInput): GPUBuffer {
    const { ctx, cfg } = this;
    const vc = cfg.vision, D = vc.hiddenSize, I = vc.intermediateSize, g = image.grid;
    const N = g.t * g.h * g.w, P = vc.inChannels * vc.patchSize * vc.patchSize;
    if (image.pixelValues.length !== N * P) throw new ErnieError('BAD_REQUEST', `pixel values hold ${image.pixelValues.length} floats, grid ${g.t}x${g.h}x${g.w} needs ${N}x${P}`);
    for (const [what, bytes] of [['pixel values', N * P * 4], ['hidden states', N * D * 4]] as const) {
      if (bytes > this.maxBindingBytes) throw new ErnieError('GPU_LIMIT', `image of ${N} patches: its ${what} (${bytes} bytes) exceed one storage binding (${this.maxBindingBytes}); use a smaller max_pixels`);
    }
    const pix = ctx.upload('vision pixels', image.pixelValues); // [N, P]
    const h = ctx.createBuffer('vision h', N * D * 4); // [N, D] residual stream
    const a = ctx.createBuffer('vision normed', N * D * 4); // [N, D]
    const q = ctx.createBuffer('vision q', N * D * 4); // [N, heads, headDim]
    const k = ctx.createBuffer('vision k', N * D * 4);
    const v = ctx.createBuffer('vision v', N * D * 4);
    const att = ctx.createBuffer('vision attention', N * D * 4);
    const R = this.chunkRows(I, N);
    const mid = ctx.createBuffer('vision mlp', R * I * 4); // [R, I]
    const { row, col } = patchPositions([g], vc.spatialMergeSize);
    const cs = ctx.upload('vision rope', visionRopeTable(row, col, vc.headDim, vc.ropeTheta)); // [N, headDim/2, 2]
    const attShape = { Tq: N, n: N, heads: vc.numHeads, headDim: vc.headDim, segLen: g.h * g.w };
    const scoresBytes = visionAttentionScratchBytes(ctx, attShape);
    const scores = scoresBytes > 0 ? ctx.createBuffer('vision attention scores', scoresBytes) : undefined; // [heads, query chunk, keys]
    const linear = (x: Binding, w: Affine, y: Binding, rows: number, act: 'none' | 'quick_gelu' | 'gelu_erf' = 'none', accumulate = false) => {
      matmul(ctx, { x, w: w.w, y, tokens: rows, accumulate });
      biasAct(ctx, { x: y, b: w.b, rows, cols: w.w.rows, act });
    };

    matmul(ctx, { x: pix, w: this.vision.patchEmbed, y: h, tokens: N });
    for (const b of this.vision.blocks) {
      layerNorm(ctx, { x: h, w: b.norm1.w, b: b.norm1.b, y: a, rows: N, cols: D, eps: vc.layerNormEps });
      linear(a, b.q, q, N); linear(a, b.k, k, N); linear(a, b.v, v, N);
      ropeHalf(ctx, { x: q, cosSin: cs, T: N, heads: vc.numHeads, headDim: vc.headDim });
      ropeHalf(ctx, { x: k, cosSin: cs, T: N, heads: vc.numHeads, headDim: vc.headDim });
      visionAttention(ctx, { ...attShape, q, k, v, out: att, q0: 0, scratch: scores });
      linear(att, b.proj, h, N, 'none', true); // h += proj(att) + bias
      layerNorm(ctx, { x: h, w: b.norm2.w, b: b.norm2.b, y: a, rows: N, cols: D, eps: vc.layerNormEps });
      for (let r0 = 0; r0 < N; r0 += R) {
        const rows = Math.min(R, N - r0);
        linear(slice(a, r0, rows, D), b.fc1, mid, rows, 'quick_gelu');
        linear(mid, b.fc2, slice(h, r0, rows, D), rows, 'none', true);
      }
    }
    layerNorm(ctx, { x: h, w: this.vision.finalNorm.w, b: this.vision.finalNorm.b, y: a, rows: N, cols: D, eps: vc.layerNormEps });
    ctx.submit(); // scratch buffers may only go once the work using them is submitted
    for (const buf of [pix, h, q, k, v, att, mid, cs, scores]) buf?.destroy();
    return a;
  }

  /**
   * Resampler on the tower's output x ([patches, D] = [patches / merge^2, M] in window order):
   * spatial MLP per merged row, then the temporal MLP on frame pairs (2k, 2k+1), a still image
   * paired with itself, its first layer as W1 x_first + W2 x_second (see TemporalMlpWeights).
   * [tokens, text hidden] f32 in a new buffer, its work submitted.
   */
  resample(x: GPUBuffer, g: Grid): GPUBuffer {
    const { ctx, cfg } = this;
    const M = mergedDim(cfg), H = cfg.text.hiddenSize, eps = cfg.vision.layerNormEps;
    const rows = (g.t * g.h * g.w) / cfg.vision.spatialMergeSize ** 2, perFrame = rows / g.t;
    const pairs = g.t > 1 ? g.t / cfg.vision.temporalMergeSize : 1;
    const R = this.chunkRows(M, rows);
    const t1 = ctx.createBuffer('resampler mid', R * M * 4); // [R, M]
    const t2 = ctx.createBuffer('resampler mid 2', R * M * 4);
    const proj = ctx.createBuffer('resampler projection', R * H * 4); // [R, H]
    const spatial = ctx.createBuffer('resampler spatial', rows * M * 4); // [rows, M]
    const out = ctx.createBuffer('image features', pairs * perFrame * H * 4); // [tokens, H]
    /** fc2 + bias, LayerNorm into y, with fc1's pre-activation already in t1. */
    const tail = (n: number, fc1Bias: GPUBuffer, fc2: Affine, norm: { w: GPUBuffer; b: GPUBuffer }, y: Binding) => {
      biasAct(ctx, { x: t1, b: fc1Bias, rows: n, cols: M, act: 'gelu_erf' });
      matmul(ctx, { x: t1, w: fc2.w, y: t2, tokens: n });
      biasAct(ctx, { x: t2, b: fc2.b, rows: n, cols: M, act: 'none' });
      layerNorm(ctx, { x: t2, w: norm.w, b: norm.b, y, rows: n, cols: M, eps });
    };
    const sp = this.resampler.spatial, tm = this.resampler.temporal;
    for (let r0 = 0; r0 < rows; r0 += R) {
      const n = Math.min(R, rows - r0);
      matmul(ctx, { x: slice(x, r0, n, M), w: sp.fc1.w, y: t1, tokens: n });
      tail(n, sp.fc1.b, sp.fc2, sp.norm, slice(spatial, r0, n, M));
    }
    for (let p = 0; p < pairs; p++) {
      const first = (g.t > 1 ? 2 * p : 0) * perFrame, second = (g.t > 1 ? 2 * p + 1 : 0) * perFrame;
      for (let r0 = 0; r0 < perFrame; r0 += R) {
        const n = Math.min(R, perFrame - r0), token = p * perFrame + r0;
        matmul(ctx, { x: slice(spatial, first + r0, n, M), w: tm.fc1First, y: t1, tokens: n });
        matmul(ctx, { x: slice(spatial, second + r0, n, M), w: tm.fc1Second, y: t1, tokens: n, accumulate: true });
        tail(n, tm.fc1Bias, tm.fc2, tm.norm, t1); // LayerNorm output into t1 is read only by the projection below
        matmul(ctx, { x: t1, w: this.resampler.mlp.w, y: proj, tokens: n });
        biasAct(ctx, { x: proj, b: this.resampler.mlp.b, rows: n, cols: H, act: 'none' });
        rmsnorm(ctx, { x: proj, w: this.resampler.afterNorm, y: slice(out, token, n, H), rows: n, cols: H, eps: cfg.text.rmsNormEps });
      }
    }
    ctx.submit(); // scratch buffers may only go once the work using them is submitted
    for (const buf of [t1, t2, proj, spatial]) buf.destroy();
    return out;
  }
}
