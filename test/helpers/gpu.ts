// One real WebGPU device per test file (Dawn on SwiftShader in CI, a GPU where there is one).
import { acquireDevice } from '../../src/gpu/device.js';
import { GpuContext } from '../../src/gpu/context.js';
import { nodeGpu } from '../../src/node.js';

let ctx: Promise<GpuContext> | null = null;

export function gpuContext(): Promise<GpuContext> {
  ctx ??= nodeGpu().then(acquireDevice).then((d) => new GpuContext(d));
  return ctx;
}

/** A storage buffer pre-filled with NaN, so a kernel that skips an element is caught. */
export function poisoned(ctx: GpuContext, label: string, floats: number): GPUBuffer {
  return ctx.upload(label, new Float32Array(Math.max(floats, 4)).fill(NaN));
}

/** Deterministic pseudo-random numbers (mulberry32) for test inputs. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randn(r: () => number, n: number, scale = 1): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = Math.max(r(), 1e-12), v = r();
    out[i] = scale * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
  return out;
}

/** f32 -> f16 bits (round to nearest even), for f16 weight tests. */
export function f32ToF16Bits(x: number): number {
  const f = new Float32Array([x]);
  const u = new Uint32Array(f.buffer)[0];
  const sign = (u >>> 16) & 0x8000;
  const exp = (u >>> 23) & 0xff;
  let mant = u & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && (half & 1))) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (half & 1))) half++;
  return sign | half;
}
