import { describe, expect, it } from 'vitest';
import { createEngine } from '../../src/api/engine';
import { AbortError, BadRequestError, ContextOverflowError } from '../../src/api/errors';
import type { ChatCompletionChunk, ChatCompletionRequest, CompletionChunk } from '../../src/api/types';
import { compileJsonSchema, validateJson } from '../../src/sampling/json_schema';
import { collect, MODEL_NAME, tinyEngine, tinyTokenizer } from './helpers';
import { ScriptedModel } from './scripted_model';

const tok = tinyTokenizer();
const hi: ChatCompletionRequest['messages'] = [{ role: 'user', content: 'Hello' }];

/** Token ids whose text holds a quote or a closing bracket: a nudge that lets a random model finish JSON. */
function closingBias(): Record<string, number> {
  const bias: Record<string, number> = {};
  for (let id = 0; id < tok.vocabSize; id++) {
    if (!tok.isSpecial(id) && /["}\]]/.test(tok.idToToken(id)!)) bias[id] = 6;
  }
  return bias;
}

function chatText(chunks: ChatCompletionChunk[]): { content: string; reasoning: string; finish: string | null } {
  let content = '';
  let reasoning = '';
  let finish: string | null = null;
  for (const c of chunks) {
    for (const ch of c.choices) {
      content += ch.delta.content ?? '';
      reasoning += ch.delta.reasoning_content ?? '';
      finish = ch.finish_reason ?? finish;
    }
  }
  return { content, reasoning, finish };
}

describe('Engine: sampling', () => {
  it('same seed gives the same tokens, another seed other tokens', async () => {
    const { engine, model } = await tinyEngine();
    const ids: number[][] = [];
    const run = async (seed: number) => {
      const got: number[] = [];
      model.onSample = (id) => got.push(id);
      const r = await engine.chat.completions.create({ messages: hi, max_tokens: 12, seed, temperature: 1 });
      ids.push(got);
      return r;
    };
    const a = await run(5);
    const b = await run(5);
    await run(6);
    expect(ids[0]).toHaveLength(12);
    expect(ids[1]).toEqual(ids[0]);
    expect(ids[2]).not.toEqual(ids[0]);
    expect(b.choices[0]!.message.content).toBe(a.choices[0]!.message.content);
    expect(a.seed).toBe(5);

    // no seed: a random one is reported, and replaying it reproduces the reply
    const c = await engine.chat.completions.create({ messages: hi, max_tokens: 8 });
    const d = await engine.chat.completions.create({ messages: hi, max_tokens: 8, seed: c.seed });
    expect(d.choices[0]!.message.content).toBe(c.choices[0]!.message.content);
  });

  it('streaming chunks add up to the non-streamed reply for the same seed', async () => {
    const { engine } = await tinyEngine();
    const req = { messages: hi, max_tokens: 24, seed: 3, temperature: 0.9 } as const;
    const whole = await engine.chat.completions.create(req);
    const chunks = await collect(await engine.chat.completions.create({ ...req, stream: true, stream_options: { include_usage: true } }));
    expect(chunks[0]!.choices[0]!.delta).toEqual({ role: 'assistant', content: '', refusal: null });
    const s = chatText(chunks);
    expect(s.content).toBe(whole.choices[0]!.message.content);
    expect(s.finish).toBe(whole.choices[0]!.finish_reason);
    const last = chunks[chunks.length - 1]!;
    expect(last.choices).toEqual([]);
    expect({ ...last.usage, prompt_tokens_details: undefined }).toEqual({ ...whole.usage, prompt_tokens_details: undefined });
    expect(chunks.every((c) => c.id === chunks[0]!.id && c.object === 'chat.completion.chunk' && c.model === MODEL_NAME)).toBe(true);

    const cwhole = await engine.completions.create({ prompt: 'User: Hi\nAssistant:', max_tokens: 20, seed: 9 });
    const cchunks: CompletionChunk[] = await collect(await engine.completions.create({ prompt: 'User: Hi\nAssistant:', max_tokens: 20, seed: 9, stream: true }));
    expect(cchunks.map((c) => c.choices[0]?.text ?? '').join('')).toBe(cwhole.choices[0]!.text);
    expect(cchunks[cchunks.length - 1]!.choices[0]!.finish_reason).toBe(cwhole.choices[0]!.finish_reason);
  });

  it('counts usage: prompt tokens as rendered, every sampled token, cached prefix', async () => {
    const { engine, model } = await tinyEngine();
    const req = { messages: hi, max_tokens: 10, seed: 1 };
    const promptIds = tok.encode(engine.renderPrompt(req), { addSpecialTokens: false });
    const before = model.sampleCalls;
    const r = await engine.chat.completions.create(req);
    expect(r.usage).toEqual({
      prompt_tokens: promptIds.length,
      completion_tokens: 10,
      total_tokens: promptIds.length + 10,
      prompt_tokens_details: { cached_tokens: 0 },
    });
    expect(model.sampleCalls - before).toBe(10);
    expect(r.choices[0]!.finish_reason).toBe('length');
    expect(model.forwardLog[0]).toEqual(promptIds); // the whole prompt, once

    // the end token as first choice: one sampled token, nothing written
    const eos = await engine.chat.completions.create({ ...req, logit_bias: { [tok.eosTokenId!]: 100 } });
    expect(eos.choices[0]).toMatchObject({ finish_reason: 'stop', message: { content: '' } });
    expect(eos.usage.completion_tokens).toBe(1);
    expect(eos.usage.prompt_tokens_details!.cached_tokens).toBe(promptIds.length - 1);
  });
});

describe('Engine: stop strings', () => {
  it('cuts exactly at a stop string spanning several tokens, streamed or not', async () => {
    const { engine } = await tinyEngine();
    const prompt = 'User: Hi\nAssistant:';
    const base = { prompt, max_tokens: 30, seed: 21, temperature: 1 };
    const chunks = await collect(await engine.completions.create({ ...base, stream: true }));
    const pieces = chunks.map((c) => c.choices[0]?.text ?? '').filter((t) => t.length > 0);
    const full = pieces.join('');
    // A stop string made of the end of one piece and the start of the next, first seen there.
    let stop = '';
    let at = pieces[0]!.length;
    for (let k = 1; k < pieces.length && !stop; at += pieces[k]!.length, k++) {
      const a = pieces[k - 1]!, b = pieces[k]!;
      const cand = a.slice(-2) + b.slice(0, 2);
      if (a.length >= 2 && b.length >= 2 && !cand.includes('\uFFFD') && full.indexOf(cand) === at - 2) stop = cand;
    }
    expect(stop).not.toBe('');
    const cut = full.slice(0, full.indexOf(stop));

    const whole = await engine.completions.create({ ...base, stop: [stop, 'never-there'] });
    expect(whole.choices[0]).toMatchObject({ text: cut, finish_reason: 'stop' });
    const streamed = await collect(await engine.completions.create({ ...base, stop, stream: true }));
    expect(streamed.map((c) => c.choices[0]?.text ?? '').join('')).toBe(cut);
    expect(streamed[streamed.length - 1]!.choices[0]!.finish_reason).toBe('stop');
    // generation ended at the token that completed the stop string
    expect(whole.usage.completion_tokens).toBeLessThan(30);

    const chat = await engine.chat.completions.create({ messages: hi, max_tokens: 20, seed: 4 });
    const text = chat.choices[0]!.message.content!;
    const mid = text.slice(3, 6);
    const stopped = await engine.chat.completions.create({ messages: hi, max_tokens: 20, seed: 4, stop: mid });
    expect(stopped.choices[0]!.message.content).toBe(text.slice(0, text.indexOf(mid)).trim());
  });
});

describe('Engine: abort and the request queue', () => {
  it('a streamed request stops within one step of abort() and the engine takes the next one', async () => {
    const { engine, model } = await tinyEngine();
    const ctl = new AbortController();
    const stream = await engine.chat.completions.create({ messages: hi, max_tokens: 50, seed: 2, stream: true, signal: ctl.signal });
    let contentChunks = 0;
    let callsAtAbort = -1;
    const chunks: ChatCompletionChunk[] = [];
    let caught: unknown = null;
    try {
      for await (const c of stream) {
        chunks.push(c);
        if (c.choices[0]?.delta.content) contentChunks++;
        if (contentChunks === 3 && callsAtAbort < 0) {
          callsAtAbort = model.forwardCalls;
          ctl.abort();
        }
      }
    } catch (e) {
      caught = e;
    }
    expect(callsAtAbort).toBeGreaterThan(0);
    expect(model.forwardCalls - callsAtAbort).toBe(0); // no forward after the abort
    // The stream throws AbortError after the chunks it produced; partial holds their text and more.
    expect(caught).toBeInstanceOf(AbortError);
    const partial = (caught as AbortError).partial!;
    expect(partial.text.startsWith(chatText(chunks).content)).toBe(true);
    expect(partial.usage.completion_tokens).toBeGreaterThan(0);
    expect(chunks.every((c) => c.choices[0]?.finish_reason === null)).toBe(true);
    const next = await engine.chat.completions.create({ messages: hi, max_tokens: 5, seed: 1 });
    expect(next.choices[0]!.finish_reason).toBe('length');
  });

  it('an abort during a forward rejects with AbortError carrying the partial output', async () => {
    const { engine, model } = await tinyEngine();
    const ctl = new AbortController();
    model.onForward = () => {
      if (model.forwardCalls === 5) ctl.abort();
    };
    const e = await engine.chat.completions.create({ messages: hi, max_tokens: 50, seed: 2, signal: ctl.signal }).then(() => null, (x) => x);
    expect(e).toBeInstanceOf(AbortError);
    expect(e.name).toBe('AbortError');
    expect(model.forwardCalls).toBe(5); // the aborted forward was the last
    expect(e.partial.usage.completion_tokens).toBe(4);
    expect(typeof e.partial.text).toBe('string');
    model.onForward = null;
    const next = await engine.chat.completions.create({ messages: hi, max_tokens: 3, seed: 1 });
    expect(next.usage.completion_tokens).toBe(3);
  });

  it('rejects with AbortError when aborted before the model was taken, and keeps the queue moving', async () => {
    const { engine, model } = await tinyEngine();
    const dead = AbortSignal.abort();
    await expect(engine.chat.completions.create({ messages: hi, max_tokens: 3, signal: dead })).rejects.toMatchObject({ code: 'ABORTED', name: 'AbortError' });
    expect(model.forwardCalls).toBe(0);

    const ctl = new AbortController();
    // The CPU model never yields to timers mid-request, so abort from inside the first request.
    model.onForward = () => {
      if (model.forwardCalls === 3) ctl.abort();
    };
    const first = engine.chat.completions.create({ messages: hi, max_tokens: 15, seed: 1 });
    const queued = engine.chat.completions.create({ messages: hi, max_tokens: 15, seed: 2, signal: ctl.signal });
    const third = engine.chat.completions.create({ messages: hi, max_tokens: 4, seed: 3 });
    await expect(queued).rejects.toMatchObject({ code: 'ABORTED' });
    expect((await first).choices[0]!.finish_reason).toBe('length');
    expect((await third).usage.completion_tokens).toBe(4);
  });

  it('runs one request at a time: concurrent requests give their sequential results', async () => {
    const { engine } = await tinyEngine();
    const reqs = [1, 2, 3].map((seed) => ({ messages: [{ role: 'user' as const, content: `Hi ${seed}` }], max_tokens: 8, seed }));
    const sequential = [];
    for (const r of reqs) sequential.push((await engine.chat.completions.create(r)).choices[0]!.message.content);
    const concurrent = await Promise.all(reqs.map((r) => engine.chat.completions.create(r)));
    expect(concurrent.map((c) => c.choices[0]!.message.content)).toEqual(sequential);
  });

  it('a stream left early frees the model', async () => {
    const { engine } = await tinyEngine();
    const stream = await engine.chat.completions.create({ messages: hi, max_tokens: 40, seed: 2, stream: true });
    for await (const c of stream) if (c.choices[0]?.delta.content) break;
    const r = await engine.chat.completions.create({ messages: hi, max_tokens: 2, seed: 1 });
    expect(r.usage.completion_tokens).toBe(2);
  });
});

describe('Engine: KV-cache prefix reuse', () => {
  it('the second turn prefills only the tokens after the shared prefix', async () => {
    const { engine, model } = await tinyEngine();
    const turn1 = { messages: hi, max_tokens: 8, seed: 1, temperature: 0 };
    const p1 = tok.encode(engine.renderPrompt(turn1), { addSpecialTokens: false });
    const r1 = await engine.chat.completions.create(turn1);
    const cacheAfter1 = [...model.cachedTokens()];
    expect(cacheAfter1.length).toBe(p1.length + 7); // the last sampled token is never forwarded

    const turn2 = { ...turn1, messages: [...hi, { role: 'assistant' as const, content: r1.choices[0]!.message.content! }, { role: 'user' as const, content: 'And then?' }] };
    const p2 = tok.encode(engine.renderPrompt(turn2), { addSpecialTokens: false });
    let shared = 0;
    while (shared < p2.length && cacheAfter1[shared] === p2[shared]) shared++;
    const calls = model.forwardCalls;
    const r2 = await engine.chat.completions.create(turn2);
    expect(r2.usage.prompt_tokens_details!.cached_tokens).toBe(shared);
    expect(shared).toBeGreaterThanOrEqual(p1.length - 1); // all of turn 1's prompt (its last "▁" re-merges)
    expect(model.forwardLog[calls]).toEqual(p2.slice(shared)); // the prefill: only the new tokens
    expect(model.forwardLog[calls]!.length).toBe(p2.length - shared);
    expect(engine.lastStats).toMatchObject({ promptTokens: p2.length, cachedTokens: shared });

    // an unrelated prompt keeps only the shared start of the template
    const calls3 = model.forwardCalls;
    const turn3 = { messages: [{ role: 'system' as const, content: 'Different.' }, ...hi], max_tokens: 2 };
    const p3 = tok.encode(engine.renderPrompt(turn3), { addSpecialTokens: false });
    const cacheAfter2 = [...model.cachedTokens()];
    let shared3 = 0;
    while (shared3 < p3.length && cacheAfter2[shared3] === p3[shared3]) shared3++;
    const r3 = await engine.chat.completions.create(turn3);
    expect(shared3).toBeLessThan(4); // <|begin_of_sentence|> and the first piece
    expect(r3.usage.prompt_tokens_details!.cached_tokens).toBe(shared3);
    expect(model.forwardLog[calls3]!.length).toBe(r3.usage.prompt_tokens - shared3);
  });
});

describe('Engine: context length', () => {
  it('refuses prompt + max_tokens beyond the context with both numbers', async () => {
    const { engine } = await tinyEngine({}, { contextLength: 40 });
    const promptTokens = tok.encode(engine.renderPrompt({ messages: hi }), { addSpecialTokens: false }).length;
    const err = await engine.chat.completions.create({ messages: hi, max_tokens: 30 }).catch((e) => e);
    expect(err).toBeInstanceOf(ContextOverflowError);
    expect(err.code).toBe('CONTEXT_OVERFLOW');
    expect(err.message).toContain(`the prompt is ${promptTokens} tokens and 30 more`);
    expect(err.message).toContain('holds 40');
    expect(err.message).toContain(`lower max_tokens to at most ${40 - promptTokens}`);

    const long = await engine.chat.completions.create({ messages: [{ role: 'user', content: 'word '.repeat(60) }] }).catch((e) => e);
    expect(long).toBeInstanceOf(ContextOverflowError);
    expect(long.message).toContain('shorten the prompt');

    // without max_tokens the reply may fill the context, no more
    const r = await engine.chat.completions.create({ messages: hi, seed: 3, logit_bias: { [tok.eosTokenId!]: -100 } });
    expect(r.usage.total_tokens).toBe(40);
    expect(r.choices[0]!.finish_reason).toBe('length');
  });
});

describe('Engine: JSON mode', () => {
  const bias = closingBias();

  it('json_object output parses for 20 seeds', async () => {
    const { engine } = await tinyEngine();
    for (let seed = 0; seed < 20; seed++) {
      const r = await engine.chat.completions.create({ messages: [{ role: 'user', content: 'JSON' }], max_tokens: 100, seed, response_format: { type: 'json_object' }, logit_bias: bias });
      const c = r.choices[0]!;
      expect(c.finish_reason, c.message.content!).toBe('stop');
      const v = JSON.parse(c.message.content!);
      expect(typeof v === 'object' && v !== null && !Array.isArray(v)).toBe(true);
    }
  });

  it('json_schema output validates against the schema', async () => {
    const { engine } = await tinyEngine();
    const schema = {
      type: 'object',
      properties: { name: { type: 'string' }, age: { type: 'integer' }, ok: { type: 'boolean' }, color: { enum: ['red', 'green', null] } },
      required: ['name', 'age', 'ok'],
    };
    const node = compileJsonSchema(schema);
    for (let seed = 0; seed < 8; seed++) {
      const r = await engine.chat.completions.create({
        messages: [{ role: 'user', content: 'JSON' }], max_tokens: 120, seed, logit_bias: bias,
        response_format: { type: 'json_schema', json_schema: { name: 'person', schema, strict: true } },
      });
      const c = r.choices[0]!;
      expect(c.finish_reason, c.message.content!).toBe('stop');
      expect(validateJson(JSON.parse(c.message.content!), node)).toBeNull();
    }
  });

  it('reports length honestly when the document is cut', async () => {
    const { engine } = await tinyEngine();
    const r = await engine.chat.completions.create({ messages: hi, max_tokens: 3, seed: 1, response_format: { type: 'json_object' } });
    expect(r.choices[0]!.finish_reason).toBe('length');
    expect(r.choices[0]!.message.content!.startsWith('{')).toBe(true);
  });
});

describe('Engine: tools and thinking', () => {
  const weather = { type: 'function' as const, function: { name: 'get_weather', description: 'Weather of a city', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } };

  function scripted(text: string) {
    const model = new ScriptedModel(tok.encode(text, { addSpecialTokens: false }), tok.eosTokenId!, tok.vocabSize);
    const engine = createEngine({ model, tokenizer: tok, modelName: MODEL_NAME, kind: 'chat' });
    return { engine, model };
  }

  it('a <tool_call> block becomes tool_calls, streamed or not, and goes back in the next turn', async () => {
    const out = 'Let me check.\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Beijing"}}\n</tool_call>\n';
    const { engine, model } = scripted(out);
    const req = { messages: [{ role: 'user' as const, content: 'Weather in Beijing?' }], tools: [weather] };
    const r = await engine.chat.completions.create(req);
    const m = r.choices[0]!.message;
    expect(r.choices[0]!.finish_reason).toBe('tool_calls');
    expect(m.content).toBe('Let me check.');
    expect(m.tool_calls).toHaveLength(1);
    expect(m.tool_calls![0]).toMatchObject({ type: 'function', function: { name: 'get_weather', arguments: '{"city":"Beijing"}' } });
    expect(m.tool_calls![0]!.id).toMatch(/^call_/);

    model.rewind();
    const chunks = await collect(await engine.chat.completions.create({ ...req, stream: true }));
    const s = chatText(chunks);
    expect(s.content).toBe('Let me check.');
    expect(s.finish).toBe('tool_calls');
    // As OpenAI streams them: index, id, type and name with empty arguments, then argument pieces.
    const calls = chunks.flatMap((c) => c.choices[0]?.delta.tool_calls ?? []);
    expect(calls[0]).toEqual({ index: 0, id: expect.stringMatching(/^call_/), type: 'function', function: { name: 'get_weather', arguments: '' } });
    expect(calls.length).toBeGreaterThan(2);
    for (const c of calls.slice(1)) expect(c).toEqual({ index: 0, function: { arguments: expect.any(String) } });
    expect(calls.map((c) => c.function!.arguments).join('')).toBe('{"city":"Beijing"}');

    // round trip: the call and its result render into the next prompt
    const next = {
      ...req,
      messages: [...req.messages, { role: 'assistant' as const, content: m.content, tool_calls: m.tool_calls }, { role: 'tool' as const, tool_call_id: m.tool_calls![0]!.id, content: '{"temp": 21}' }],
    };
    const prompt = engine.renderPrompt(next);
    expect(prompt).toContain('<tool_call>\n{"name": "get_weather", "arguments": {"city": "Beijing"}}\n</tool_call>');
    expect(prompt).toContain('User: <tool_response>\n{"temp": 21}\n</tool_response>\nAssistant: ');
    model.rewind();
    expect((await engine.chat.completions.create(next)).choices[0]!.finish_reason).toBe('tool_calls');
  });

  it('reports a malformed tool call instead of dropping it', async () => {
    const { engine } = scripted('<tool_call>\n{"name": "get_weather", "arguments": {"city": }}\n</tool_call>');
    const r = await engine.chat.completions.create({ messages: hi, tools: [weather] });
    const m = r.choices[0]!.message;
    expect(r.choices[0]!.finish_reason).toBe('stop');
    expect(m.tool_calls).toBeUndefined();
    expect(m.tool_call_errors).toEqual([{ raw: expect.stringContaining('{"name": "get_weather", "arguments": {"city": }}'), error: expect.stringMatching(/^not valid JSON/) }]);
  });

  it('leaves tool-call text as content when no tools are on', async () => {
    const { engine } = scripted('<tool_call>\n{"name": "x", "arguments": {}}\n</tool_call>');
    const r = await engine.chat.completions.create({ messages: hi, tools: [weather], tool_choice: 'none' });
    expect(r.choices[0]!.finish_reason).toBe('stop');
    expect(r.choices[0]!.message.content).toContain('<tool_call>');
  });

  it('tool_choice required makes even the random model write a valid call', async () => {
    const { engine } = await tinyEngine();
    const node = compileJsonSchema(weather.function.parameters);
    for (const seed of [1, 2, 3]) {
      const r = await engine.chat.completions.create({
        messages: [{ role: 'user', content: 'Weather?' }], tools: [weather], tool_choice: 'required', seed, max_tokens: 120, logit_bias: closingBias(),
      });
      const c = r.choices[0]!;
      expect(c.finish_reason).toBe('tool_calls');
      expect(c.message.tool_calls).toHaveLength(1);
      expect(c.message.tool_calls![0]!.function.name).toBe('get_weather');
      expect(validateJson(JSON.parse(c.message.tool_calls![0]!.function.arguments), node)).toBeNull();
    }
  });

  it('splits reasoning at </think>, streamed or not', async () => {
    const out = '<think>The user greets me.\n</think>\n\n\n<response>\nHello there!\n</response>\n';
    const { engine, model } = scripted(out);
    const r = await engine.chat.completions.create({ messages: hi, enable_thinking: true });
    expect(r.choices[0]!.message).toMatchObject({ content: 'Hello there!', reasoning_content: 'The user greets me.' });
    model.rewind();
    const s = chatText(await collect(await engine.chat.completions.create({ messages: hi, enable_thinking: true, stream: true })));
    expect(s).toEqual({ content: 'Hello there!', reasoning: 'The user greets me.', finish: 'stop' });
    // a plain reply has no reasoning_content
    const plain = scripted('Just text.');
    const p = await plain.engine.chat.completions.create({ messages: hi });
    expect(p.choices[0]!.message).toEqual({ role: 'assistant', content: 'Just text.', refusal: null });
  });
});

describe('Engine: base models and lifecycle', () => {
  it('a base model serves completions (text or ids, echo) and refuses chat clearly', async () => {
    const { engine } = await tinyEngine({ kind: 'base' });
    const err = await engine.chat.completions.create({ messages: hi }).catch((e) => e);
    expect(err).toBeInstanceOf(BadRequestError);
    expect(err.param).toBe('model');
    expect(err.message).toMatch(/base model.*completions\.create/);

    const ids = tok.encode('The quick brown fox');
    const a = await engine.completions.create({ prompt: ids, max_tokens: 6, seed: 1 });
    const b = await engine.completions.create({ prompt: 'The quick brown fox', max_tokens: 6, seed: 1, echo: true });
    expect(a.object).toBe('text_completion');
    expect(a.usage).toMatchObject({ prompt_tokens: ids.length, completion_tokens: 6 });
    expect(b.choices[0]!.text).toBe('The quick brown fox' + a.choices[0]!.text);
    // default max_tokens for completions is 16
    const c = await engine.completions.create({ prompt: ids, seed: 2, logit_bias: { [tok.eosTokenId!]: -100 } });
    expect(c.usage.completion_tokens).toBe(16);
  });

  it('refuses requests after dispose', async () => {
    const { engine } = await tinyEngine();
    engine.dispose();
    await expect(engine.chat.completions.create({ messages: hi })).rejects.toThrow(/disposed/);
  });
});
