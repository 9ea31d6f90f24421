// The ERNIE-4.5-VL forward on WebGPU: the text model's forward (ErnieForward) with three
// departures given as hooks (ERNIE45.md §3.5-3.7):
//   - after the embedding gather, the image features overwrite the placeholder rows;
//   - the RoPE table is built from 3D positions (mropeTable); generated tokens continue at
//     cache position + ropeDelta on all three axes;
//   - a dual-MoE layer routes text rows through the text router and experts and vision rows
//     (placeholders and image start/end markers) through the vision ones: each modality's rows
//     are packed into scratch buffers, run through the ordinary MoE block, and copied back.
import { ErnieError, throwIfAborted } from '../../errors.js';
import type { GpuContext } from '../../gpu/context.js';
import { ErnieForward, type ForwardOptions } from '../ernie45/forward.js';
import type { MoeWeights } from '../ernie45/weights.js';
import type { ErnieVlConfig } from './config.js';
import type { VlLmWeights } from './lm_weights.js';
import { mergedTokens, promptLayout } from './positions3d.js';
import { mropeTable } from './rope3d.js';
import type { VisionEncoder, VisionInput } from './vision.js';

/** Maximal runs [start, end) of rows whose modality is `vision` (1) or text (0). */
function runs(flags: ArrayLike<number>, want: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let i = 0; i < flags.length; i++) {
    if (flags[i] !== want) continue;
    if (out.length && out[out.length - 1][1] === i) out[out.length - 1][1] = i + 1;
    else out.push([i, i + 1]);
  }
  return out;
}

export class ErnieVlForward {
  readonly text: ErnieForward;
  /** 3D positions and routing modality of every cached token (prompt and generated). */
  private pos = { t: [] as number[], h: [] as number[], w: [] as number[], vision: [] as number[] };
  /** Position of the next token minus its cache index: generated text continues at index + ropeDelta. */
  private ropeDelta = 0;
  /** Image features of prompt tokens not yet run, and the cache index of their first placeholder. */
  private features: Array<{ buffer: GPUBuffer; start: number; rows: number }> = [];
  private readonly xc: GPUBuffer; // [maxBatch, hidden] packed normed rows of one modality
  private readonly hc: GPUBuffer; // [maxBatch, hidden] packed residual rows

  constructor(
    readonly ctx: GpuContext,
    readonly cfg: ErnieVlConfig,
    readonly w: VlLmWeights,
    readonly encoder: VisionEncoder,
    opts: ForwardOptions = {},
  ) {
    this.text = new ErnieForward(ctx, cfg.text, w.text, opts, {
      ropeTable: (start, T) => this.ropeTable(start, T),
      afterEmbed: (h, start, T) => this.scatterFeatures(h, start, T),
      moeBlock: (l, x, h, start, T, moe) => this.dualMoe(l, x, h, start, T, moe),
    });
    const rowBytes = cfg.text.hiddenSize * 4;
    this.xc = ctx.createBuffer('vl packed x', this.text.maxBatch * rowBytes);
    this.hc = ctx.createBuffer('vl packed h', this.text.maxBatch * rowBytes);
  }

  get logitsBuffer(): GPUBuffer {
    return this.text.logitsBuffer;
  }

  /** Tokens in the KV cache. */
  get length(): number {
    return this.text.kv.length;
  }

  /**
   * Append a prompt (a first prompt, or the next turn after the cached tokens): `ids` holds, for
   * each image in order, its start token, one placeholder per merged patch and its end token.
   * Its positions continue after the cache as HF computes them over the whole sequence.
   */
  async prefill(ids: readonly number[], images: VisionInput[], opts: { allLogits?: boolean; captureHidden?: boolean; signal?: AbortSignal } = {}) {
    const start = this.length, capacity = this.text.kv.capacity;
    if (start + ids.length > capacity) {
      throw new ErnieError('CONTEXT_OVERFLOW', `${start} cached + ${ids.length} prompt tokens (image placeholders included) exceed the KV cache capacity of ${capacity}; raise kvCacheBytes or send smaller or fewer images`);
    }
    const layout = promptLayout(ids, this.cfg.tokens, images.map((im) => im.grid), this.cfg.vision.spatialMergeSize, start + this.ropeDelta);
    this.releaseFeatures();
    try {
      for (const [k, im] of images.entries()) {
        throwIfAborted(opts.signal);
        this.features.push({ buffer: this.encoder.encode(im), start: start + layout.imageStarts[k], rows: mergedTokens(im.grid, this.cfg.vision.spatialMergeSize) });
      }
    } catch (e) {
      this.releaseFeatures();
      throw e;
    }
    this.pos.t.push(...layout.t); this.pos.h.push(...layout.h); this.pos.w.push(...layout.w); this.pos.vision.push(...layout.vision);
    // layout.ropeDelta counts from this prompt's first token, which sits at cache index `start`
    this.ropeDelta = layout.ropeDelta - start;
    try {
      return await this.text.run(ids, opts);
    } catch (e) {
      this.truncate(start);
      throw e;
    } finally {
      this.releaseFeatures();
    }
  }

  /** Generated tokens (text) after the cached ones. */
  async decode(ids: readonly number[], opts: { allLogits?: boolean; signal?: AbortSignal } = {}) {
    const start = this.length;
    for (let i = 0; i < ids.length; i++) {
      const p = start + i + this.ropeDelta;
      this.pos.t.push(p); this.pos.h.push(p); this.pos.w.push(p); this.pos.vision.push(0);
    }
    try {
      return await this.text.run(ids, opts);
    } catch (e) {
      this.truncate(start);
      throw e;
    }
  }

  /** Keep the first `length` cached tokens (their K/V and positions): prefix reuse across turns. */
  truncate(length: number): void {
    this.text.truncate(length);
    const n = this.length;
    for (const a of Object.values(this.pos)) a.length = Math.min(a.length, n);
    // the next token continues one past the largest position kept
    let max = -1;
    for (let i = 0; i < n; i++) max = Math.max(max, this.pos.t[i], this.pos.h[i], this.pos.w[i]);
    this.ropeDelta = max + 1 - n;
  }

  private releaseFeatures(): void {
    if (!this.features.length) return;
    this.ctx.submit();
    for (const f of this.features) f.buffer.destroy();
    this.features = [];
  }

  private positions(start: number, T: number): { t: number[]; h: number[]; w: number[]; vision: number[] } {
    const p = this.pos, end = start + T;
    return { t: p.t.slice(start, end), h: p.h.slice(start, end), w: p.w.slice(start, end), vision: p.vision.slice(start, end) };
  }

  private ropeTable(start: number, T: number): Float32Array {
    return mropeTable(this.positions(start, T), this.cfg.text.headDim, this.cfg.text.ropeTheta, this.cfg.mropeSection);
  }

  /** Overwrite the chunk's placeholder rows (tokens start..start+T-1) with the image features. */
  private scatterFeatures(h: GPUBuffer, start: number, T: number): void {
    const row = this.cfg.text.hiddenSize * 4;
    for (const f of this.features) {
      const a = Math.max(start, f.start), b = Math.min(start + T, f.start + f.rows);
      if (a < b) this.ctx.copy(f.buffer, (a - f.start) * row, h, (a - start) * row, (b - a) * row);
    }
  }

  private async dualMoe(l: number, x: GPUBuffer, h: GPUBuffer, start: number, T: number, moe: (m: MoeWeights, x: GPUBuffer, h: GPUBuffer, rows: number) => Promise<void>): Promise<void> {
    const textW = this.w.text.layers[l].moe!, visionW = this.w.vision[l]!;
    const vision = this.pos.vision.slice(start, start + T);
    if (!vision.includes(1)) return await moe(textW, x, h, T);
    const row = this.cfg.text.hiddenSize * 4;
    for (const [flag, weights] of [[0, textW], [1, visionW]] as const) {
      const rs = runs(vision, flag);
      if (!rs.length) continue;
      let packed = 0;
      for (const [a, b] of rs) {
        this.ctx.copy(x, a * row, this.xc, packed * row, (b - a) * row);
        this.ctx.copy(h, a * row, this.hc, packed * row, (b - a) * row);
        packed += b - a;
      }
      await moe(weights, this.xc, this.hc, packed);
      packed = 0;
      for (const [a, b] of rs) {
        this.ctx.copy(this.hc, packed * row, h, a * row, (b - a) * row);
        packed += b - a;
      }
    }
  }
}
