// EngineHost's bookkeeping around load() and lost devices, with stand-in engines (no GPU): the
// real reload on Dawn is in worker_engine.test.ts.
import { describe, expect, it } from 'vitest';
import { EngineHost, type HostedEngine } from '../../src/worker/host.js';
import { BadRequestError } from '../../src/api/errors.js';
import { DeviceLostError, FileFormatError } from '../../src/errors.js';
import type { Engine } from '../../src/api/engine.js';

/** An engine that answers every chat request with its own number; a device whose loss the test triggers. */
function standIn(n: number): HostedEngine & { loseDevice(): void; disposed: boolean } {
  let loseDevice!: () => void;
  const deviceLost = new Promise<GPUDeviceLostInfo>((resolve) => {
    loseDevice = () => resolve({ reason: 'unknown', message: 'GPU process crashed' } as GPUDeviceLostInfo);
  });
  const hosted = {
    engine: {
      modelName: `m${n}`,
      kind: 'chat',
      contextLength: 64,
      chat: { completions: { create: async () => ({ answeredBy: n }) } },
      completions: { create: async () => ({ answeredBy: n }) },
      dispose: () => {
        hosted.disposed = true;
      },
    } as unknown as Engine,
    adapter: 'stand-in',
    deviceLost,
    loseDevice,
    disposed: false,
  };
  return hosted;
}

const ask = (host: EngineHost, id = 1) => host.create(id, 'chat', { messages: [{ role: 'user', content: 'hi' }] }) as Promise<unknown>;

describe('EngineHost', () => {
  it('after a failed load(), a request says no model is loaded', async () => {
    const host = new EngineHost(async () => {
      throw new FileFormatError('model.safetensors', 'truncated');
    });
    await expect(host.load({ model: '/m/' })).rejects.toBeInstanceOf(FileFormatError);
    const e = await ask(host).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(BadRequestError);
    expect((e as Error).message).toMatch(/no model loaded/);
  });

  it('a lost device is replaced on the next request; concurrent requests share one reload', async () => {
    const built: ReturnType<typeof standIn>[] = [];
    const host = new EngineHost(async () => {
      built.push(standIn(built.length));
      return built.at(-1)!;
    });
    await host.load({ model: '/m/' });
    expect(await ask(host)).toEqual({ answeredBy: 0 });
    built[0].loseDevice();
    await built[0].deviceLost;
    const answers = await Promise.all([ask(host, 2), ask(host, 3)]);
    expect(answers).toEqual([{ answeredBy: 1 }, { answeredBy: 1 }]);
    expect(built.length).toBe(2);
    expect(built[0].disposed).toBe(true);
    expect(built[1].disposed).toBe(false);
  });

  it('a reload that fails is a DeviceLostError with its cause; the next request tries again', async () => {
    let calls = 0;
    let first: ReturnType<typeof standIn> | undefined;
    const host = new EngineHost(async () => {
      calls++;
      if (calls === 2) throw new Error('requestAdapter() returned null');
      return calls === 1 ? (first = standIn(1)) : standIn(calls);
    });
    await host.load({ model: '/m/' });
    first!.loseDevice();
    await first!.deviceLost;
    const e = (await ask(host).catch((x: unknown) => x)) as DeviceLostError;
    expect(e).toBeInstanceOf(DeviceLostError);
    expect(e).toMatchObject({ code: 'DEVICE_LOST', reason: 'unknown' });
    expect(e.message).toMatch(/GPU process crashed.*reloading the model failed \(requestAdapter\(\) returned null\)/);
    expect((e.cause as Error).message).toBe('requestAdapter() returned null');
    expect(await ask(host)).toEqual({ answeredBy: 3 });
  });

  it('disposing the engine itself (dispose()) is not taken for a lost device', async () => {
    const built: ReturnType<typeof standIn>[] = [];
    const host = new EngineHost(async () => {
      built.push(standIn(built.length));
      return built.at(-1)!;
    });
    await host.load({ model: '/m/' });
    host.dispose();
    built[0].loseDevice(); // what device.destroy() in dispose() does
    await built[0].deviceLost;
    expect(await ask(host).catch((x: unknown) => (x as Error).message)).toMatch(/no model loaded/);
    expect(built.length).toBe(1);
  });
});

describe('modelSource (what the default factory hands loadEngine)', () => {
  const folder = (m: unknown) => ({ folder: m });
  it('passes a .gguf URL or a single picked .gguf File through as one file; folders go to the folder reader', async () => {
    const { modelSource } = await import('../../src/worker/host.js');
    expect(modelSource('https://h/m/model-q4.gguf?x=1', folder)).toBe('https://h/m/model-q4.gguf?x=1');
    expect(modelSource('https://h/package/', folder)).toEqual({ folder: 'https://h/package/' });
    const gguf = new File([new Uint8Array(4)], 'tiny.GGUF');
    expect(modelSource(gguf, folder)).toBe(gguf);
    expect(modelSource([gguf], folder)).toBe(gguf);
    const files = [new File(['{}'], 'config.json'), new File([new Uint8Array(2)], 'model.safetensors')];
    expect(modelSource(files, folder)).toEqual({ folder: files });
    const map = new Map<string, Blob>([['experts/0.bin', new Blob([])]]);
    expect(modelSource(map, folder)).toEqual({ folder: map });
  });
});
