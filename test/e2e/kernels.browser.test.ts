// The library's kernels and HTTP loading inside real Chromium WebGPU (SwiftShader; no GPU
// needed), checked against the f64 CPU reference and against Node's own file reader.
// Harness: ./browser.ts (Vite dev server + headless /usr/bin/chromium); page code: ./pages/kernels.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeAdapter, openHarness, runInPage, type Harness } from './browser.js';
import type { MatmulCase, RmsnormCase, SliceResult } from './pages/kernels.js';
import type { DeviceReport } from './pages/kernels.js';
import * as ref from '../reference/ops.js';
import { f32ToF16Bits, randn, rng } from '../helpers/gpu.js';
import { f16ArrayToF32, SafetensorsFile } from '../../src/formats/safetensors.js';
import { fromPath } from '../../src/formats/node_source.js';

const PAGE = '/test/e2e/pages/kernels.ts';
const FIXTURE = 'test/fixtures/ernie45-moe-tiny/model.safetensors';

/** Max |got - want| over max |want|: relative to the output's scale, as in test/kernels. */
function relErr(got: ArrayLike<number>, want: ArrayLike<number>): number {
  expect(got.length).toBe(want.length);
  let scale = 1e-6;
  for (let i = 0; i < want.length; i++) scale = Math.max(scale, Math.abs(want[i]!));
  let worst = 0;
  for (let i = 0; i < want.length; i++) {
    const d = Math.abs(got[i]! - want[i]!);
    worst = Number.isNaN(d) ? Infinity : Math.max(worst, d); // NaN = an element never written
  }
  return worst / scale;
}

describe('Chromium WebGPU (e2e)', { timeout: 120_000 }, () => {
  let h: Harness | undefined;

  beforeAll(async () => {
    const t0 = performance.now();
    h = await openHarness();
    console.log(`[e2e] Chromium WebGPU adapter.info: ${describeAdapter(h.adapter)}`);
    console.log(`[e2e] harness up in ${Math.round(performance.now() - t0)} ms at ${h.baseUrl}`);
  }, 120_000);

  afterAll(async () => {
    await h?.close();
  }, 30_000);

  it('gets a WebGPU adapter in the page', () => {
    expect(h).toBeDefined();
    expect(h!.adapter.limits.maxStorageBufferBindingSize).toBeGreaterThanOrEqual(128 << 20);
    expect(h!.adapter.limits.maxComputeInvocationsPerWorkgroup).toBeGreaterThanOrEqual(256);
  });

  it('rmsnorm matches the CPU reference', async () => {
    const shapes: [number, number][] = [[1, 1], [3, 7], [4, 128], [2, 1000], [1, 2560]];
    const cases: RmsnormCase[] = shapes.map(([rows, cols]) => {
      const r = rng(rows * 31 + cols);
      return { rows, cols, eps: 1e-5, x: randn(r, rows * cols, 3), w: randn(r, cols) };
    });
    const res = await runInPage<{ outputs: Float32Array[]; device: DeviceReport }>(PAGE, 'rmsnormCases', cases);
    console.log(`[e2e] device from acquireDevice(navigator.gpu): ${JSON.stringify(res.device)}`);
    expect(res.outputs).toHaveLength(cases.length);
    cases.forEach((c, i) => {
      const want = ref.rmsnorm(c.x, c.w, c.rows, c.cols, c.eps);
      expect(res.outputs[i]).toBeInstanceOf(Float32Array);
      expect(relErr(res.outputs[i]!, want), `rmsnorm ${c.rows}x${c.cols}`).toBeLessThan(1e-5);
    });
  });

  it('matmul (matvec and tiled, f32 and f16 weights, accumulate) matches the CPU reference', async () => {
    const shapes = [
      // tokens, K, N, dtype, kernel
      [1, 1, 1, 'f32', 'matvec'], [1, 128, 2048, 'f32', 'matvec'], [3, 67, 45, 'f32', 'matvec'], [8, 130, 17, 'f16', 'matvec'],
      [9, 33, 70, 'f32', 'tiled'], [65, 128, 130, 'f32', 'tiled'], [7, 48, 96, 'f16', 'tiled'], [1, 5, 3, 'f32', 'tiled'],
    ] as const;
    const wants: Float64Array[] = [];
    const cases: MatmulCase[] = shapes.map(([T, K, N, dtype, kernel]) => {
      const r = rng(T * 7 + K * 13 + N);
      const x = randn(r, T * K);
      const w32 = randn(r, N * K, 0.1);
      if (dtype === 'f32') {
        wants.push(ref.matmul(x, w32, T, K, N));
        return { tokens: T, K, N, dtype, kernel, x, w: w32 };
      }
      const bits = Uint16Array.from(w32, f32ToF16Bits);
      wants.push(ref.matmul(x, f16ArrayToF32(bits), T, K, N));
      return { tokens: T, K, N, dtype, kernel, x, w: bits };
    });
    const res = await runInPage<{ outputs: { y: Float32Array; accumulated: Float32Array }[] }>(PAGE, 'matmulCases', cases);
    expect(res.outputs).toHaveLength(cases.length);
    cases.forEach((c, i) => {
      const what = `matmul T${c.tokens} K${c.K} N${c.N} ${c.dtype} ${c.kernel}`;
      expect(relErr(res.outputs[i]!.y, wants[i]!), what).toBeLessThan(1e-5);
      expect(relErr(res.outputs[i]!.accumulated, wants[i]!.map((v) => 2 * v)), `${what} accumulate`).toBeLessThan(1e-5);
    });
  });

  it('reads a tensor slice over HTTP Range (fromUrl + SafetensorsFile) equal to the Node file read', async () => {
    const reads = [
      { tensor: 'model.embed_tokens.weight', rowStart: 1129, rowCount: 3 },
      { tensor: 'model.layers.0.mlp.down_proj.weight', rowStart: 5, rowCount: 2 },
    ];
    const res = await runInPage<SliceResult>(PAGE, 'safetensorsSlice', { path: '/' + FIXTURE, reads });

    const local = await SafetensorsFile.open(fromPath(FIXTURE));
    expect(res.size).toBe(await local.src.size());
    expect(res.tensors).toBe(local.names().length);
    for (const [i, r] of reads.entries()) {
      const want = await local.readRows(r.tensor, r.rowStart, r.rowCount);
      const got = res.reads[i]!;
      expect(got.shape).toEqual(local.info(r.tensor).shape);
      expect(got.rows.length).toBe(want.length);
      expect(want.slice(0, 8).some((v) => v !== 0)).toBe(true);
      // bit-exact: the same bytes, decoded by the same code, in two runtimes
      expect(Buffer.from(got.rows.buffer, got.rows.byteOffset, got.rows.byteLength).equals(Buffer.from(want.buffer))).toBe(true);
    }

    // Only slices travelled: every GET was a 206 for a Range, none fetched the whole file.
    const gets = res.requests.filter((q) => q.method === 'GET');
    expect(gets.length).toBeGreaterThanOrEqual(2 + reads.length);
    for (const q of gets) {
      expect(q.range, JSON.stringify(q)).toMatch(/^bytes=\d+-\d+$/);
      expect(q.status, JSON.stringify(q)).toBe(206);
      expect(q.contentRange, JSON.stringify(q)).toMatch(new RegExp(`/${res.size}$`));
    }
    const bytes = gets.reduce((s, q) => s + (q.bytes ?? 0), 0);
    expect(bytes).toBeLessThan(res.size / 10);
    console.log(`[e2e] HTTP reads: ${res.requests.map((q) => `${q.method} ${q.range ?? '-'} -> ${q.status}`).join(', ')}`);
  });
});
