// `serve` with the official `openai` client, the outputs serve.test.ts leaves out: tool calls
// streamed in fragments the SDK's own stream helper assembles, json_schema, logprobs (whole and
// streamed, equal to the local engine's), and RemoteEngine reading the same logprobs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import OpenAI from 'openai';
import { serveEngine, type RunningServer } from '../../src/server/openai_server';
import { RemoteEngine } from '../../src/remote/remote_engine';
import { createEngine, type Engine } from '../../src/api/engine';
import type { ChatCompletion, Completion } from '../../src/api/types';
import { compileJsonSchema, validateJson } from '../../src/sampling/json_schema';
import { MODEL_NAME, tinyEngine, tinyTokenizer } from '../api/helpers';
import { ScriptedModel } from '../api/scripted_model';

const tok = tinyTokenizer();
let engine: Engine;
let server: RunningServer;
let client: OpenAI;
let scripted: ScriptedModel;
let toolServer: RunningServer;
let toolClient: OpenAI;
const messages = [{ role: 'user' as const, content: 'Hello there' }];
const weather = { type: 'function' as const, function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } };
const CALL = 'Checking.\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Beijing", "unit": "C"}}\n</tool_call>\n';

beforeAll(async () => {
  ({ engine } = await tinyEngine());
  server = await serveEngine(engine, { port: 0 });
  client = new OpenAI({ baseURL: server.baseURL, apiKey: 'none', maxRetries: 0 });
  scripted = new ScriptedModel(tok.encode(CALL, { addSpecialTokens: false }), tok.eosTokenId!, tok.vocabSize);
  toolServer = await serveEngine(createEngine({ model: scripted, tokenizer: tok, modelName: MODEL_NAME, kind: 'chat' }), { port: 0 });
  toolClient = new OpenAI({ baseURL: toolServer.baseURL, apiKey: 'none', maxRetries: 0 });
});
afterAll(async () => {
  await server?.close();
  await toolServer?.close();
});

describe('serve outputs through the openai client', () => {
  it('tool calls: whole, and streamed as fragments the SDK assembles into the same call', async () => {
    scripted.rewind();
    const whole = await toolClient.chat.completions.create({ model: MODEL_NAME, messages, tools: [weather] });
    expect(whole.choices[0]!.finish_reason).toBe('tool_calls');
    const call = whole.choices[0]!.message.tool_calls![0]! as OpenAI.Chat.ChatCompletionMessageFunctionToolCall;
    expect(call.function).toEqual({ name: 'get_weather', arguments: '{"city":"Beijing","unit":"C"}' });
    scripted.rewind();
    const stream = toolClient.chat.completions.stream({ model: MODEL_NAME, messages, tools: [weather] });
    const fragments: OpenAI.Chat.ChatCompletionChunk.Choice.Delta.ToolCall[] = [];
    stream.on('chunk', (c) => fragments.push(...(c.choices[0]?.delta.tool_calls ?? [])));
    const final = await stream.finalChatCompletion();
    expect(fragments[0]).toMatchObject({ index: 0, id: expect.stringMatching(/^call_/), type: 'function', function: { name: 'get_weather', arguments: '' } });
    expect(fragments.length).toBeGreaterThan(3);
    const assembled = final.choices[0]!.message.tool_calls![0]! as OpenAI.Chat.ChatCompletionMessageFunctionToolCall;
    expect(assembled.function).toEqual(call.function);
    expect(final.choices[0]!.message.content).toBe('Checking.');
    expect(final.choices[0]!.finish_reason).toBe('tool_calls');
  });

  it('json_schema output validates against its schema', async () => {
    const schema = { type: 'object', properties: { ok: { type: 'boolean' } }, required: ['ok'], additionalProperties: false };
    const r = await client.chat.completions.create({
      model: MODEL_NAME, messages, seed: 2, max_tokens: 40,
      response_format: { type: 'json_schema', json_schema: { name: 'answer', schema, strict: true } },
    });
    expect(r.choices[0]!.finish_reason).toBe('stop');
    expect(validateJson(JSON.parse(r.choices[0]!.message.content!), compileJsonSchema(schema))).toBeNull();
    const bad = await client.chat.completions.create({ model: MODEL_NAME, messages, response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { type: 'strin' } } } }).then(() => null, (e) => e);
    expect(bad).toBeInstanceOf(OpenAI.BadRequestError);
    expect(bad.error).toMatchObject({ param: 'response_format.json_schema.schema' });
  });

  it('logprobs: the same numbers as the local engine, whole and streamed; completions too; and through RemoteEngine', async () => {
    const req = { model: MODEL_NAME, messages, max_tokens: 5, temperature: 0.8, seed: 6, logprobs: true, top_logprobs: 2 };
    const local = (await engine.chat.completions.create(req)) as ChatCompletion;
    const whole = await client.chat.completions.create(req);
    expect(whole.choices[0]!.logprobs).toEqual(local.choices[0]!.logprobs);
    const streamed: OpenAI.Chat.ChatCompletionTokenLogprob[] = [];
    for await (const c of await client.chat.completions.create({ ...req, stream: true })) streamed.push(...(c.choices[0]?.logprobs?.content ?? []));
    expect(streamed).toEqual(local.choices[0]!.logprobs!.content);
    const remote = await new RemoteEngine({ baseURL: server.baseURL }).chat.completions.create(req);
    expect(remote.choices[0]!.logprobs).toEqual(local.choices[0]!.logprobs);
    const creq = { model: MODEL_NAME, prompt: 'Hello', max_tokens: 4, temperature: 0, logprobs: 3 };
    const lc = (await engine.completions.create(creq)) as Completion;
    const rc = await client.completions.create(creq);
    expect(rc.choices[0]!.logprobs).toEqual(lc.choices[0]!.logprobs);
    expect(rc.choices[0]!.logprobs!.top_logprobs![0]).toEqual(expect.any(Object));
  });
});
