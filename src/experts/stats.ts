// Counters of the expert caches and the scheduler; engine.stats() reports a copy.

export interface ExpertStats {
  gpu: {
    /** expert uses served by a resident slot */
    hits: number;
    /** expert uses that needed an upload first */
    misses: number;
    evictions: number;
    /** every byte written into slots: demand misses (on the critical path) plus prefetches */
    bytesUploaded: number;
    /** bytes uploaded because a layer about to run needed them (the step waited for these) */
    demandBytesUploaded: number;
    /** slots in the cache, bytes per slot, bytes of slot buffers allocated, the budget */
    slots: number;
    slotBytes: number;
    allocatedBytes: number;
    budgetBytes: number;
  };
  ram: { hits: number; misses: number; budgetBytes: number };
  source: { reads: number; bytesRead: number };
  prefetch: {
    /** experts predicted for the next MoE layer */
    predicted: number;
    /** of those, the ones the next layer used */
    correct: number;
    /** experts used by layers that had a prediction */
    actual: number;
    /** correct / predicted, correct / actual (0 when nothing was predicted) */
    precision: number;
    recall: number;
    /** guessed experts that were not resident and were uploaded ahead of their layer */
    uploaded: number;
    bytesUploaded: number;
    /** of those uploads, the ones their layer then used (a wrong guess costs bandwidth only) */
    used: number;
    /** used / uploaded (0 when nothing was uploaded) */
    uploadPrecision: number;
    /** ms the scheduler waited for prefetch reads to land (the GPU computed meanwhile) */
    waitMs: number;
  };
  /** decode tokens (steps of one token) and the scheduler's readbacks of expert ids over them */
  tokens: number;
  readbacks: number;
  /** readbacks during decode steps, and ms blocked in the scheduler during decode steps */
  decodeReadbacks: number;
  decodeWaitMs: number;
  /** readbacks during decode steps / tokens (the sampled id's readback not included) */
  readbacksPerToken: number;
  /**
   * Milliseconds per decoded token the CPU was blocked in the scheduler: expert-id readbacks
   * (a readback also waits for the GPU work queued before it) and expert reads. 0 when every
   * expert is resident.
   */
  waitMsPerToken: number;
  /** totals over every step (prefill included) */
  waitMs: number;
  /** prefill layers whose chunk needed more experts than the cache holds, run in waves */
  waves: number;
}

export function emptyStats(): ExpertStats {
  return {
    gpu: { hits: 0, misses: 0, evictions: 0, bytesUploaded: 0, demandBytesUploaded: 0, slots: 0, slotBytes: 0, allocatedBytes: 0, budgetBytes: 0 },
    ram: { hits: 0, misses: 0, budgetBytes: 0 },
    source: { reads: 0, bytesRead: 0 },
    prefetch: { predicted: 0, correct: 0, actual: 0, precision: 0, recall: 0, uploaded: 0, bytesUploaded: 0, used: 0, uploadPrecision: 0, waitMs: 0 },
    tokens: 0,
    readbacks: 0,
    decodeReadbacks: 0,
    decodeWaitMs: 0,
    readbacksPerToken: 0,
    waitMsPerToken: 0,
    waitMs: 0,
    waves: 0,
  };
}

/** A snapshot with the derived ratios filled in. */
export function snapshot(s: ExpertStats): ExpertStats {
  const c = structuredClone(s);
  c.prefetch.precision = c.prefetch.predicted ? c.prefetch.correct / c.prefetch.predicted : 0;
  c.prefetch.recall = c.prefetch.actual ? c.prefetch.correct / c.prefetch.actual : 0;
  c.prefetch.uploadPrecision = c.prefetch.uploaded ? c.prefetch.used / c.prefetch.uploaded : 0;
  c.readbacksPerToken = c.tokens ? c.decodeReadbacks / c.tokens : 0;
  c.waitMsPerToken = c.tokens ? c.decodeWaitMs / c.tokens : 0;
  return c;
}

/** Counters that describe the cache (sizes), not work done: a delta keeps the later value. */
const SIZES = new Set(['slots', 'slotBytes', 'allocatedBytes', 'budgetBytes']);
const RATIOS = new Set(['precision', 'recall', 'uploadPrecision', 'readbacksPerToken', 'waitMsPerToken']);

/**
 * The counters of the work done between two engine.stats() snapshots (per response: take one
 * before a request and one after), ratios recomputed over that span.
 */
export function expertStatsDelta(before: ExpertStats, after: ExpertStats): ExpertStats {
  const sub = (a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> =>
    Object.fromEntries(Object.entries(a).map(([k, v]) => [k, typeof v === 'object' && v !== null ? sub(v as Record<string, unknown>, b[k] as Record<string, unknown>) : SIZES.has(k) || RATIOS.has(k) ? v : (v as number) - (b[k] as number)]));
  return snapshot(sub(after as unknown as Record<string, unknown>, before as unknown as Record<string, unknown>) as unknown as ExpertStats);
}
