// One real WebGPU device per test file (Dawn on SwiftShader in CI, a GPU where there is one).
import { acquireDevice } from '../../src/gpu/device.js';
import { GpuContext } from '../../src/gpu/context.js';
import { nodeGpu } from '../../src/node.js';

export { randn, rng } from './random.js';

let ctx: Promise<GpuContext> | null = null;

export function gpuContext(): Promise<GpuContext> {
  ctx ??= nodeGpu().then(acquireDevice).then((d) => new GpuContext(d));
  return ctx;
}

/** A storage buffer pre-filled with NaN, so a kernel that skips an element is caught. */
export function poisoned(ctx: GpuContext, label: string, floats: number): GPUBuffer {
  return ctx.upload(label, new Float32Array(Math.max(floats, 4)).fill(NaN));
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

/**
 * A GPU whose adapters all hand out one device, which engines then cannot destroy: for a test
 * file that loads several engines, since Dawn compiles each pipeline once per device (SwiftShader
 * spends seconds on some shaders) and caches it on the device. Not for tests of disposal or of
 * device loss. Buffers of disposed engines are freed as they are collected.
 */
export function oneDeviceGpu(gpu: GPU): GPU {
  let device: Promise<GPUDevice> | undefined;
  const adapter = (a: GPUAdapter): GPUAdapter =>
    new Proxy(a, {
      get(target, key) {
        if (key === 'requestDevice') {
          return (d?: GPUDeviceDescriptor) => (device ??= target.requestDevice(d).then((dev) => Object.assign(dev, { destroy: () => undefined })));
        }
        const v: unknown = Reflect.get(target, key, target);
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
  return new Proxy(gpu, {
    get(target, key) {
      if (key === 'requestAdapter') return async (o?: GPURequestAdapterOptions) => ((a) => a && adapter(a))(await target.requestAdapter(o));
      const v: unknown = Reflect.get(target, key, target);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}
