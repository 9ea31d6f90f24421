// The page <-> worker protocol over a real MessageChannel (comlink), with the GPU engine on
// the host side: same answers as the engine itself, streaming pulled chunk by chunk, abort
// forwarded, early release, progress events, typed errors across the boundary (class, code,
// param), and a lost device: the next request reloads the model.
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exposeEngineHost } from '../../src/worker/host.js';
import { WorkerEngine } from '../../src/worker/client.js';
import { loadEngine, type LoadedEngine } from '../../src/engine/load.js';
import { BadRequestError, ContextOverflowError } from '../../src/api/errors.js';
import { AbortError, DeviceLostError, ErnieError, FileFormatError, GpuError } from '../../src/errors.js';
import { nodeFolder } from '../../src/formats/node_source.js';
import { nodeGpu } from '../../src/node.js';
import type { ChatCompletion, ChatCompletionChunk } from '../../src/api/types.js';
import type { LoadProgress } from '../../src/model/ernie45/weights.js';

let client: WorkerEngine;
const channels: MessageChannel[] = [];
const progress: LoadProgress[] = [];
/** Every engine the host side built, in order (the device-loss test destroys one). */
const hosted: LoadedEngine[] = [];

/** A host on one end of a fresh MessageChannel, loading with the real loadEngine on Dawn. */
function openChannel(): MessagePort {
  const channel = new MessageChannel();
  channels.push(channel);
  exposeEngineHost(channel.port1 as never, async (opts, onProgress) => {
    const engine = await loadEngine({
      model: nodeFolder(opts.model as string),
      tokenizer: nodeFolder(opts.tokenizer as string),
      gpu: await nodeGpu(),
      kvCacheBytes: opts.kvCacheBytes,
      expertCache: opts.expertCache,
      onProgress,
    });
    hosted.push(engine);
    return { engine, adapter: engine.gpu.adapterInfo.description, deviceLost: engine.gpu.device.lost };
  });
  return channel.port2;
}

beforeAll(async () => {
  client = await WorkerEngine.create(openChannel() as never, {
    model: 'test/fixtures/ernie45-moe-tiny',
    tokenizer: 'test/fixtures/ernie-tokenizer-tiny',
    kvCacheBytes: 1 << 22,
    expertCache: { gpuExperts: '100%', ramBytes: 0 },
    onProgress: (p) => progress.push(p),
  });
});

describe('WorkerEngine.stats()', () => {
  it('returns the engine\'s expert-cache counters across the boundary (budgets given in the load options)', async () => {
    await client.chat.completions.create({ messages: [{ role: 'user', content: 'Hi' }], max_tokens: 3, temperature: 0 });
    const s = (await client.stats()).experts!;
    expect(s.gpu.slots).toBe(48);
    expect(s.ram.budgetBytes).toBe(0);
    expect(s.gpu.misses).toBe(0);
    expect(s.tokens).toBeGreaterThan(0);
  });
});

afterAll(() => {
  client?.dispose();
  for (const c of channels) {
    c.port1.close();
    c.port2.close();
  }
});

/** The rejection of `p`, which must reject. */
async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a rejection');
}

const messages = [{ role: 'user' as const, content: 'Tell me a story.' }];

describe('WorkerEngine over a MessageChannel', () => {
  it('reports load progress and engine info', () => {
    expect(progress.length).toBeGreaterThan(10);
    expect(progress.at(-1)!.tensorsDone).toBe(progress.at(-1)!.tensorsTotal);
    expect(client.info.contextLength).toBeGreaterThan(100);
  });

  it('non-streaming and streaming give the same seeded text', async () => {
    const req = { messages, max_tokens: 10, temperature: 0.9, seed: 11 };
    const whole = (await client.chat.completions.create(req)) as ChatCompletion;
    let text = '';
    let chunks = 0;
    for await (const c of (await client.chat.completions.create({ ...req, stream: true })) as AsyncIterable<ChatCompletionChunk>) {
      text += c.choices[0]?.delta?.content ?? '';
      chunks++;
    }
    expect(chunks).toBeGreaterThan(2);
    expect(text).toBe(whole.choices[0].message.content);
  });

  it('an AbortSignal in the page stops generation in the worker', async () => {
    const controller = new AbortController();
    const stream = (await client.chat.completions.create({ messages, max_tokens: 200, temperature: 0.9, seed: 1, stream: true, signal: controller.signal })) as AsyncIterable<ChatCompletionChunk>;
    let seen = 0;
    let caught: unknown = null;
    try {
      for await (const _ of stream) if (++seen === 3) controller.abort();
    } catch (e) {
      caught = e;
    }
    // AbortError crosses the worker boundary as itself, with the partial output
    expect(caught).toBeInstanceOf(AbortError);
    expect((caught as AbortError).partial?.usage.completion_tokens).toBeGreaterThan(0);
    expect(seen).toBeLessThan(10);
    // the worker is free for the next request
    const next = (await client.chat.completions.create({ messages, max_tokens: 3, temperature: 0 })) as ChatCompletion;
    expect(next.usage.completion_tokens).toBeGreaterThan(0);
  });

  it('breaking out of a stream early releases it', async () => {
    const stream = (await client.chat.completions.create({ messages, max_tokens: 50, temperature: 0, stream: true })) as AsyncIterable<ChatCompletionChunk>;
    for await (const _ of stream) break;
    const after = (await client.chat.completions.create({ messages, max_tokens: 2, temperature: 0 })) as ChatCompletion;
    expect(after.choices[0].finish_reason).toBe('length');
  });

  it('a bad request arrives in the page as a BadRequestError with code and param', async () => {
    const e = await rejection(client.chat.completions.create({ messages: [{ role: 'user', content: 'hi' }], temperature: -1 }));
    expect(e).toBeInstanceOf(BadRequestError);
    expect(e).toBeInstanceOf(ErnieError);
    expect(e).toMatchObject({ name: 'BadRequestError', code: 'BAD_REQUEST', param: 'temperature' });
    expect(e.message).toMatch(/^temperature: /);
    expect(e.stack).toContain('BadRequestError');
  });

  it('a prompt too long for the context arrives as a ContextOverflowError with its numbers', async () => {
    const e = await rejection(client.chat.completions.create({ messages, max_tokens: client.info.contextLength + 5 }));
    expect(e).toBeInstanceOf(ContextOverflowError);
    expect(e).toMatchObject({ code: 'CONTEXT_OVERFLOW', maxTokens: client.info.contextLength + 5, contextLength: client.info.contextLength });
    expect((e as ContextOverflowError).promptTokens).toBeGreaterThan(0);
  });

  it('a corrupt checkpoint fails load() in the page with a FileFormatError naming the file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ernie-worker-bad-'));
    copyFileSync('test/fixtures/ernie45-moe-tiny/config.json', join(dir, 'config.json'));
    const weights = readFileSync('test/fixtures/ernie45-moe-tiny/model.safetensors');
    writeFileSync(join(dir, 'model.safetensors'), weights.subarray(0, 4096)); // truncated download
    const e = await rejection(WorkerEngine.create(openChannel() as never, { model: dir, tokenizer: 'test/fixtures/ernie-tokenizer-tiny' }));
    expect(e).toBeInstanceOf(FileFormatError);
    expect(e).toMatchObject({ code: 'BAD_FILE' });
    expect((e as FileFormatError).file).toContain('model.safetensors');
  });

  it('a KV cache budget that holds no token fails load() with a GpuError (GPU_LIMIT)', async () => {
    const e = await rejection(WorkerEngine.create(openChannel() as never, { model: 'test/fixtures/ernie45-moe-tiny', tokenizer: 'test/fixtures/ernie-tokenizer-tiny', kvCacheBytes: 16 }));
    expect(e).toBeInstanceOf(GpuError);
    expect(e).toMatchObject({ code: 'GPU_LIMIT' });
    expect(e.message).toMatch(/kvCacheBytes/);
  });

  it('after device.destroy() the next request reloads the model and answers as before', async () => {
    const req = { messages, max_tokens: 6, temperature: 0.8, seed: 3 };
    const before = ((await client.chat.completions.create(req)) as ChatCompletion).choices[0].message.content;
    const engine = hosted[0];
    const built = hosted.length;
    engine.gpu.device.destroy();
    await engine.gpu.device.lost;
    const after = ((await client.chat.completions.create(req)) as ChatCompletion).choices[0].message.content;
    expect(hosted.length).toBe(built + 1);
    expect(hosted.at(-1)!.gpu.device).not.toBe(engine.gpu.device);
    expect(after).toBe(before);
  });

  it('a stream whose device is lost mid-way fails with a DeviceLostError; the next request reloads', async () => {
    const stream = (await client.chat.completions.create({ messages, max_tokens: 40, temperature: 0, stream: true })) as AsyncIterable<ChatCompletionChunk>;
    const built = hosted.length;
    const e = await rejection(
      (async () => {
        for await (const _ of stream) {
          const device = hosted.at(-1)!.gpu.device;
          device.destroy();
          await device.lost;
        }
      })(),
    );
    expect(e).toBeInstanceOf(DeviceLostError);
    expect(e).toMatchObject({ code: 'DEVICE_LOST', reason: 'destroyed' });
    expect(e.message).toMatch(/next request/);
    const next = (await client.chat.completions.create({ messages, max_tokens: 2, temperature: 0 })) as ChatCompletion;
    expect(next.usage.completion_tokens).toBeGreaterThan(0);
    expect(hosted.length).toBe(built + 1);
  });
});
