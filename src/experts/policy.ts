// Eviction policies of the expert caches, shared by the GPU cache (gpu_cache.ts) and the trace
// simulator (bench/cache.ts), so the policy a benchmark ranks is the one the engine runs.
//
// Keys are global expert indices: key = layer * experts + expert, layer counted over MoE layers
// only. The clock `now` advances by one per (token, MoE layer) visit, so a decode step over n
// MoE layers moves it by n.

export type PolicyName = 'lru' | 'lfu' | 'layered';

export const POLICY_NAMES: readonly PolicyName[] = ['lru', 'lfu', 'layered'];

export interface EvictionPolicy {
  readonly name: PolicyName;
  /** `key` was used (hit or freshly loaded) while layer `layer` ran, at time `now`. */
  touch(key: number, now: number): void;
  /** `key` left the cache. */
  forget(key: number): void;
  /**
   * The key to evict among `candidates` (resident, not in use by the current step), when the
   * cache is about to serve MoE layer `layer` at time `now`.
   */
  victim(candidates: readonly number[], layer: number, now: number): number;
}

interface Geometry {
  /** MoE layers */
  layers: number;
  experts: number;
}

/** Least recently used: the baseline of llama.cpp's MoE-cache forks. */
export class LruPolicy implements EvictionPolicy {
  readonly name = 'lru';
  private readonly last: Float64Array;
  constructor(g: Geometry) {
    this.last = new Float64Array(g.layers * g.experts).fill(-1);
  }
  touch(key: number, now: number): void {
    this.last[key] = now;
  }
  forget(key: number): void {
    this.last[key] = -1;
  }
  victim(candidates: readonly number[]): number {
    let best = candidates[0]!;
    for (const c of candidates) if (this.last[c]! < this.last[best]!) best = c;
    return best;
  }
}

/**
 * Frequency with exponential decay: each use adds 1 to a score that halves every `halfLife`
 * clock ticks (default 8 tokens' worth). Scores are kept lazily (value, time of last update),
 * and are remembered after eviction, so an expert that comes back keeps its history.
 */
export class LfuDecayPolicy implements EvictionPolicy {
  readonly name: PolicyName = 'lfu';
  protected readonly score: Float64Array;
  protected readonly at: Float64Array;
  protected readonly lambda: number;
  constructor(protected readonly g: Geometry, halfLifeTokens = 8) {
    this.score = new Float64Array(g.layers * g.experts);
    this.at = new Float64Array(g.layers * g.experts);
    this.lambda = Math.LN2 / (halfLifeTokens * g.layers);
  }
  protected value(key: number, now: number): number {
    return this.score[key]! * Math.exp(-this.lambda * (now - this.at[key]!));
  }
  touch(key: number, now: number): void {
    this.score[key] = this.value(key, now) + 1;
    this.at[key] = now;
  }
  forget(): void {}
  victim(candidates: readonly number[], _layer: number, now: number): number {
    let best = candidates[0]!, bestV = Infinity;
    for (const c of candidates) {
      const v = this.value(c, now);
      if (v < bestV) (bestV = v), (best = c);
    }
    return best;
  }
}

/**
 * Layer-aware frequency ("layered", this project's default). Decode visits the MoE layers in
 * order, so an expert of layer j is next needed (j - current) mod n layer visits from now: the
 * layer just run is the farthest away, the next layer the nearest. Each candidate's decayed
 * frequency (the chance it is used again, as in LfuDecayPolicy) is divided by that distance, and
 * the lowest expected use per unit of waiting time is evicted: Belady's rule with frequency as
 * the forecast. Plain LRU does the opposite on this cyclic order: its oldest entries are the
 * next layers' experts.
 */
export class LayeredPolicy extends LfuDecayPolicy {
  override readonly name: PolicyName = 'layered';
  override victim(candidates: readonly number[], layer: number, now: number): number {
    const n = this.g.layers, E = this.g.experts;
    let best = candidates[0]!, bestV = Infinity;
    for (const c of candidates) {
      const j = Math.floor(c / E);
      const distance = ((j - layer + n) % n) || n; // the current layer's others: next token
      const v = (this.value(c, now) + 1e-9) / distance;
      if (v < bestV) (bestV = v), (best = c);
    }
    return best;
  }
}

export function makePolicy(name: PolicyName, g: Geometry): EvictionPolicy {
  if (name === 'lru') return new LruPolicy(g);
  if (name === 'lfu') return new LfuDecayPolicy(g);
  return new LayeredPolicy(g);
}
