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
  /** MoE layer `layer` starts a visit that uses `chosen` (keys), before any miss is filled. */
  visit?(layer: number, chosen: readonly number[], now: number): void;
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
 * Layer-aware reuse forecast ("layered", this project's default). Decode visits the MoE layers
 * in order, so an expert of layer j is next needed (j - current) mod n layer visits from now:
 * the layer just run is the farthest away, the next layer the nearest (plain LRU gets this
 * backwards: among experts last used one token ago, its oldest are the next layers'). Each
 * candidate's chance of being used at its layer's next visit is forecast from two learned
 * rates: r, how often an expert chosen at one visit is chosen again at the next (reuse between
 * neighbouring tokens, measured online), and its long-run share of its layer's choices (a decayed
 * frequency, half-life 16 tokens). Experts chosen at their layer's last visit score
 * r + (1 - r) * share, others share; the expected time to the next use is then the distance to
 * the layer's next visit plus n (1 - p) / p (a geometric wait over later visits), and the
 * expert expected last is evicted: Belady's rule with a forecast in place of the future.
 */
export class LayeredPolicy extends LfuDecayPolicy {
  override readonly name: PolicyName = 'layered';
  /** per layer: the keys chosen at its latest visit */
  private readonly chosen: Set<number>[];
  private reuseHits = 1;
  private reuseTotal = 2;
  constructor(g: Geometry) {
    super(g, 16);
    this.chosen = Array.from({ length: g.layers }, () => new Set());
  }
  visit(layer: number, chosen: readonly number[], _now?: number): void {
    const prev = this.chosen[layer]!;
    if (prev.size > 0) {
      for (const c of chosen) if (prev.has(c)) this.reuseHits++;
      this.reuseTotal += chosen.length;
    }
    this.chosen[layer] = new Set(chosen);
  }
  override victim(candidates: readonly number[], layer: number, now: number): number {
    const n = this.g.layers, E = this.g.experts;
    const r = this.reuseHits / this.reuseTotal;
    // share of a layer's choices: the decayed count times the decay per token is a probability
    const perToken = 1 - Math.exp(-this.lambda * n);
    let best = candidates[0]!, bestT = -Infinity;
    for (const c of candidates) {
      const j = Math.floor(c / E);
      const distance = ((j - layer + n) % n) || n;
      const share = Math.min(1, this.value(c, now) * perToken);
      const p = this.chosen[j]!.has(c) ? r + (1 - r) * share : share;
      // expected visits until the next use: the next visit of its layer, then a geometric wait
      const t = distance + (n * (1 - p)) / Math.max(p, 1e-6);
      if (t > bestT) (bestT = t), (best = c);
    }
    return best;
  }
}

export function makePolicy(name: PolicyName, g: Geometry): EvictionPolicy {
  if (name === 'lru') return new LruPolicy(g);
  if (name === 'lfu') return new LfuDecayPolicy(g);
  return new LayeredPolicy(g);
}
