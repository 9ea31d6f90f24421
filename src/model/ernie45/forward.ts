// The ERNIE 4.5 forward pass on WebGPU, read top to bottom like ERNIE45.md §1.7:
//   h = embed(ids)
//   per layer: h += o(attn(rope(q(norm(h))), rope(k(..)), v(..)));  h += ffn_or_moe(norm(h))
//   logits = lm_head(norm(h))
// Prefill and decode are the same code with T tokens (decode: T = 1); matmul() picks the
// matrix-vector kernel for small T. Activations are allocated once, for `maxBatch` tokens.
import { ErnieError, NonFiniteError, throwIfAborted } from '../../errors.js';
import type { GpuContext } from '../../gpu/context.js';
import { attention } from '../../kernels/attention.js';
import { matmul } from '../../kernels/matmul.js';
import { moeCombine, moeGroup, moeGroupsLength, moeMatmul, moeRoute } from '../../kernels/moe.js';
import type { MoeWave } from '../../experts/scheduler.js';
import { rmsnorm } from '../../kernels/rmsnorm.js';
import { rope, ropeTable } from '../../kernels/rope.js';
import { siluMul } from '../../kernels/silu_mul.js';
import type { ErnieConfig } from './config.js';
import { KvCache } from './kv_cache.js';
import { type FfnWeights, type LayerWeights, type ModelWeights, type MoeWeights, firstNonFiniteF32 } from './weights.js';
import { gatherRows, maxBlockRows, vocabMatmul } from './vocab_matrix.js';

export interface ForwardOptions {
  /** Largest number of tokens one step processes; longer prompts run in chunks. */
  maxBatch?: number;
  kvCacheBytes?: number;
}

/** Where a model family departs from the text model's step (ERNIE-4.5-VL: 3D RoPE, images, dual MoE). */
export interface ForwardHooks {
  /** cos/sin ([T, headDim/2, 2]) of tokens at cache positions start..start+T-1; default: 1D positions. */
  ropeTable?(start: number, T: number): Float32Array;
  /** After the embedding gather of tokens start..start+T-1 into h ([T, hidden]). */
  afterEmbed?(h: GPUBuffer, start: number, T: number): void;
  /**
   * An MoE layer's block for tokens start..start+T-1 (x: normed input, h: residual stream, both
   * [T, hidden]); `moe` runs one MoE on the first `rows` rows of a pair of buffers. Default: the text MoE.
   */
  moeBlock?(layer: number, x: GPUBuffer, h: GPUBuffer, start: number, T: number, moe: (m: MoeWeights, x: GPUBuffer, h: GPUBuffer, rows: number) => Promise<void>): Promise<void>;
}

/** Activation buffers, sized for maxBatch tokens. Shapes in comments are per step of T tokens. */
class Activations {
  readonly h: GPUBuffer; //          [T, hidden]  residual stream
  readonly x: GPUBuffer; //          [T, hidden]  normed input of a sub-block
  readonly q: GPUBuffer; //          [T, heads, headDim]
  readonly k: GPUBuffer; //          [T, kvHeads, headDim]
  readonly v: GPUBuffer; //          [T, kvHeads, headDim]
  readonly att: GPUBuffer; //        [T, heads, headDim]
  readonly ids: GPUBuffer; //        [T] u32
  readonly cosSin: GPUBuffer; //     [T, headDim/2, 2]
  readonly gateUp: GPUBuffer; //     [T, 2*inter]   dense FFN / shared expert
  readonly act: GPUBuffer; //        [T, inter]
  readonly routerLogits: GPUBuffer; // [T, experts]
  readonly expertIds: GPUBuffer; //  [T, k] u32
  readonly expertWeights: GPUBuffer; // [T, k]
  readonly groups: GPUBuffer; //     [1 + 3*experts] u32
  readonly order: GPUBuffer; //      [T*k] u32
  readonly expertGateUp: GPUBuffer; // [T*k, 2*expertInter]
  readonly expertAct: GPUBuffer; //  [T*k, expertInter]
  readonly expertOut: GPUBuffer; //  [T*k, hidden]
  readonly nextX: GPUBuffer; //      [hidden]   decode: h normed for the next MoE layer (prefetch guess)
  readonly nextLogits: GPUBuffer; // [experts]  its router logits
  readonly nextIds: GPUBuffer; //    [k] u32    the next layer's predicted experts
  readonly nextWeights: GPUBuffer; // [k]
  readonly last: GPUBuffer; //       [hidden]  normed hidden state of the last token
  readonly headIn: GPUBuffer; //     [logitRows, hidden]  normed rows of a chunk (all-position logits)
  readonly logits: GPUBuffer; //     [logitRows, vocab]
  readonly logitBlock: GPUBuffer; // [logitRows, rows of the largest lm_head block] (split heads only)

  constructor(ctx: GpuContext, cfg: ErnieConfig, T: number, readonly logitRows: number, headBlockRows: number) {
    const f = (label: string, floats: number) => ctx.createBuffer(label, Math.max(1, floats) * 4);
    const H = cfg.hiddenSize, D = cfg.headDim;
    const m = cfg.moe;
    const inter = Math.max(cfg.intermediateSize, m?.sharedIntermediateSize ?? 0);
    const E = m?.numExperts ?? 1, k = m?.topK ?? 1, EI = m?.expertIntermediateSize ?? 1;
    this.h = f('h', T * H);
    this.x = f('x', T * H);
    this.q = f('q', T * cfg.numHeads * D);
    this.k = f('k', T * cfg.numKvHeads * D);
    this.v = f('v', T * cfg.numKvHeads * D);
    this.att = f('att', T * cfg.numHeads * D);
    this.ids = f('ids', T);
    this.cosSin = f('cos_sin', T * D);
    this.gateUp = f('gate_up', T * 2 * inter);
    this.act = f('act', T * inter);
    this.routerLogits = f('router_logits', T * E);
    this.expertIds = f('expert_ids', T * k);
    this.expertWeights = f('expert_weights', T * k);
    this.groups = f('groups', moeGroupsLength(E));
    this.order = f('order', T * k);
    this.expertGateUp = f('expert_gate_up', T * k * 2 * EI);
    this.expertAct = f('expert_act', T * k * EI);
    this.expertOut = f('expert_out', T * k * H);
    this.nextX = f('next_x', H);
    this.nextLogits = f('next_router_logits', E);
    this.nextIds = f('next_expert_ids', k);
    this.nextWeights = f('next_expert_weights', k);
    this.last = f('last', H);
    this.headIn = f('lm_head rows', logitRows * H);
    this.logits = f('logits', logitRows * cfg.vocabSize);
    this.logitBlock = f('logit block', headBlockRows < cfg.vocabSize ? logitRows * headBlockRows : 1);
  }
}

export class ErnieForward {
  readonly kv: KvCache;
  readonly maxBatch: number;
  private readonly a: Activations;

  constructor(
    readonly ctx: GpuContext,
    readonly cfg: ErnieConfig,
    readonly w: ModelWeights,
    opts: ForwardOptions = {},
    readonly hooks: ForwardHooks = {},
  ) {
    this.kv = new KvCache(ctx, cfg, opts.kvCacheBytes);
    this.maxBatch = Math.max(1, Math.min(opts.maxBatch ?? 64, this.kv.capacity));
    // All-position logits (the parity CLI) are computed in row blocks that fit one binding.
    const logitRows = Math.max(1, Math.min(this.maxBatch, Math.floor(ctx.limits.maxStorageBufferBindingSize / (cfg.vocabSize * 4))));
    this.a = new Activations(ctx, cfg, this.maxBatch, logitRows, maxBlockRows(w.lmHead));
  }

  /** The buffer holding the last token's logits after run(): row 0 of `logits`. */
  get logitsBuffer(): GPUBuffer {
    return this.a.logits;
  }

  /**
   * Append `ids` at positions kv.length.. and compute the last token's logits into
   * logitsBuffer. With `allLogits`, returns [ids.length, vocab] logits (read back); with
   * `captureHidden`, the residual stream after the embedding and after each layer but the last,
   * then the final-normed output ([ids.length, hidden] each), as HF's hidden_states.
   */
  async run(ids: readonly number[], opts: { allLogits?: boolean; signal?: AbortSignal; captureHidden?: boolean } = {}): Promise<{ logits?: Float32Array; hidden?: Float32Array[] }> {
    if (ids.length === 0) throw new ErnieError('BAD_REQUEST', 'forward: no tokens');
    if (this.kv.length + ids.length > this.kv.capacity) {
      throw new ErnieError('CONTEXT_OVERFLOW', `${this.kv.length + ids.length} tokens exceed the KV cache capacity of ${this.kv.capacity}; raise kvCacheBytes or shorten the prompt`);
    }
    for (const id of ids) {
      if (!Number.isInteger(id) || id < 0 || id >= this.cfg.vocabSize) throw new ErnieError('BAD_REQUEST', `token id ${id} is outside the vocabulary [0, ${this.cfg.vocabSize})`);
    }
    const V = this.cfg.vocabSize;
    const logits = opts.allLogits ? new Float32Array(ids.length * V) : undefined;
    const hidden: Float32Array[] | undefined = opts.captureHidden ? [] : undefined;
    for (let s = 0; s < ids.length; s += this.maxBatch) {
      throwIfAborted(opts.signal);
      const chunk = ids.slice(s, s + this.maxBatch);
      const captured = await this.step(chunk, hidden !== undefined, opts.signal);
      if (hidden) appendRows(hidden, captured!);
      if (logits) {
        for (let r = 0; r < chunk.length; r += this.a.logitRows) {
          const rows = Math.min(this.a.logitRows, chunk.length - r);
          this.lmHead(r, rows);
          const block = await this.ctx.readF32(this.a.logits, 0, rows * V);
          const bad = firstNonFiniteF32(block);
          if (bad >= 0) {
            const at = this.kv.length - chunk.length + r + Math.floor(bad / V);
            throw new NonFiniteError(at, `the logits at position ${at} hold NaN or infinite values (token ${bad % V}); the weights or the config (e.g. rms_norm_eps, rope_theta) produce non-finite numbers`);
          }
          logits.set(block, (s + r) * V);
        }
      }
    }
    // Leave the last token's logits in row 0 for sampling.
    if (logits) this.ctx.write(this.a.logits, logits.subarray((ids.length - 1) * V));
    return { logits, hidden };
  }

  /**
   * One chunk of T <= maxBatch tokens through every layer; the KV cache grows by T.
   * With a signal and T > 1 (prefill), the work is submitted layer by layer and the signal is
   * checked after each layer completes on the GPU: an abort takes effect within one layer, not
   * after the whole prompt has been queued. An abort leaves kv.length as it was before the chunk
   * (the K/V rows already written past it are overwritten later).
   */
  private async step(ids: readonly number[], capture: boolean, signal?: AbortSignal): Promise<Float32Array[] | undefined> {
    const { ctx, cfg, w, a } = this;
    const T = ids.length, start = this.kv.length, H = cfg.hiddenSize;
    // A previous decode step may still be recorded, unsubmitted: it goes first, so the writes
    // below (queue.writeBuffer runs at once) cannot overtake the work that reads these buffers.
    ctx.submit();
    ctx.write(a.ids, new Uint32Array(ids));
    ctx.write(a.cosSin, this.hooks.ropeTable?.(start, T) ?? ropeTable(ids.map((_, i) => start + i), cfg.headDim, cfg.ropeTheta));
    const captured: GPUBuffer[] = [];
    const snapshot = (buf: GPUBuffer) => {
      if (!capture) return;
      const copy = ctx.createBuffer('hidden capture', T * H * 4);
      ctx.copy(buf, 0, copy, 0, T * H * 4);
      captured.push(copy);
    };

    w.experts?.beginStep(T);
    gatherRows(ctx, { m: w.embed, ids: a.ids, out: a.h, tokens: T });
    this.hooks.afterEmbed?.(a.h, start, T);
    snapshot(a.h);
    for (let l = 0; l < cfg.numLayers; l++) {
      const layer = w.layers[l];
      this.attentionBlock(l, layer, T, start);
      rmsnorm(ctx, { x: a.h, w: layer.postNorm, y: a.x, rows: T, cols: H, eps: cfg.rmsNormEps });
      if (layer.moe && this.hooks.moeBlock) await this.hooks.moeBlock(l, a.x, a.h, start, T, (m, x, h, rows) => this.moeBlock(l, m, x, h, rows));
      else if (layer.moe) await this.moeBlock(l, layer.moe, a.x, a.h, T);
      else this.ffn(layer.dense!, a.x, T, a.h);
      if (l < cfg.numLayers - 1) snapshot(a.h);
      if (signal && T > 1) {
        ctx.submit();
        await ctx.device.queue.onSubmittedWorkDone();
        if (signal.aborted) {
          captured.forEach((b) => b.destroy());
          throwIfAborted(signal);
        }
      }
    }
    rmsnorm(ctx, { x: a.h, w: w.finalNorm, y: a.x, rows: T, cols: H, eps: cfg.rmsNormEps });
    snapshot(a.x);
    ctx.copy(a.x, (T - 1) * H * 4, a.last, 0, H * 4);
    vocabMatmul(ctx, { x: a.last, m: w.lmHead, y: a.logits, tokens: 1, scratch: a.logitBlock });
    this.kv.length += T;
    // Decode (T = 1) leaves its work recorded: the sampler's readback submits it with the
    // sampling kernels, one submit per token. Prefill chunks are submitted here.
    if (T > 1 || capture) ctx.submit();
    if (!capture) return undefined;
    const out = await Promise.all(captured.map((b) => ctx.readF32(b, 0, T * H)));
    captured.forEach((b) => b.destroy());
    return out;
  }

  /** h += o(attention(rope(q(x)), rope(k(x)), v(x))) with x = norm(h); writes K/V to the cache. */
  private attentionBlock(l: number, layer: LayerWeights, T: number, start: number): void {
    const { ctx, cfg, a } = this;
    const D = cfg.headDim, kvRow = cfg.numKvHeads * D * 4;
    rmsnorm(ctx, { x: a.h, w: layer.inputNorm, y: a.x, rows: T, cols: cfg.hiddenSize, eps: cfg.rmsNormEps });
    matmul(ctx, { x: a.x, w: layer.q, y: a.q, tokens: T });
    matmul(ctx, { x: a.x, w: layer.k, y: a.k, tokens: T });
    matmul(ctx, { x: a.x, w: layer.v, y: a.v, tokens: T });
    rope(ctx, { x: a.q, cosSin: a.cosSin, T, heads: cfg.numHeads, headDim: D });
    rope(ctx, { x: a.k, cosSin: a.cosSin, T, heads: cfg.numKvHeads, headDim: D });
    ctx.copy(a.k, 0, this.kv.keys[l], start * kvRow, T * kvRow);
    ctx.copy(a.v, 0, this.kv.values[l], start * kvRow, T * kvRow);
    attention(ctx, { q: a.q, kCache: this.kv.keys[l], vCache: this.kv.values[l], out: a.att, T, start, heads: cfg.numHeads, kvHeads: cfg.numKvHeads, headDim: D });
    matmul(ctx, { x: a.att, w: layer.o, y: a.h, tokens: T, accumulate: true });
  }

  /** out += down(silu(gate(x)) * up(x)) */
  private ffn(f: FfnWeights, x: GPUBuffer, T: number, out: GPUBuffer): void {
    const { ctx, a } = this;
    matmul(ctx, { x, w: f.gateUp, y: a.gateUp, tokens: T });
    siluMul(ctx, { gu: a.gateUp, out: a.act, rows: T, inter: f.gateUp.rows / 2 });
    matmul(ctx, { x: a.act, w: f.down, y: out, tokens: T, accumulate: true });
  }

  /**
   * h += shared(x) + sum over the top-k experts of weight * expert(x), for the first T rows of x
   * and h. Routed experts are read through the expert cache's slot table (w.experts), from the
   * expert set `m.expertSet` (the VL model's vision experts are set 1: same cache, same
   * scheduler); the scheduler yields one wave when the chosen experts are (or can all be made)
   * resident and several when a prefill chunk needs more than the cache holds. While streaming a
   * decode step, the next MoE layer's router is applied to this layer's hidden state as a guess
   * of its experts (read back with this layer's ids).
   */
  private async moeBlock(l: number, m: MoeWeights, x: GPUBuffer, h: GPUBuffer, T: number): Promise<void> {
    const { ctx, cfg, w, a } = this;
    const { numExperts: E, topK: k, normMin } = cfg.moe!;
    const assignments = T * k;
    const maxGroups = Math.min(E, assignments);
    const experts = w.experts!, set = m.expertSet ?? 0;
    const inter = experts.source.format(l, set).down.cols;
    matmul(ctx, { x, w: m.router, y: a.routerLogits, tokens: T });
    moeRoute(ctx, { logits: a.routerLogits, bias: m.routerBias, ids: a.expertIds, weights: a.expertWeights, T, experts: E, k, normMin });
    const run = (wave: MoeWave) => {
      moeGroup(ctx, { ids: a.expertIds, slotTable: wave.slotTable, tableOffset: wave.tableOffset, groups: a.groups, order: a.order, assignments, experts: E });
      // one dispatch per slot buffer that holds some of this wave's experts
      for (const s of wave.gateUp) moeMatmul(ctx, { x, w: s, groups: a.groups, order: a.order, y: a.expertGateUp, experts: E, k, perToken: true, maxGroups, tokens: T });
      siluMul(ctx, { gu: a.expertGateUp, out: a.expertAct, rows: assignments, inter });
      for (const s of wave.down) moeMatmul(ctx, { x: a.expertAct, w: s, groups: a.groups, order: a.order, y: a.expertOut, experts: E, k, perToken: false, maxGroups, tokens: T });
    };
    // the guess needs this layer's h as the whole residual stream (not a hook's packed rows)
    const next = h === a.h && set === 0 ? experts.predictionFor(l, T) : null;
    if (next !== null) {
      const nm = w.layers[next].moe!;
      rmsnorm(ctx, { x: a.h, w: w.layers[next].postNorm, y: a.nextX, rows: 1, cols: cfg.hiddenSize, eps: cfg.rmsNormEps });
      matmul(ctx, { x: a.nextX, w: nm.router, y: a.nextLogits, tokens: 1 });
      moeRoute(ctx, { logits: a.nextLogits, bias: nm.routerBias, ids: a.nextIds, weights: a.nextWeights, T: 1, experts: E, k, normMin });
    }
    for await (const wave of experts.waves(l, { ids: a.expertIds, T, set, predicted: next !== null ? a.nextIds : undefined })) run(wave);
    if (m.shared) this.ffn(m.shared, x, T, h);
    moeCombine(ctx, { y: a.expertOut, weights: a.expertWeights, h, T, hidden: cfg.hiddenSize, k });
  }

  /** logits[0..rows) = lm_head(norm(h)) for chunk rows r0..r0+rows (a.x holds the normed chunk). */
  private lmHead(r0: number, rows: number): void {
    const H = this.cfg.hiddenSize;
    this.ctx.copy(this.a.x, r0 * H * 4, this.a.headIn, 0, rows * H * 4);
    vocabMatmul(this.ctx, { x: this.a.headIn, m: this.w.lmHead, y: this.a.logits, tokens: rows, scratch: this.a.logitBlock });
    this.ctx.submit();
  }

  /** Drop cached positions >= length (their K/V stay in memory and are overwritten later). */
  truncate(length: number): void {
    this.kv.length = Math.max(0, Math.min(length, this.kv.length));
  }
}

function appendRows(into: Float32Array[], chunk: Float32Array[]): void {
  chunk.forEach((c, i) => {
    const prev = into[i];
    if (!prev) into[i] = c;
    else {
      const joined = new Float32Array(prev.length + c.length);
      joined.set(prev);
      joined.set(c, prev.length);
      into[i] = joined;
    }
  });
}
