// The expert scheduler: per MoE layer and step, decides whether the chosen experts must be
// read back (only when some expert of the layer may be missing), makes them resident (in waves
// when a prefill chunk needs more experts than the cache holds), and hands the forward pass
// the slot buffers to dispatch over. With every expert resident it never reads anything back:
// decode keeps one readback per token, the sampled id.
import { throwIfAborted } from '../errors.js';
import type { GpuContext } from '../gpu/context.js';
import type { ExpertSlots } from '../kernels/moe.js';
import { type ExpertCacheOptions, resolveBudget } from './budget.js';
import { GpuExpertCache } from './gpu_cache.js';
import { RamExpertCache } from './ram_cache.js';
import type { ExpertBytes, ExpertSource } from './source.js';
import { emptyStats, type ExpertStats, snapshot } from './stats.js';

/** What one pass of a layer's expert matmuls reads: the slot table row and the slot buffers. */
export interface MoeWave {
  slotTable: GPUBuffer;
  tableOffset: number;
  gateUp: ExpertSlots[];
  down: ExpertSlots[];
}

export class ExpertScheduler {
  readonly cache: GpuExpertCache;
  private readonly ram: RamExpertCache;
  private readonly counters: ExpertStats = emptyStats();
  private readonly prefetch: boolean;
  /** [maxTokens * k + k] u32: a layer's ids, then the next layer's predicted ids */
  private idsReadback: GPUBuffer;
  /** predictions waiting for their layer: row -> predicted experts */
  private readonly predictions = new Map<number, Set<number>>();
  /** the next layer's guessed experts being read, to upload before that layer's readback */
  private pending: { row: number; experts: number[]; reads: Promise<(ExpertBytes | null)[]> } | null = null;
  private decoding = false;
  /**
   * When set, every decode step's chosen experts per MoE layer (and the next layer's guess) are
   * appended here; layers then read their ids back even when all resident (bench:cache
   * --record-trace).
   */
  trace: { tokens: number[][][]; predicted: (number[] | null)[][] } | null = null;

  /**
   * A scheduler over `source` with the budgets of `opts`: allocates the slot buffers (a typed
   * BUDGET_TOO_SMALL error when they cannot hold one layer's top-k) and uploads nothing yet.
   */
  constructor(
    private readonly ctx: GpuContext,
    readonly source: ExpertSource,
    opts: ExpertCacheOptions & { maxBindingBytes?: number; maxTokens?: number } = {},
  ) {
    const budget = resolveBudget(opts, source, ctx.limits);
    this.counters.ram.budgetBytes = budget.ramBytes;
    this.ram = new RamExpertCache(source, budget.ramBytes, this.counters);
    this.cache = new GpuExpertCache(ctx, source, this.ram, this.counters, { gpuBytes: budget.gpuBytes, policy: opts.policy, maxBindingBytes: opts.maxBindingBytes });
    this.prefetch = opts.prefetch ?? true;
    this.idsReadback = ctx.createBuffer('expert ids readback', ((opts.maxTokens ?? 64) + 1) * source.topK * 4);
  }

  /** Upload every expert (the "all resident" case: when the GPU budget holds them all). */
  async loadAll(signal?: AbortSignal, onExpert?: (bytes: number) => void): Promise<void> {
    await this.cache.loadAll(signal, onExpert);
  }

  get holdsAll(): boolean {
    return this.cache.holdsAll;
  }

  /** A forward step of T tokens starts (T = 1 counts as a decoded token). */
  beginStep(T: number): void {
    this.pending = null; // a guess for a layer the last step never reached
    this.decoding = T === 1;
    if (this.decoding) this.counters.tokens++;
    if (this.decoding && this.trace) {
      this.trace.tokens.push([]);
      this.trace.predicted.push([]);
    }
  }

  /**
   * The MoE layer (model index) whose experts (set 0, text) the forward pass should predict
   * while running `layer`'s set 0 in a step of T tokens, or null: decode only, with prefetch on,
   * when that layer streams.
   */
  predictionFor(layer: number, T: number): number | null {
    if (!this.prefetch || T !== 1) return null;
    const row = this.cache.row(layer);
    const next = this.source.layers[this.source.layers.indexOf(layer) + 1];
    if (next === undefined) return null;
    if (this.trace) return next;
    return this.cache.allResident(row) || this.cache.allResident(this.cache.row(next)) ? null : next;
  }

  /**
   * The passes layer `layer` runs the expert matmuls of its expert set `a.set` (default 0) in.
   * All resident: one pass, no readback.
   * Otherwise the chosen ids (and `predicted`, the next layer's guess) come back in one
   * readback, the chosen experts are made resident (in waves of at most the cache's capacity),
   * and each wave is yielded after its uploads; the caller records that wave's group + matmuls.
   */
  async *waves(layer: number, a: { ids: GPUBuffer; T: number; set?: number; predicted?: GPUBuffer; signal?: AbortSignal }): AsyncGenerator<MoeWave> {
    const { cache, ctx } = this;
    const row = cache.row(layer, a.set), k = this.source.topK, n = a.T * k;
    const wave = (experts?: number[]): MoeWave => ({ slotTable: cache.table, tableOffset: cache.tableOffset(row), ...cache.buffers(row, experts) });
    if (cache.allResident(row) && !(this.trace && this.decoding)) {
      this.predictions.delete(row);
      if (this.pending?.row === row) this.pending = null;
      yield wave();
      return;
    }
    await this.land(row);
    const t0 = performance.now();
    if (this.idsReadback.size < (n + k) * 4) {
      // a forward pass with more tokens per step than the scheduler was sized for
      this.idsReadback.destroy();
      this.idsReadback = ctx.createBuffer('expert ids readback', (n + k) * 4);
    }
    ctx.copy(a.ids, 0, this.idsReadback, 0, n * 4);
    if (a.predicted) ctx.copy(a.predicted, 0, this.idsReadback, n * 4, k * 4);
    const got = await ctx.readU32(this.idsReadback, 0, n + (a.predicted ? k : 0));
    this.counters.readbacks++;
    if (this.decoding) this.counters.decodeReadbacks++;
    const chosen = [...new Set(got.subarray(0, n))].sort((x, y) => x - y);
    if (this.trace && this.decoding) {
      this.trace.tokens.at(-1)!.push(chosen);
      this.trace.predicted.at(-1)!.push(a.predicted ? [...got.subarray(n, n + k)] : null);
    }
    this.scorePrediction(row, chosen);
    if (a.predicted) this.predict(row + cache.sets, got.subarray(n, n + k));
    // resident experts first, so the first wave holds the hits and misses share the rest
    const ordered = [...chosen.filter((e) => cache.isResident(row, e)), ...chosen.filter((e) => !cache.isResident(row, e))];
    const cap = cache.capacity(row);
    if (ordered.length > cap) this.counters.waves++;
    for (let i = 0; i < ordered.length; i += cap) {
      throwIfAborted(a.signal);
      const part = ordered.slice(i, i + cap);
      const w0 = i === 0 ? t0 : performance.now();
      await cache.ensure(row, part, { signal: a.signal });
      this.addWait(performance.now() - w0);
      yield wave(part);
    }
  }

  private addWait(ms: number): void {
    this.counters.waitMs += ms;
    if (this.decoding) this.counters.decodeWaitMs += ms;
  }

  private predict(row: number, ids: Uint32Array): void {
    if (row >= this.cache.rows) return;
    const layer = this.cache.layerOf(row);
    const set = new Set([...ids].filter((e) => e < this.source.experts));
    this.predictions.set(row, set);
    this.counters.prefetch.predicted += set.size;
    // start reading the guessed experts now (while this layer's experts compute); they are
    // uploaded before the next layer's readback. A failed read is only a lost guess: the
    // demand read, if the layer does choose that expert, raises the typed error.
    const experts = [...set].filter((e) => !this.cache.isResident(row, e));
    if (experts.length === 0) return;
    this.pending = { row, experts, reads: Promise.all(experts.map((e) => this.ram.get(layer, this.cache.sourceExpert(row, e)).catch(() => null))) };
  }

  /**
   * Uploads the guessed experts of `row` read since the previous layer's readback: submits the
   * work recorded so far (the GPU computes it while the reads finish), waits for the reads,
   * writes the bytes into free or evicted slots (never a guessed expert's), all before this
   * layer's ids are read back.
   */
  private async land(row: number): Promise<void> {
    const p = this.pending;
    this.pending = null;
    if (!p || p.row !== row) return;
    this.ctx.submit();
    const t0 = performance.now();
    const bytes = await p.reads;
    const ms = performance.now() - t0;
    this.counters.prefetch.waitMs += ms;
    this.addWait(ms);
    this.cache.prefetch(row, p.experts, bytes);
  }

  private scorePrediction(row: number, chosen: number[]): void {
    const p = this.predictions.get(row);
    if (!p) return;
    this.predictions.delete(row);
    this.counters.prefetch.actual += chosen.length;
    this.counters.prefetch.correct += chosen.filter((e) => p.has(e)).length;
  }

  stats(): ExpertStats {
    return snapshot(this.counters);
  }

  destroy(): void {
    this.cache.destroy();
    this.idsReadback.destroy();
  }
}
