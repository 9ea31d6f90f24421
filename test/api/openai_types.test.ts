// The official `openai` SDK's types against ours, checked by `npm run typecheck` (tsc reads every
// test file): the SDK's create params are accepted by our create(), our responses are assignable
// to the SDK's. The runtime half sends SDK-typed requests (developer role, content parts, the
// ignored OpenAI fields) to a real engine on the tiny fixture.
import { describe, expect, expectTypeOf, it } from 'vitest';
import type OpenAI from 'openai';
import type { Engine } from '../../src/api/engine';
import type { ChatCompletion, ChatCompletionChunk, Completion, CompletionChunk } from '../../src/api/types';
import { tinyEngine } from './helpers';

type SdkChatParams = OpenAI.Chat.ChatCompletionCreateParams;
type SdkChatStreaming = OpenAI.Chat.ChatCompletionCreateParamsStreaming;
type SdkChatNonStreaming = OpenAI.Chat.ChatCompletionCreateParamsNonStreaming;
type SdkCompletionParams = OpenAI.CompletionCreateParams;
type SdkCompletionStreaming = OpenAI.CompletionCreateParamsStreaming;
type SdkCompletionNonStreaming = OpenAI.CompletionCreateParamsNonStreaming;

// Compile-time checks: each call below must type-check (the function is never run).
function typeChecks(engine: Engine, chat: SdkChatParams, cs: SdkChatStreaming, cn: SdkChatNonStreaming, comp: SdkCompletionParams, ps: SdkCompletionStreaming, pn: SdkCompletionNonStreaming): void {
  void engine.chat.completions.create(chat);
  expectTypeOf(engine.chat.completions.create(cs)).resolves.toEqualTypeOf<AsyncIterable<ChatCompletionChunk>>();
  expectTypeOf(engine.chat.completions.create(cn)).resolves.toEqualTypeOf<ChatCompletion>();
  void engine.completions.create(comp);
  expectTypeOf(engine.completions.create(ps)).resolves.toEqualTypeOf<AsyncIterable<CompletionChunk>>();
  expectTypeOf(engine.completions.create(pn)).resolves.toEqualTypeOf<Completion>();
}
void typeChecks;

describe('types: our responses are the SDK\'s', () => {
  it('ChatCompletion, ChatCompletionChunk and Completion are assignable to the SDK types', () => {
    expectTypeOf<ChatCompletion>().toMatchTypeOf<OpenAI.Chat.ChatCompletion>();
    expectTypeOf<ChatCompletionChunk>().toMatchTypeOf<OpenAI.Chat.ChatCompletionChunk>();
    expectTypeOf<Completion>().toMatchTypeOf<OpenAI.Completion>();
  });
});

describe('runtime: SDK-shaped requests', () => {
  it('developer = system, content parts for every role, the ignored OpenAI fields, refusal: null', async () => {
    const { engine } = await tinyEngine();
    const asDeveloper: SdkChatNonStreaming = {
      model: engine.modelName,
      messages: [
        { role: 'developer', content: [{ type: 'text', text: 'Be brief.' }] },
        { role: 'user', content: [{ type: 'text', text: 'Hi' }, { type: 'text', text: ' there' }] },
        { role: 'assistant', content: [{ type: 'text', text: 'Hello' }], refusal: null },
        { role: 'user', content: 'And?' },
      ],
      max_tokens: 4,
      temperature: 0,
      store: false,
      metadata: { a: 'b' },
      service_tier: 'auto',
      user: 'u1',
      safety_identifier: 's',
      prompt_cache_key: 'k',
      prompt_cache_retention: 'in_memory',
      verbosity: 'low',
      modalities: ['text'],
      audio: null,
      prediction: null,
      web_search_options: {},
      logprobs: null,
      top_logprobs: null,
      n: null,
      seed: null,
      stop: null,
      frequency_penalty: null,
      presence_penalty: null,
      top_p: null,
      logit_bias: null,
      stream_options: null,
      parallel_tool_calls: true,
    };
    const r = await engine.chat.completions.create(asDeveloper);
    const asSystem = await engine.chat.completions.create({
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Hi there' },
        { role: 'assistant', content: 'Hello' },
        { role: 'user', content: 'And?' },
      ],
      max_tokens: 4,
      temperature: 0,
    });
    expect(engine.renderPrompt(asDeveloper)).toContain('Be brief.');
    expect(engine.renderPrompt(asDeveloper)).toBe(engine.renderPrompt({ messages: [
      { role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hi there' }, { role: 'assistant', content: 'Hello' }, { role: 'user', content: 'And?' },
    ] }));
    expect(r.choices[0]!.message.content).toBe(asSystem.choices[0]!.message.content);
    expect(r.choices[0]!.message.refusal).toBeNull();
    expect(['stop', 'length']).toContain(r.choices[0]!.finish_reason);
  });

  it('reasoning_effort maps to thinking on/off', async () => {
    const { engine } = await tinyEngine();
    const msgs = [{ role: 'user' as const, content: 'Hi' }];
    expect(engine.renderPrompt({ messages: msgs, reasoning_effort: 'none' })).toBe(engine.renderPrompt({ messages: msgs, enable_thinking: false }));
    expect(engine.renderPrompt({ messages: msgs, reasoning_effort: 'high' })).toBe(engine.renderPrompt({ messages: msgs, enable_thinking: true }));
  });

  it('refuses what cannot mean anything here, naming the field', async () => {
    const { engine } = await tinyEngine();
    const hi = [{ role: 'user' as const, content: 'Hi' }];
    const bad: [Record<string, unknown>, string, RegExp][] = [
      [{ modalities: ['text', 'audio'] }, 'modalities', /text/],
      [{ audio: { voice: 'alloy', format: 'wav' } }, 'audio', /audio/],
      [{ prediction: { type: 'content', content: 'x' } }, 'prediction', /prediction/],
      [{ temprature: 1 }, 'temprature', /did you mean "temperature"/],
      [{ messages: [{ role: 'wizard', content: 'x' }] }, 'messages[0].role', /unknown role "wizard"; expected/],
      [{ messages: [{ role: 'user', content: [] }] }, 'messages[0].content', /at least one/],
      [{ messages: [{ role: 'user' }] }, 'messages[0].content', /got undefined|is required/],
      [{ messages: [{ role: 'user', content: 'a\ud800b' }] }, 'messages[0].content', /unpaired UTF-16 surrogate/],
      [{ messages: [{ role: 'function', name: 'f', content: 'x' }] }, 'messages[0].role', /tool/],
      [{ reasoning_effort: 'extreme' }, 'reasoning_effort', /none/],
      [{ temperature: undefined, top_p: 'x' }, 'top_p', /got the string "x"/],
      [{ top_p: {} }, 'top_p', /got an object$/],
      [{ top_p: true }, 'top_p', /got true$/],
    ];
    for (const [extra, param, re] of bad) {
      const req = { messages: hi, max_tokens: 1, ...extra } as never;
      await expect(engine.chat.completions.create(req), param).rejects.toMatchObject({ code: 'BAD_REQUEST', param, message: expect.stringMatching(re) });
    }
  });

  it('a prompt far past the context is refused before tokenizing, with param', async () => {
    const { engine } = await tinyEngine();
    const huge = 'a'.repeat(1_000_000);
    const t0 = performance.now();
    await expect(engine.chat.completions.create({ messages: [{ role: 'user', content: huge }] })).rejects.toMatchObject({ code: 'CONTEXT_OVERFLOW', param: 'messages' });
    await expect(engine.completions.create({ prompt: huge })).rejects.toMatchObject({ code: 'CONTEXT_OVERFLOW', param: 'prompt' });
    expect(performance.now() - t0).toBeLessThan(1000);
  });
});

describe('n choices', () => {
  it('n = 3: indexed choices, choice 0 is the n = 1 reply, the prompt is prefilled once, streamed = whole', async () => {
    const { engine } = await tinyEngine();
    const req = { messages: [{ role: 'user' as const, content: 'Hi' }], max_tokens: 6, temperature: 1, seed: 4 };
    const one = await engine.chat.completions.create(req);
    const three = await engine.chat.completions.create({ ...req, n: 3 });
    expect(three.choices.map((c) => c.index)).toEqual([0, 1, 2]);
    expect(three.choices[0]!.message.content).toBe(one.choices[0]!.message.content);
    expect(new Set(three.choices.map((c) => c.message.content)).size).toBeGreaterThan(1);
    expect(three.usage.prompt_tokens).toBe(one.usage.prompt_tokens);
    expect(three.usage.completion_tokens).toBeGreaterThan(one.usage.completion_tokens);
    expect(engine.lastStats!.cachedTokens).toBe(one.usage.prompt_tokens - 1); // later choices reuse the prompt's KV
    const texts = ['', '', ''];
    let usage: { completion_tokens: number } | null | undefined;
    for await (const c of await engine.chat.completions.create({ ...req, n: 3, stream: true, stream_options: { include_usage: true } })) {
      for (const ch of c.choices) texts[ch.index] += ch.delta.content ?? '';
      usage = c.usage ?? usage;
    }
    expect(texts).toEqual(three.choices.map((c) => c.message.content));
    expect(usage!.completion_tokens).toBe(three.usage.completion_tokens);
    const comp = await engine.completions.create({ prompt: 'Hi', max_tokens: 4, seed: 4, n: 2 });
    expect(comp.choices.map((c) => c.index)).toEqual([0, 1]);
  });
});
