// Page module for kernels.browser.test.ts: runs inside Chromium (see ../browser.ts), with the
// library's own code from src/ and its shaders through `?raw`, exactly as the package builds.
// Every export takes one argument and returns typed arrays the harness carries back bit-exact.
import { acquireDevice } from '../../../src/gpu/device.js';
import { GpuContext } from '../../../src/gpu/context.js';
import { rmsnorm } from '../../../src/kernels/rmsnorm.js';
import { matmul } from '../../../src/kernels/matmul.js';
import type { GpuWeight } from '../../../src/kernels/common.js';
import type { AcquiredDevice } from '../../../src/gpu/device.js';
import { SafetensorsFile } from '../../../src/formats/safetensors.js';
import { fromUrl } from '../../../src/formats/sources.js';

export interface DeviceReport {
  adapterInfo: AcquiredDevice['adapterInfo'];
  features: AcquiredDevice['features'];
}

async function withContext<T>(fn: (ctx: GpuContext) => Promise<T>): Promise<T & { device: DeviceReport }> {
  const ctx = new GpuContext(await acquireDevice(navigator.gpu));
  try {
    const out = await fn(ctx);
    return { ...out, device: { adapterInfo: ctx.adapterInfo, features: ctx.features } };
  } finally {
    ctx.destroy();
  }
}

/** Output buffer pre-filled with NaN, so an element the kernel skips shows up. */
function poisoned(ctx: GpuContext, label: string, floats: number): GPUBuffer {
  return ctx.upload(label, new Float32Array(Math.max(floats, 4)).fill(NaN));
}

export interface RmsnormCase {
  rows: number;
  cols: number;
  eps: number;
  x: Float32Array;
  w: Float32Array;
}

export async function rmsnormCases(cases: RmsnormCase[]): Promise<{ outputs: Float32Array[]; device: DeviceReport }> {
  return withContext(async (ctx) => {
    const outputs: Float32Array[] = [];
    for (const c of cases) {
      const y = poisoned(ctx, 'y', c.rows * c.cols);
      rmsnorm(ctx, { x: ctx.upload('x', c.x), w: ctx.upload('w', c.w), y, rows: c.rows, cols: c.cols, eps: c.eps });
      outputs.push(await ctx.readF32(y, 0, c.rows * c.cols));
    }
    return { outputs };
  });
}

export interface MatmulCase {
  tokens: number;
  K: number;
  N: number;
  /** f32: w is a Float32Array; f16: w holds the f16 bit patterns (Uint16Array). */
  dtype: 'f32' | 'f16';
  kernel: 'matvec' | 'tiled';
  x: Float32Array;
  w: Float32Array | Uint16Array;
}

/** y = x·Wᵀ, then y += x·Wᵀ again with `accumulate` (both results returned). */
export async function matmulCases(cases: MatmulCase[]): Promise<{ outputs: { y: Float32Array; accumulated: Float32Array }[]; device: DeviceReport }> {
  return withContext(async (ctx) => {
    const outputs: { y: Float32Array; accumulated: Float32Array }[] = [];
    for (const c of cases) {
      const w: GpuWeight = { buffer: ctx.upload('w', c.w), dtype: c.dtype, rows: c.N, cols: c.K };
      const x = ctx.upload('x', c.x);
      const y = poisoned(ctx, 'y', c.tokens * c.N);
      matmul(ctx, { x, w, y, tokens: c.tokens, kernel: c.kernel });
      const first = await ctx.readF32(y, 0, c.tokens * c.N);
      matmul(ctx, { x, w, y, tokens: c.tokens, kernel: c.kernel, accumulate: true });
      outputs.push({ y: first, accumulated: await ctx.readF32(y, 0, c.tokens * c.N) });
    }
    return { outputs };
  });
}

export interface SliceRequest {
  /** URL path of a .safetensors file on the harness server ("/test/fixtures/.../model.safetensors"). */
  path: string;
  /** Row ranges to read (leading dimension), each as f32. */
  reads: { tensor: string; rowStart: number; rowCount: number }[];
}

export interface HttpRead {
  method: string;
  range: string | null;
  status: number;
  contentRange: string | null;
  /** Content-Length of the response, when the server sent one. */
  bytes: number | null;
}

export interface SliceResult {
  url: string;
  size: number;
  tensors: number;
  reads: { tensor: string; shape: number[]; dtype: string; rows: Float32Array }[];
  /** Every HTTP request fromUrl made, in order. */
  requests: HttpRead[];
}

/** Opens a safetensors file by URL (fromUrl: HTTP Range) and reads row slices of its tensors. */
export async function safetensorsSlice(req: SliceRequest): Promise<SliceResult> {
  const url = new URL(req.path, location.href).href;
  const requests: HttpRead[] = [];
  const loggingFetch: typeof fetch = async (input, init) => {
    const res = await fetch(input, init);
    const length = res.headers.get('Content-Length');
    requests.push({
      method: init?.method ?? 'GET',
      range: new Headers(init?.headers).get('Range'),
      status: res.status,
      contentRange: res.headers.get('Content-Range'),
      bytes: length === null ? null : Number(length),
    });
    return res;
  };
  const src = fromUrl(url, { fetch: loggingFetch });
  const file = await SafetensorsFile.open(src);
  const reads: SliceResult['reads'] = [];
  for (const r of req.reads) {
    const info = file.info(r.tensor);
    reads.push({ tensor: r.tensor, shape: info.shape, dtype: info.dtype, rows: await file.readRows(r.tensor, r.rowStart, r.rowCount) });
  }
  return { url, size: await src.size(), tensors: file.names().length, reads, requests };
}
