// Timing GPU work in the benchmarks. Every time waits for the work it times:
//  - wall: reps calls submitted back to back, then queue.onSubmittedWorkDone() (includes
//    submission overhead and the queue's idle gaps);
//  - gpu: where the device offers `timestamp-query`, each call's first compute pass carries
//    begin/end timestamps (GpuContext.nextPassTimestamps), resolved and read back after the reps;
//    null where not offered or where the adapter returns no usable stamps.
import type { GpuContext } from '../src/gpu/context.js';

export interface Timing {
  /** seconds per call, wall clock over the reps (after one warm-up call) */
  wallS: number;
  /** seconds per call from timestamp queries (median over the reps), or null */
  gpuS: number | null;
}

/** `run` records one call's work and submits it (ctx.submit()). */
export async function timeGpu(ctx: GpuContext, run: () => void, reps: number): Promise<Timing> {
  run();
  await ctx.settle();
  const stamps = ctx.features.timestampQuery;
  const querySet = stamps ? ctx.device.createQuerySet({ type: 'timestamp', count: 2 * reps }) : null;
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) {
    if (querySet) ctx.nextPassTimestamps = { querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 };
    run();
  }
  await ctx.settle();
  const wallS = (performance.now() - t0) / 1000 / reps;
  ctx.nextPassTimestamps = null;
  let gpuS: number | null = null;
  if (querySet) {
    const resolved = ctx.createBuffer('timestamps', 16 * reps, GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC);
    const enc = ctx.device.createCommandEncoder();
    enc.resolveQuerySet(querySet, 0, 2 * reps, resolved, 0);
    ctx.device.queue.submit([enc.finish()]);
    const t = new BigUint64Array(await ctx.readback(resolved, 0, 16 * reps));
    const spans: number[] = [];
    for (let i = 0; i < reps; i++) if (t[2 * i + 1]! > t[2 * i]!) spans.push(Number(t[2 * i + 1]! - t[2 * i]!) / 1e9);
    spans.sort((a, b) => a - b);
    // every rep must have a nonzero span (some adapters write zeros)
    if (spans.length === reps && spans[0]! > 0) gpuS = spans[Math.floor(reps / 2)]!;
    resolved.destroy();
    querySet.destroy();
  }
  return { wallS, gpuS };
}

/** The time a table reports: the timestamps where usable, else wall. */
export const bestS = (t: Timing): number => t.gpuS ?? t.wallS;
