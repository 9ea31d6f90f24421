// The page <-> worker protocol over a real MessageChannel (comlink), with the GPU engine on
// the host side: same answers as the engine itself, streaming pulled chunk by chunk, abort
// forwarded, early release, progress events, typed errors across the boundary.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exposeEngineHost } from '../../src/worker/host.js';
import { WorkerEngine } from '../../src/worker/client.js';
import { loadEngine } from '../../src/engine/load.js';
import { nodeFolder } from '../../src/formats/node_source.js';
import { nodeGpu } from '../../src/node.js';
import type { ChatCompletion, ChatCompletionChunk } from '../../src/api/types.js';
import type { LoadProgress } from '../../src/model/ernie45/weights.js';

let client: WorkerEngine;
let channel: MessageChannel;
const progress: LoadProgress[] = [];

beforeAll(async () => {
  channel = new MessageChannel();
  exposeEngineHost(channel.port1 as never, async (opts, onProgress) => {
    const engine = await loadEngine({
      model: nodeFolder(opts.model as string),
      tokenizer: nodeFolder(opts.tokenizer as string),
      gpu: await nodeGpu(),
      kvCacheBytes: opts.kvCacheBytes,
      expertCache: opts.expertCache,
      onProgress,
    });
    return { engine, adapter: engine.gpu.adapterInfo.description };
  });
  client = await WorkerEngine.create(channel.port2 as never, {
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
  channel?.port1.close();
  channel?.port2.close();
});

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
    let finish: string | null | undefined;
    for await (const c of stream) {
      if (++seen === 3) controller.abort();
      finish = c.choices[0]?.finish_reason ?? finish;
    }
    expect(finish).toBe('abort');
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

  it('bad requests fail in the page with the API error', async () => {
    await expect(client.chat.completions.create({ messages: [] })).rejects.toThrow(/messages/);
  });
});
