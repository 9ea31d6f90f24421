// The RAM tier between the expert source (store, disk, network) and the GPU cache: verified
// expert bytes under a byte budget, least recently used out first. Concurrent reads of one
// expert share a single source read.
import type { ExpertBytes, ExpertSource } from './source.js';
import type { ExpertStats } from './stats.js';

export class RamExpertCache {
  /** key -> bytes, in order of last use (Map iteration order) */
  private readonly held = new Map<string, ExpertBytes>();
  private readonly pending = new Map<string, Promise<ExpertBytes>>();
  private used = 0;

  constructor(
    private readonly source: ExpertSource,
    readonly budgetBytes: number,
    private readonly stats: ExpertStats,
  ) {}

  get bytes(): number {
    return this.used;
  }

  has(layer: number, expert: number): boolean {
    return this.held.has(`${layer}/${expert}`);
  }

  /** The expert's bytes: from RAM, from a read already under way, or from the source. */
  async get(layer: number, expert: number, signal?: AbortSignal): Promise<ExpertBytes> {
    const key = `${layer}/${expert}`;
    const hit = this.held.get(key);
    if (hit) {
      this.held.delete(key);
      this.held.set(key, hit);
      this.stats.ram.hits++;
      return hit;
    }
    let p = this.pending.get(key);
    if (p) {
      this.stats.ram.hits++;
      return p;
    }
    this.stats.ram.misses++;
    p = this.source.read(layer, expert, signal).then((b) => {
      const n = b.gateUp.byteLength + b.down.byteLength;
      this.stats.source.reads++;
      this.stats.source.bytesRead += n;
      this.keep(key, b, n);
      return b;
    });
    this.pending.set(key, p);
    // settle the pending entry either way; a failed read is retried on the next get()
    p.then(() => this.pending.delete(key), () => this.pending.delete(key));
    return p;
  }

  /** Start reading an expert without waiting (prefetch); failures surface on the next get(). */
  warm(layer: number, expert: number): void {
    if (this.has(layer, expert) || this.pending.has(`${layer}/${expert}`)) return;
    this.get(layer, expert).catch(() => {});
  }

  private keep(key: string, b: ExpertBytes, n: number): void {
    if (n > this.budgetBytes) return;
    while (this.used + n > this.budgetBytes) {
      const [oldest, v] = this.held.entries().next().value as [string, ExpertBytes];
      this.held.delete(oldest);
      this.used -= v.gateUp.byteLength + v.down.byteLength;
    }
    this.held.set(key, b);
    this.used += n;
  }
}
