// Tools beyond the basic round trip (engine.test.ts): parameters compiled at request time,
// strict: true constraining the JSON after <tool_call> while the model chooses freely to call,
// undeclared functions and schema violations reported in tool_call_errors, streamed fragments
// of a call whose header the reader meets late, and no SentencePiece space after tag tokens.
import { beforeAll, describe, expect, it } from 'vitest';
import { createEngine, type Engine } from '../../src/api/engine';
import { BadRequestError } from '../../src/api/errors';
import type { ChatCompletion, ChatCompletionChunk } from '../../src/api/types';
import { compileJsonSchema, validateJson } from '../../src/sampling/json_schema';
import { collect, MODEL_NAME, tinyEngine, tinyTokenizer } from './helpers';
import { ScriptedModel } from './scripted_model';

const tok = tinyTokenizer();
const params = {
  type: 'object',
  properties: { city: { type: 'string', maxLength: 12 }, days: { type: 'integer', minimum: 1, maximum: 7 } },
  required: ['city', 'days'],
  additionalProperties: false,
};
const forecast = (strict: boolean) => ({ type: 'function' as const, function: { name: 'forecast', parameters: params, strict } });
const messages = [{ role: 'user' as const, content: 'Forecast for Paris?' }];

function scripted(text: string): Engine {
  const model = new ScriptedModel(tok.encode(text, { addSpecialTokens: false }), tok.eosTokenId!, tok.vocabSize);
  return createEngine({ model, tokenizer: tok, modelName: MODEL_NAME, kind: 'chat' });
}

/** Favour <tool_call> (so the random model calls at once) and closing characters (so JSON ends). */
function callBias(): Record<string, number> {
  const bias: Record<string, number> = { [tok.tokenToId('<tool_call>')!]: 100 };
  for (let id = 0; id < tok.vocabSize; id++) if (!tok.isSpecial(id) && /["}\]]/.test(tok.idToToken(id)!)) bias[id] = 6;
  return bias;
}

let random: Engine;
beforeAll(async () => {
  ({ engine: random } = await tinyEngine());
});

describe('tools', () => {
  it('a parameters schema the compiler refuses is a BadRequestError naming it, under any tool_choice', async () => {
    const bad = { type: 'function' as const, function: { name: 'f', parameters: { type: 'object', properties: { a: { type: 'strin' } } } } };
    for (const tool_choice of [undefined, 'auto' as const]) {
      const e = await random.chat.completions.create({ messages, tools: [forecast(false), bad], tool_choice }).then(() => null, (x) => x);
      expect(e).toBeInstanceOf(BadRequestError);
      expect(e.param).toBe('tools[1].function.parameters');
    }
    await expect(random.chat.completions.create({ messages, tools: [{ type: 'function', function: { name: 'f', strict: 'yes' } }] } as never)).rejects.toMatchObject({ param: 'tools[0].function.strict' });
  });

  it('strict: true constrains the arguments once the model writes <tool_call>; without it the random model writes junk', async () => {
    const node = compileJsonSchema(params);
    const req = { messages, max_tokens: 50, logit_bias: callBias(), stop: ['</tool_call>'] };
    for (const seed of [1]) {
      const r = (await random.chat.completions.create({ ...req, seed, tools: [forecast(true)] })) as ChatCompletion;
      const m = r.choices[0]!.message;
      expect(m.tool_call_errors).toBeUndefined();
      expect(m.tool_calls).toHaveLength(1);
      expect(m.tool_calls![0]!.function.name).toBe('forecast');
      expect(validateJson(JSON.parse(m.tool_calls![0]!.function.arguments), node)).toBeNull();
    }
    const free = (await random.chat.completions.create({ ...req, max_tokens: 8, seed: 1, tools: [forecast(false)] })) as ChatCompletion;
    expect(free.choices[0]!.message.tool_calls).toBeUndefined();
    expect(free.choices[0]!.message.tool_call_errors!.length).toBeGreaterThan(0);
  });

  it('calls to undeclared functions and arguments that break the schema land in tool_call_errors', async () => {
    const text = '<tool_call>\n{"name": "launch", "arguments": {}}\n</tool_call>\n<tool_call>\n{"name": "forecast", "arguments": {"city": "Paris", "days": 30}}\n</tool_call>\n<tool_call>\n{"name": "forecast", "arguments": {"city": "Rome", "days": 2}}\n</tool_call>';
    const r = (await scripted(text).chat.completions.create({ messages, tools: [forecast(false)] })) as ChatCompletion;
    const m = r.choices[0]!.message;
    expect(m.tool_calls!.map((c) => c.function.arguments)).toEqual(['{"city":"Rome","days":2}']);
    expect(m.tool_call_errors).toEqual([
      { raw: expect.stringContaining('"launch"'), error: expect.stringMatching(/"launch", which is not one of the tools \(forecast\)/) },
      { raw: expect.stringContaining('"days": 30'), error: expect.stringMatching(/do not match the parameters of "forecast"/) },
    ]);
    expect(r.choices[0]!.finish_reason).toBe('tool_calls');
    // Streamed: the failing call was announced (index 0) and its error says so; the good one is index 1.
    const chunks = await collect((await scripted(text).chat.completions.create({ messages, tools: [forecast(false)], stream: true })) as AsyncIterable<ChatCompletionChunk>);
    const errors = chunks.flatMap((c) => c.choices[0]?.delta.tool_call_errors ?? []);
    expect(errors.map((e) => e.index)).toEqual([undefined, 0]);
    const deltas = chunks.flatMap((c) => c.choices[0]?.delta.tool_calls ?? []);
    expect(deltas.filter((d) => d.index === 1).map((d) => d.function!.arguments).join('')).toBe('{"city":"Rome","days":2}');
  });

  it('a block whose arguments come before its name is sent whole when it closes', async () => {
    const text = '<tool_call>\n{"arguments": {"city": "Oslo", "days": 1}, "name": "forecast"}\n</tool_call>';
    const chunks = await collect((await scripted(text).chat.completions.create({ messages, tools: [forecast(false)], stream: true })) as AsyncIterable<ChatCompletionChunk>);
    const deltas = chunks.flatMap((c) => c.choices[0]?.delta.tool_calls ?? []);
    expect(deltas).toEqual([{ index: 0, id: expect.stringMatching(/^call_/), type: 'function', function: { name: 'forecast', arguments: '{"city":"Oslo","days":1}' } }]);
  });

  it('no stray space after a tag token: "<tool_call>\\n{" stays as written', async () => {
    const text = '<tool_call>\n{"name": "x", "arguments": {}}\n</tool_call>';
    // The tokenizer puts a "▁" after the tag, as SentencePiece does after added tokens.
    const ids = tok.encode(text, { addSpecialTokens: false });
    expect(tok.idToToken(ids[1]!)).toBe('\u2581');
    const r = (await scripted(text).chat.completions.create({ messages, tools: [forecast(false)], tool_choice: 'none' })) as ChatCompletion;
    expect(r.choices[0]!.message.content).toBe(text);
  });
});

describe('strict tools and reasoning', () => {
  /** A model writing `text`, without the "▁" SentencePiece puts between <tool_call> and "\n" (the grammar wants the "\n"). */
  const scriptedCall = (text: string): Engine => {
    const call = tok.tokenToId('<tool_call>')!, nl = tok.encode('\n', { addSpecialTokens: false }).at(-1)!;
    const ids = tok.encode(text, { addSpecialTokens: false }).filter((id, i, a) => !(i > 0 && a[i - 1] === call && a[i + 1] === nl && tok.idToToken(id) === '\u2581'));
    return createEngine({ model: new ScriptedModel(ids, tok.eosTokenId!, tok.vocabSize), tokenizer: tok, modelName: MODEL_NAME, kind: 'chat' });
  };
  const call = '<tool_call>\n{"name": "forecast", "arguments": {"city":"Rome","days":2}}\n</tool_call>'; // compact arguments, as the grammar writes them
  it('a literal <tool_call> inside the reasoning does not start the grammar; the one in the answer does', async () => {
    // The scripted model throws if a token the grammar mask excludes comes up: the free words
    // after the first <tool_call> would, were the grammar started there.
    const text = `<think>I could write <tool_call> with junk here, {not json.</think>\n\n${call}`;
    const r = (await scriptedCall(text).chat.completions.create({ messages, tools: [forecast(true)] })) as ChatCompletion;
    const m = r.choices[0]!.message;
    expect(m.reasoning_content).toMatch(/^I could write <tool_call> ?with junk here, \{not json\.$/);
    expect(m.tool_calls!.map((c) => c.function.arguments)).toEqual(['{"city":"Rome","days":2}']);
    expect(r.choices[0]!.finish_reason).toBe('tool_calls');
    // Without reasoning the grammar starts at the first <tool_call>: the same junk is refused.
    await expect(scriptedCall(`<tool_call> with junk here</tool_call>`).chat.completions.create({ messages, tools: [forecast(true)] })).rejects.toThrow(/not allowed here/);
  });

  it('a call written right away (no <think>) is constrained from its first token', async () => {
    const r = (await scriptedCall(call).chat.completions.create({ messages, tools: [forecast(true)] })) as ChatCompletion;
    expect(r.choices[0]!.message.tool_calls).toHaveLength(1);
    expect(r.choices[0]!.message.reasoning_content).toBeUndefined();
  });
});
