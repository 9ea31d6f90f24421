// Per-kernel time of a run, for `bench:vision --profile`: every dispatch is submitted on its own
// and its end read from queue.onSubmittedWorkDone() (the queue runs them in order, so the gap
// between two ends is the later one's time, submission included); pipeline creation is timed
// apart. Slower than a normal run (one submit per dispatch): it says where the time goes, the
// plain run says how long it takes.
import type { GpuContext } from '../src/gpu/context.js';

export interface DispatchProfile {
  /** Per kernel (pipeline label and grid), slowest first: total seconds and dispatch count. */
  report(): Promise<string[]>;
}

export function profileDispatches(ctx: GpuContext): DispatchProfile {
  const ends: { label: string; done: Promise<number> }[] = [];
  const compiles = new Map<string, number>();
  const pipeline = ctx.pipeline.bind(ctx);
  const dispatch = ctx.dispatch.bind(ctx);
  const start = performance.now();
  ctx.pipeline = (key, build, constants) => {
    const s = performance.now();
    const p = pipeline(key, build, constants);
    const ms = performance.now() - s;
    if (ms > 0.5) compiles.set(key, (compiles.get(key) ?? 0) + ms);
    return p;
  };
  ctx.dispatch = (p, params, bindings, workgroups) => {
    dispatch(p, params, bindings, workgroups);
    ctx.submit();
    ends.push({ label: `${p.label} [${workgroups.join('x')}]`, done: ctx.device.queue.onSubmittedWorkDone().then(() => performance.now()) });
  };
  return {
    async report() {
      const times = await Promise.all(ends.map((e) => e.done));
      const byKernel = new Map<string, { s: number; n: number }>();
      let prev = start;
      ends.forEach((e, i) => {
        const k = byKernel.get(e.label) ?? { s: 0, n: 0 };
        k.s += (times[i]! - prev) / 1000;
        k.n++;
        byKernel.set(e.label, k);
        prev = times[i]!;
      });
      const lines = [...byKernel].sort((a, b) => b[1].s - a[1].s).map(([label, k]) => `${k.s.toFixed(2).padStart(9)} s  x${k.n}  ${label}`);
      for (const [key, ms] of compiles) lines.push(`  pipeline ${key}: created in ${ms.toFixed(0)} ms`);
      return lines;
    },
  };
}
