// The OpenAI-style API over the real WebGPU model: the tiny MoE checkpoint with the
// tokenizer fixture, loaded through loadEngine as a user would.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadEngine, type LoadedEngine } from '../../src/engine/load.js';
import { nodeFolder } from '../../src/formats/node_source.js';
import { nodeGpu } from '../../src/node.js';
import type { ChatCompletion, ChatCompletionChunk, Completion } from '../../src/api/types.js';
import { CpuModel } from './cpu_model.js';
import { tinyTokenizer } from './helpers.js';
import { logSoftmax, topLogprobs } from '../reference/logprobs_ref.js';

let engine: LoadedEngine;

beforeAll(async () => {
  engine = await loadEngine({
    model: nodeFolder('test/fixtures/ernie45-moe-tiny'),
    tokenizer: nodeFolder('test/fixtures/ernie-tokenizer-tiny'),
    gpu: await nodeGpu(),
    kvCacheBytes: 1 << 22,
  });
});
afterAll(() => engine?.dispose());

describe('Engine on the GPU model', () => {
  const messages = [
    { role: 'system' as const, content: 'You are terse.' },
    { role: 'user' as const, content: 'Say hello 42 times.' },
  ];

  it('seeded sampling is reproducible and streaming equals non-streaming', async () => {
    const req = { messages, max_tokens: 12, temperature: 0.8, top_p: 0.95, seed: 7 };
    const a = (await engine.chat.completions.create(req)) as ChatCompletion;
    const b = (await engine.chat.completions.create(req)) as ChatCompletion;
    expect(a.choices[0].message.content).toBe(b.choices[0].message.content);
    expect(a.usage.completion_tokens).toBeGreaterThan(0);
    let streamed = '';
    for await (const chunk of (await engine.chat.completions.create({ ...req, stream: true })) as AsyncIterable<ChatCompletionChunk>) {
      streamed += chunk.choices[0]?.delta?.content ?? '';
    }
    expect(streamed).toBe(a.choices[0].message.content);
  });

  it('a follow-up turn reuses the cached prefix', async () => {
    const first = (await engine.chat.completions.create({ messages, max_tokens: 4, temperature: 0 })) as ChatCompletion;
    const second = (await engine.chat.completions.create({
      messages: [...messages, first.choices[0].message as { role: 'assistant'; content: string }, { role: 'user', content: 'Again.' }],
      max_tokens: 4,
      temperature: 0,
    })) as ChatCompletion;
    expect(second.usage.prompt_tokens_details?.cached_tokens).toBeGreaterThan(first.usage.prompt_tokens - 2);
  });

  it('json_object output parses', async () => {
    const res = (await engine.chat.completions.create({
      messages, max_tokens: 64, temperature: 0.7, seed: 3, response_format: { type: 'json_object' },
    })) as ChatCompletion;
    // The grammar keeps every prefix valid: a finished answer parses, a cut one starts an object.
    expect(res.choices[0].message.content?.trimStart().startsWith('{')).toBe(true);
    if (res.choices[0].finish_reason === 'stop') expect(() => JSON.parse(res.choices[0].message.content ?? '')).not.toThrow();
    else expect(res.choices[0].finish_reason).toBe('length');
  });

  it('logprobs computed on the GPU equal a CPU log-softmax of the reference forward\'s logits', async () => {
    const prompt = [60, 61, 62, 63, 64];
    const steps = 3, top = 5;
    const cpu = await CpuModel.load({ vocabSize: tinyTokenizer().vocabSize });
    await cpu.forward(prompt);
    // logit_bias pushes the second-best token out of sampling, not out of the logprobs (they are the model's own).
    const second = topLogprobs(cpu.lastLogits(), 2)[1]!.id;
    const res = (await engine.completions.create({ prompt, max_tokens: steps, temperature: 0, logprobs: top, logit_bias: { [second]: -100 } })) as Completion;
    const lp = res.choices[0]!.logprobs!;
    expect(lp.token_logprobs).toHaveLength(steps);
    for (let i = 0; i < steps; i++) {
      const logits = cpu.lastLogits();
      const want = topLogprobs(logits, top);
      // Greedy: the sampled token is the reference's argmax, and its log p is the best one.
      expect(lp.token_logprobs[i]).toBeCloseTo(logSoftmax(logits)[want[0]!.id]!, 3);
      const got = Object.values(lp.top_logprobs[i]!).sort((a, b) => b - a);
      got.forEach((v, j) => expect(v).toBeCloseTo(want[j]!.logprob, 3));
      await cpu.forward([want[0]!.id]);
    }
  });

  it('rejects a prompt longer than the KV cache with CONTEXT_OVERFLOW', async () => {
    await expect(engine.chat.completions.create({ messages: [{ role: 'user', content: 'x '.repeat(50_000) }], max_tokens: 4 })).rejects.toMatchObject({ code: 'CONTEXT_OVERFLOW' });
  });

  it('an abort 200 ms into a 1,600-token prefill settles within 3 s, and the engine answers the next request', async () => {
    // Ids that are not special: a long prompt the tokenizer could have produced.
    const prompt = Array.from({ length: 1600 }, (_, i) => 50 + ((i * 37) % 400));
    const short = { prompt: prompt.slice(0, 8), max_tokens: 3, temperature: 0 };
    const before = (await engine.completions.create(short)) as Completion;
    const ctl = new AbortController();
    const t0 = performance.now();
    setTimeout(() => ctl.abort(), 200);
    const err = await engine.completions.create({ prompt, max_tokens: 4, signal: ctl.signal }).then(() => null, (e) => e);
    const settled = performance.now() - t0;
    expect(err).toMatchObject({ name: 'AbortError', code: 'ABORTED' });
    expect(err.partial.usage.completion_tokens).toBe(0); // it stopped in the prefill
    expect(settled).toBeLessThan(3000);
    // The next request reuses the prefix the aborted prefill left in the KV cache, and reads the same.
    const after = (await engine.completions.create(short)) as Completion;
    expect(after.usage.prompt_tokens_details?.cached_tokens).toBe(7);
    expect(after.choices[0]!.text).toBe(before.choices[0]!.text);
  }, 60_000);
});
