// The GPU expert cache: routed experts live in slots of a few large buffers (each within one
// storage binding); a slot table [rows, experts] u32 on the GPU maps expert -> slot (or
// NO_SLOT), and the grouped expert matmuls read weights through it. A row is one expert set of
// one MoE layer (text models: a row per MoE layer; ERNIE-4.5-VL: text and vision rows, the
// vision experts in a pool of their own format). "All resident" is this
// cache with a budget that holds every expert. Misses are filled from the RAM tier with
// queue.writeBuffer into free or evicted slots; experts the current step uses are pinned.
import { BudgetError, ErnieError, GpuError } from '../errors.js';
import type { GpuContext } from '../gpu/context.js';
import { type ExpertSlots, expertSlotBytes, NO_SLOT } from '../kernels/moe.js';
import { type EvictionPolicy, makePolicy, type PolicyName } from './policy.js';
import type { RamExpertCache } from './ram_cache.js';
import { type ExpertBytes, type ExpertFormat, type ExpertMatrixFormat, type ExpertSource, expertBytes, formatKey, setsOf } from './source.js';
import type { ExpertStats } from './stats.js';

/** Label prefix of every slot buffer (tests count allocations by it). */
export const SLOT_BUFFER_LABEL = 'expert slots';

/** Slots of one expert format, over as few buffers as the binding limit allows. */
class SlotPool {
  readonly gateUp: ExpertSlots[] = [];
  readonly down: ExpertSlots[] = [];
  /** key (row * experts + expert) held by each slot, or -1 */
  readonly owner: Int32Array;
  readonly free: number[];
  private readonly guPer: number;
  private readonly downPer: number;

  constructor(ctx: GpuContext, readonly format: ExpertFormat, readonly slots: number, maxBinding: number) {
    this.guPer = perBuffer(format.gateUp, maxBinding);
    this.downPer = perBuffer(format.down, maxBinding);
    for (const [list, f, per, kind] of [[this.gateUp, format.gateUp, this.guPer, 'gate_up'], [this.down, format.down, this.downPer, 'down']] as const) {
      const stride = expertSlotBytes(f.dtype, f.rows, f.cols);
      for (let s = 0; s < slots; s += per) {
        const n = Math.min(per, slots - s);
        const buffer = ctx.createBuffer(`${SLOT_BUFFER_LABEL} ${kind} ${formatKey(format)} ${s}..${s + n}`, n * stride);
        list.push({ buffer, dtype: f.dtype, N: f.rows, K: f.cols, slotStart: s, slots: n });
      }
    }
    this.owner = new Int32Array(slots).fill(-1);
    this.free = Array.from({ length: slots }, (_, i) => slots - 1 - i);
  }

  /** Bytes createBuffer allocates for `slots` slots of `format` (buffers round up to 16 bytes). */
  static allocatedBytes(format: ExpertFormat, slots: number, maxBinding: number): number {
    let total = 0;
    for (const f of [format.gateUp, format.down]) {
      const stride = expertSlotBytes(f.dtype, f.rows, f.cols), per = perBuffer(f, maxBinding);
      for (let s = 0; s < slots; s += per) total += Math.max(16, Math.ceil((Math.min(per, slots - s) * stride) / 16) * 16);
    }
    return total;
  }

  write(ctx: GpuContext, slot: number, b: ExpertBytes): void {
    const gu = this.gateUp[Math.floor(slot / this.guPer)]!, dn = this.down[Math.floor(slot / this.downPer)]!;
    const guStride = expertSlotBytes(gu.dtype, gu.N, gu.K), dnStride = expertSlotBytes(dn.dtype, dn.N, dn.K);
    if (b.gateUp.byteLength > guStride || b.down.byteLength > dnStride) {
      throw new ErnieError('BAD_FILE', `expert bytes (${b.gateUp.byteLength} + ${b.down.byteLength}) do not match the format ${formatKey(this.format)}`);
    }
    ctx.write(gu.buffer, b.gateUp, (slot - gu.slotStart) * guStride);
    ctx.write(dn.buffer, b.down, (slot - dn.slotStart) * dnStride);
  }

  /** The gate_up and down buffers holding any of `slots`. */
  buffersOf(slots: Iterable<number>): { gateUp: ExpertSlots[]; down: ExpertSlots[] } {
    const gu = new Set<number>(), dn = new Set<number>();
    for (const s of slots) {
      gu.add(Math.floor(s / this.guPer));
      dn.add(Math.floor(s / this.downPer));
    }
    return { gateUp: [...gu].sort((a, b) => a - b).map((i) => this.gateUp[i]!), down: [...dn].sort((a, b) => a - b).map((i) => this.down[i]!) };
  }

  destroy(): void {
    for (const s of [...this.gateUp, ...this.down]) s.buffer.destroy();
  }
}

function perBuffer(f: ExpertMatrixFormat, maxBinding: number): number {
  const stride = expertSlotBytes(f.dtype, f.rows, f.cols);
  const per = Math.floor(maxBinding / stride);
  if (per < 1) throw new GpuError('GPU_LIMIT', `one expert matrix (${f.dtype} [${f.rows}, ${f.cols}], ${stride} bytes) exceeds the storage binding limit of ${maxBinding} bytes`);
  return per;
}

export class GpuExpertCache {
  /** [rows, experts] u32: expert -> slot, NO_SLOT when not resident; row = MoE layer index * sets + set */
  readonly table: GPUBuffer;
  readonly experts: number;
  /** expert sets per MoE layer */
  readonly sets: number;
  /** rows of the table: MoE layers x sets */
  readonly rows: number;
  private readonly cpuTable: Uint32Array;
  private readonly rowOf = new Map<number, number>();
  private readonly pools: SlotPool[] = [];
  private readonly poolOfRow: SlotPool[] = [];
  private readonly resident: Int32Array;
  private readonly policy: EvictionPolicy;
  /** keys uploaded by prefetch and not used since */
  private readonly prefetched = new Set<number>();
  /** one tick per MoE layer visit (the policies' clock) */
  private clock = 0;

  constructor(
    private readonly ctx: GpuContext,
    private readonly source: ExpertSource,
    private readonly ram: RamExpertCache,
    private readonly stats: ExpertStats,
    opts: { gpuBytes: number; policy?: PolicyName; maxBindingBytes?: number },
  ) {
    const E = (this.experts = source.experts);
    const layers = source.layers, sets = (this.sets = setsOf(source));
    const rows = (this.rows = layers.length * sets);
    layers.forEach((l, i) => this.rowOf.set(l, i * sets));
    const maxBinding = Math.min(opts.maxBindingBytes ?? Infinity, ctx.limits.maxStorageBufferBindingSize, ctx.limits.maxBufferSize);
    // one pool per expert format; the budget split by each format's share of all expert bytes
    const groups = new Map<string, { format: ExpertFormat; rows: number[] }>();
    for (let row = 0; row < rows; row++) {
      const f = source.format(this.layerOf(row), this.setOf(row)), k = formatKey(f);
      const g = groups.get(k) ?? { format: f, rows: [] };
      g.rows.push(row);
      groups.set(k, g);
    }
    const total = [...groups.values()].reduce((s, g) => s + g.rows.length * E * expertBytes(g.format), 0);
    let allocated = 0;
    for (const g of groups.values()) {
      const share = (opts.gpuBytes * g.rows.length * E * expertBytes(g.format)) / total;
      const all = g.rows.length * E;
      let slots = Math.min(all, Math.floor(share / expertBytes(g.format)));
      // buffers round up to 16 bytes: a smaller budget loses a slot to that, one that holds
      // every expert's bytes keeps them all (and may pass the budget by those few bytes)
      if (slots < all) while (slots > 0 && SlotPool.allocatedBytes(g.format, slots, maxBinding) > share) slots--;
      if (slots < source.topK) {
        const need = SlotPool.allocatedBytes(g.format, source.topK, maxBinding) * (total / (g.rows.length * E * expertBytes(g.format)));
        throw new BudgetError(
          `expertCache: a GPU budget of ${opts.gpuBytes} bytes holds ${slots} expert(s) of ${formatKey(g.format)} (${expertBytes(g.format)} bytes each), fewer than one layer's top-${source.topK}; give at least ${Math.ceil(need)} bytes`,
          Math.ceil(need),
        );
      }
      const pool = new SlotPool(ctx, g.format, slots, maxBinding);
      this.pools.push(pool);
      for (const row of g.rows) this.poolOfRow[row] = pool;
      allocated += SlotPool.allocatedBytes(g.format, slots, maxBinding);
    }
    this.cpuTable = new Uint32Array(rows * E).fill(NO_SLOT);
    this.table = ctx.upload('expert slot table', this.cpuTable);
    this.resident = new Int32Array(rows);
    this.policy = makePolicy(opts.policy ?? 'layered', { layers: rows, experts: E });
    const slotBytes = expertBytes(this.pools[0]!.format);
    Object.assign(stats.gpu, { slots: this.pools.reduce((s, p) => s + p.slots, 0), slotBytes, allocatedBytes: allocated, budgetBytes: Math.max(opts.gpuBytes, this.holdsAll ? allocated : 0) });
  }

  /** The slot-table row of expert set `set` (default 0: text) of model layer `layer`. */
  row(layer: number, set = 0): number {
    const r = this.rowOf.get(layer);
    if (r === undefined) throw new Error(`layer ${layer} has no routed experts`);
    if (!(set >= 0 && set < this.sets)) throw new Error(`layer ${layer} has no expert set ${set}`);
    return r + set;
  }

  /** The model layer of a row. */
  layerOf(row: number): number {
    return this.source.layers[Math.floor(row / this.sets)]!;
  }

  /** The expert set of a row. */
  setOf(row: number): number {
    return row % this.sets;
  }

  /** The source's number of expert `expert` of a row's set (numbered across the layer's sets). */
  sourceExpert(row: number, expert: number): number {
    return this.setOf(row) * this.experts + expert;
  }

  /** Element offset of a row in `table` (moeGroup's tableOffset). */
  tableOffset(row: number): number {
    return row * this.experts;
  }

  /** Experts a row's pool can hold at once. */
  capacity(row: number): number {
    return this.poolOfRow[row]!.slots;
  }

  allResident(row: number): boolean {
    return this.resident[row] === this.experts;
  }

  isResident(row: number, expert: number): boolean {
    return this.cpuTable[row * this.experts + expert] !== NO_SLOT;
  }

  /** True when every expert of every layer fits (then load() fills the cache once and no step streams). */
  get holdsAll(): boolean {
    return this.pools.every((p) => p.slots === this.poolRows(p) * this.experts);
  }

  private poolRows(p: SlotPool): number {
    return this.poolOfRow.filter((q) => q === p).length;
  }

  /** Every expert of every layer, in order (for a budget that holds them all). */
  async loadAll(signal?: AbortSignal, onExpert?: (bytes: number) => void): Promise<void> {
    for (let row = 0; row < this.rows; row++) {
      const experts = Array.from({ length: this.experts }, (_, e) => e);
      await this.ensure(row, experts, { signal, onExpert, countUse: false });
    }
  }

  /**
   * Make `experts` (distinct, at most capacity(row)) of a row resident, for the step about to
   * run layer `row`: misses are read (through the RAM tier) all before any slot changes, so a
   * failed read leaves the cache as it was; then written into free slots or into slots the
   * policy evicts, never one of `experts` themselves. Pending GPU work is submitted first, so
   * dispatches already recorded read the slots' old contents.
   */
  async ensure(row: number, experts: readonly number[], o: { signal?: AbortSignal; onExpert?: (bytes: number) => void; countUse?: boolean } = {}): Promise<void> {
    const pool = this.poolOfRow[row]!, E = this.experts, layer = this.layerOf(row);
    if (experts.length > pool.slots) throw new Error(`ensure: ${experts.length} experts exceed the ${pool.slots} slots (plan waves)`);
    const now = this.clock++;
    const missing = experts.filter((e) => !this.isResident(row, e));
    if (o.countUse !== false) {
      this.stats.gpu.hits += experts.length - missing.length;
      this.stats.gpu.misses += missing.length;
    }
    this.policy.visit?.(row, experts.map((e) => row * E + e), now);
    for (const e of experts) {
      if (!this.isResident(row, e)) continue;
      this.policy.touch(row * E + e, now);
      // a prefetched expert used: the upload was worth it
      if (o.countUse !== false && this.prefetched.delete(row * E + e)) this.stats.prefetch.used++;
    }
    if (missing.length === 0) return;
    const bytes = await Promise.all(missing.map((e) => this.ram.get(layer, this.sourceExpert(row, e), o.signal)));
    this.ctx.submit();
    const pinned = new Set(experts.map((e) => row * E + e));
    const dirty = new Set<number>([row]);
    missing.forEach((e, i) => {
      const n = this.place(pool, row, e, bytes[i]!, pinned, now, dirty);
      this.stats.gpu.demandBytesUploaded += n;
      o.onExpert?.(n);
    });
    for (const r of dirty) this.ctx.write(this.table, this.cpuTable.subarray(r * E, (r + 1) * E), r * E * 4);
  }

  /**
   * Prefetch: upload the guessed `experts` of `row` whose bytes were read (null: the read
   * failed, skipped) into free slots or slots the policy evicts, never one of `experts`. Pending
   * GPU work is submitted first, so every dispatch recorded so far (this step's earlier layers
   * included) reads the slots as they were. Returns the experts uploaded.
   */
  prefetch(row: number, experts: readonly number[], bytes: readonly (ExpertBytes | null)[]): number {
    const pool = this.poolOfRow[row]!, E = this.experts;
    const todo = experts.map((e, i) => [e, bytes[i]] as const).filter(([e, b]) => b && !this.isResident(row, e));
    // a guess never takes more than the row's pool: the slots of its own guesses stay pinned
    if (todo.length === 0 || todo.length > pool.slots) return 0;
    this.ctx.submit();
    const pinned = new Set(experts.map((e) => row * E + e));
    const dirty = new Set<number>([row]);
    const now = this.clock;
    for (const [e, b] of todo) {
      const n = this.place(pool, row, e, b!, pinned, now, dirty);
      this.prefetched.add(row * E + e);
      this.stats.prefetch.uploaded++;
      this.stats.prefetch.bytesUploaded += n;
    }
    for (const r of dirty) this.ctx.write(this.table, this.cpuTable.subarray(r * E, (r + 1) * E), r * E * 4);
    return todo.length;
  }

  /** Writes one expert into a free or evicted slot of `pool`; returns its bytes. */
  private place(pool: SlotPool, row: number, e: number, b: ExpertBytes, pinned: Set<number>, now: number, dirty: Set<number>): number {
    const slot = pool.free.pop() ?? this.evict(pool, pinned, row, now, dirty);
    const key = row * this.experts + e;
    pool.write(this.ctx, slot, b);
    pool.owner[slot] = key;
    this.cpuTable[key] = slot;
    this.resident[row]!++;
    this.policy.touch(key, now);
    const n = b.gateUp.byteLength + b.down.byteLength;
    this.stats.gpu.bytesUploaded += n;
    return n;
  }

  private evict(pool: SlotPool, pinned: Set<number>, row: number, now: number, dirty: Set<number>): number {
    const candidates: number[] = [];
    for (const key of pool.owner) if (key >= 0 && !pinned.has(key)) candidates.push(key);
    if (candidates.length === 0) throw new Error('evict: every slot is in use by this step');
    const key = this.policy.victim(candidates, row, now);
    const slot = this.cpuTable[key]!;
    this.cpuTable[key] = NO_SLOT;
    pool.owner[slot] = -1;
    const r = Math.floor(key / this.experts);
    this.resident[r]!--;
    dirty.add(r);
    this.policy.forget(key);
    this.prefetched.delete(key);
    this.stats.gpu.evictions++;
    return slot;
  }

  /** The slot buffers a step on `row` must dispatch over: those holding `experts`, or all the row's residents. */
  buffers(row: number, experts?: readonly number[]): { gateUp: ExpertSlots[]; down: ExpertSlots[] } {
    const E = this.experts;
    const list = experts ?? Array.from({ length: E }, (_, e) => e);
    const slots = list.map((e) => this.cpuTable[row * E + e]!).filter((s) => s !== NO_SLOT);
    return this.poolOfRow[row]!.buffersOf(slots);
  }

  /** Slots per buffer, gate_up and down, over every pool (for tests and stats). */
  layout(): { gateUp: number[]; down: number[] } {
    return { gateUp: this.pools.flatMap((p) => p.gateUp.map((s) => s.slots)), down: this.pools.flatMap((p) => p.down.map((s) => s.slots)) };
  }

  destroy(): void {
    this.pools.forEach((p) => p.destroy());
    this.table.destroy();
  }
}
