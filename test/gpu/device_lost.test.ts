// A lost device surfaces as a typed DEVICE_LOST error at the next GPU call, not a hang.
import { describe, expect, it } from 'vitest';
import { acquireDevice } from '../../src/gpu/device.js';
import { GpuContext } from '../../src/gpu/context.js';
import { nodeGpu } from '../../src/node.js';
import { rmsnorm } from '../../src/kernels/rmsnorm.js';
import { DeviceLostError, ErnieError, GpuError } from '../../src/errors.js';

describe('device loss', () => {
  it('turns into a DeviceLostError (DEVICE_LOST) with an actionable message', async () => {
    const ctx = new GpuContext(await acquireDevice(await nodeGpu()));
    const x = ctx.upload('x', new Float32Array(8).fill(1));
    ctx.device.destroy();
    await ctx.device.lost;
    let error: unknown;
    try {
      rmsnorm(ctx, { x, w: x, y: x, rows: 1, cols: 8, eps: 1e-5 });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(DeviceLostError);
    expect(error).toBeInstanceOf(ErnieError);
    expect(error).toMatchObject({ code: 'DEVICE_LOST', reason: 'destroyed' });
    expect((error as ErnieError).message).toMatch(/load the model again .*create a new engine/);
  });

  it('acquireDevice without WebGPU says what to do', async () => {
    const e = await acquireDevice(undefined).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(GpuError);
    expect(e).toMatchObject({ code: 'GPU_UNAVAILABLE', message: expect.stringMatching(/nodeGpu\(\)/) });
  });

  it('a buffer over the device limit is a GPU_LIMIT error naming it', async () => {
    const ctx = new GpuContext(await acquireDevice(await nodeGpu()));
    expect(() => ctx.createBuffer('huge experts', ctx.limits.maxStorageBufferBindingSize + 16)).toThrow(/huge experts.*exceeds/);
    expect(() => ctx.createBuffer('huge experts', ctx.limits.maxStorageBufferBindingSize + 16)).toThrow(GpuError);
    ctx.destroy();
  });
});
