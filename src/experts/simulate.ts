// A trace simulator of the GPU expert cache (no GPU): replays routing traces through the same
// eviction policies the engine runs (policy.ts), with the engine's rules: one global pool of
// slots, a layer's chosen experts pinned while it runs, optional prefetch of the next layer's
// predicted experts after each layer (a wrong guess costs an upload, never correctness).
// `npm run bench:cache` drives it; synthetic traces come from syntheticTrace().
import { Rng } from '../sampling/rng.js';
import { type EvictionPolicy, makePolicy, type PolicyName } from './policy.js';

/** tokens[t][l] = experts token t uses in MoE layer l; predicted[t][l] = the guess made for it (or null). */
export interface RoutingTrace {
  layers: number;
  experts: number;
  topK: number;
  tokens: number[][][];
  predicted?: (number[] | null)[][];
}

export interface SimResult {
  policy: PolicyName | 'belady';
  prefetch: boolean;
  slots: number;
  /** uses served without a demand upload (prefetched experts count as hits) */
  hitRate: number;
  /** experts uploaded per token: demand misses + prefetches */
  uploadsPerToken: number;
  demandPerToken: number;
  prefetchPerToken: number;
  /** prefetched uploads later used / prefetched uploads; predicted experts used / experts used */
  prefetchPrecision: number;
  prefetchRecall: number;
  /** MoE layers per token that need their ids read back (not all resident), plus the sampled id */
  readbacksPerToken: number;
}

/**
 * Belady's offline optimum as a policy: evicts the candidate whose next use lies farthest in the
 * trace. Not implementable online (it reads the future); the bench shows it as the bound.
 */
export function beladyPolicy(trace: RoutingTrace): EvictionPolicy {
  const L = trace.layers, E = trace.experts;
  const uses: number[][] = Array.from({ length: L * E }, () => []);
  trace.tokens.forEach((tok, t) => tok.forEach((set, l) => set.forEach((e) => uses[l * E + e]!.push(t * L + l))));
  const next = (key: number, now: number) => {
    const u = uses[key]!;
    let lo = 0, hi = u.length;
    while (lo < hi) {
      const m = (lo + hi) >> 1;
      if (u[m]! <= now) lo = m + 1;
      else hi = m;
    }
    return lo < u.length ? u[lo]! : Infinity;
  };
  return {
    name: 'lru',
    touch() {},
    forget() {},
    victim(candidates, _layer, now) {
      let best = candidates[0]!, far = -1;
      for (const c of candidates) {
        const n = next(c, now);
        if (n > far) (far = n), (best = c);
      }
      return best;
    },
  };
}

export function simulate(trace: RoutingTrace, o: { slots: number; policy: PolicyName | 'belady'; prefetch: boolean; warmup?: number }): SimResult {
  const { layers: L, experts: E } = trace;
  const policy = o.policy === 'belady' ? beladyPolicy(trace) : makePolicy(o.policy, { layers: L, experts: E });
  const slotOf = new Int32Array(L * E).fill(-1);
  const owner = new Int32Array(o.slots).fill(-1);
  const free = Array.from({ length: o.slots }, (_, i) => o.slots - 1 - i);
  const residentPerLayer = new Int32Array(L);
  const prefetched = new Uint8Array(L * E);
  let clock = 0, hits = 0, uses = 0, demand = 0, pre = 0, preUsed = 0, predUsed = 0, predTotal = 0, readbacks = 0, counted = 0;
  const warm = o.warmup ?? 0;
  const insert = (key: number, pinned: Set<number>, layer: number): boolean => {
    let slot = free.pop();
    if (slot === undefined) {
      const candidates: number[] = [];
      for (const k of owner) if (k >= 0 && !pinned.has(k)) candidates.push(k);
      if (candidates.length === 0) return false;
      const v = policy.victim(candidates, layer, clock);
      slot = slotOf[v]!;
      slotOf[v] = -1;
      residentPerLayer[Math.floor(v / E)]!--;
      prefetched[v] = 0;
      policy.forget(v);
    }
    owner[slot] = key;
    slotOf[key] = slot;
    residentPerLayer[Math.floor(key / E)]!++;
    policy.touch(key, clock);
    return true;
  };
  // a budget that holds every expert loads them all first, as the engine does
  if (o.slots >= L * E) for (let key = 0; key < L * E; key++) insert(key, new Set(), 0);
  trace.tokens.forEach((tok, t) => {
    const count = t >= warm;
    if (count) counted++;
    for (let l = 0; l < L; l++) {
      const now = clock++;
      const chosen = tok[l]!;
      if (count && residentPerLayer[l] !== E) readbacks++;
      const pinned = new Set(chosen.map((e) => l * E + e));
      policy.visit?.(l, [...pinned], now);
      for (const e of chosen) {
        const key = l * E + e;
        if (count) uses++;
        if (slotOf[key] >= 0) {
          if (count) hits++;
          if (prefetched[key] === 2) preUsed++;
          prefetched[key] = 0;
          policy.touch(key, now);
        } else {
          insert(key, pinned, l);
          if (count) demand++;
        }
      }
      // prefetch the next layer's guess (same token) as the engine does: after this layer's
      // dispatches are submitted, so only the guessed experts themselves are pinned
      const guess = l + 1 < L ? (trace.predicted?.[t]?.[l + 1] ?? null) : null;
      if (guess && count) {
        const next = new Set(tok[l + 1]!);
        predTotal += next.size;
        predUsed += guess.filter((e) => next.has(e)).length;
      }
      if (o.prefetch && guess) {
        const keep = new Set(guess.map((e) => (l + 1) * E + e));
        for (const e of guess) {
          const key = (l + 1) * E + e;
          if (slotOf[key] >= 0) continue;
          if (insert(key, keep, l + 1)) {
            // 2: counted (after warm-up), so its later use counts toward precision
            prefetched[key] = count ? 2 : 1;
            if (count) pre++;
          }
        }
      }
    }
  });
  return {
    policy: o.policy,
    prefetch: o.prefetch,
    slots: o.slots,
    hitRate: uses ? hits / uses : 1,
    uploadsPerToken: (demand + pre) / Math.max(1, counted),
    demandPerToken: demand / Math.max(1, counted),
    prefetchPerToken: pre / Math.max(1, counted),
    prefetchPrecision: pre ? preUsed / pre : 0,
    prefetchRecall: predTotal ? predUsed / predTotal : 0,
    readbacksPerToken: readbacks / Math.max(1, counted) + 1,
  };
}

export interface SyntheticOptions {
  layers: number;
  experts: number;
  topK: number;
  tokens: number;
  /** Zipf exponent of each layer's expert popularity (0 = uniform) */
  skew: number;
  /** chance each of a layer's experts is kept from the previous token */
  reuse: number;
  /** chance an expert of layer l+1 follows from layer l's choice (a fixed per-layer affinity) */
  correlation: number;
  /** chance each true expert of the next layer appears in the prediction (the rest are popular guesses) */
  predictAccuracy: number;
  seed: number;
}

/**
 * Routing with skewed popularity (a random Zipf ranking per layer), reuse between neighbouring
 * tokens, and correlation between consecutive layers; predictions keep each true expert with
 * probability predictAccuracy and fill the rest with popular experts.
 */
export function syntheticTrace(o: SyntheticOptions): RoutingTrace {
  const rand = new Rng(o.seed), r = () => rand.uniform();
  const { layers: L, experts: E, topK: k } = o;
  const rank = Array.from({ length: L }, () => shuffle(Array.from({ length: E }, (_, i) => i), r));
  const weights = Array.from({ length: E }, (_, i) => 1 / Math.pow(i + 1, o.skew));
  const cum = weights.map(((s) => (w: number) => (s += w))(0));
  const total = cum[E - 1]!;
  const popular = (l: number) => rank[l]![lowerBound(cum, r() * total)]!;
  const affinity = Array.from({ length: L }, () => Array.from({ length: E }, () => Math.floor(r() * E)));
  const tokens: number[][][] = [];
  const predicted: (number[] | null)[][] = [];
  let prev: number[][] | null = null;
  for (let t = 0; t < o.tokens; t++) {
    const tok: number[][] = [];
    for (let l = 0; l < L; l++) {
      const set = new Set<number>();
      for (const e of prev?.[l] ?? []) if (set.size < k && r() < o.reuse) set.add(e);
      if (l > 0) for (const e of tok[l - 1]!) if (set.size < k && r() < o.correlation) set.add(affinity[l]![e]!);
      while (set.size < k) set.add(popular(l));
      tok.push([...set].sort((a, b) => a - b));
    }
    const pred: (number[] | null)[] = [null];
    for (let l = 1; l < L; l++) {
      const g = new Set(tok[l]!.filter(() => r() < o.predictAccuracy));
      while (g.size < k) g.add(popular(l));
      pred.push([...g].sort((a, b) => a - b));
    }
    tokens.push(tok);
    predicted.push(pred);
    prev = tok;
  }
  return { layers: L, experts: E, topK: k, tokens, predicted };
}

function shuffle<T>(a: T[], r: () => number): T[] {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

function lowerBound(a: number[], x: number): number {
  let lo = 0, hi = a.length - 1;
  while (lo < hi) {
    const m = (lo + hi) >> 1;
    if (a[m]! < x) lo = m + 1;
    else hi = m;
  }
  return lo;
}
