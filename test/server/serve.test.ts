// `serve` over a real engine (the tiny tokenizer and the CPU model), driven by the official
// `openai` client on 127.0.0.1, and RemoteEngine against it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import OpenAI from 'openai';
import { serveEngine, type RunningServer } from '../../src/server/openai_server';
import { RemoteEngine } from '../../src/remote/remote_engine';
import { AbortError } from '../../src/errors';
import { BadRequestError } from '../../src/api/errors';
import type { Engine } from '../../src/api/engine';
import type { ChatCompletion, ChatCompletionChunk } from '../../src/api/types';
import { MODEL_NAME, tinyEngine } from '../api/helpers';

let engine: Engine;
let server: RunningServer;
let client: OpenAI;
const KEY = 'test-key';
const messages = [{ role: 'user' as const, content: 'Hello there' }];

beforeAll(async () => {
  ({ engine } = await tinyEngine());
  server = await serveEngine(engine, { port: 0, apiKey: KEY });
  client = new OpenAI({ baseURL: server.baseURL, apiKey: KEY, maxRetries: 0 });
});
afterAll(async () => {
  await server?.close();
});

describe('serve with the official openai client', () => {
  it('listens on loopback and lists the model', async () => {
    expect(server.baseURL).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1$/);
    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toEqual([MODEL_NAME]);
  });

  it('a chat completion equals the engine\'s own for the same seed', async () => {
    const req = { model: MODEL_NAME, messages, max_tokens: 8, temperature: 0.9, seed: 5 };
    const remote = await client.chat.completions.create(req);
    const local = (await engine.chat.completions.create(req)) as ChatCompletion;
    expect(remote.choices[0]!.message.content).toBe(local.choices[0]!.message.content);
    expect(remote.usage).toEqual(expect.objectContaining({ completion_tokens: local.usage.completion_tokens, prompt_tokens: local.usage.prompt_tokens }));
    expect(remote.choices[0]!.message.refusal).toBeNull();
    const two = await client.chat.completions.create({ ...req, n: 2 });
    expect(two.choices.map((c) => c.index)).toEqual([0, 1]);
    expect(two.choices[0]!.message.content).toBe(local.choices[0]!.message.content);
  });

  it('streams SSE chunks the client reads, with the usage chunk last', async () => {
    const req = { model: MODEL_NAME, messages, max_tokens: 8, temperature: 0.9, seed: 5 };
    const local = (await engine.chat.completions.create(req)) as ChatCompletion;
    const stream = await client.chat.completions.create({ ...req, stream: true, stream_options: { include_usage: true } });
    const chunks: OpenAI.Chat.ChatCompletionChunk[] = [];
    for await (const c of stream) chunks.push(c);
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe(local.choices[0]!.message.content);
    const last = chunks.at(-1)!;
    expect(last.choices).toEqual([]);
    expect(last.usage?.completion_tokens).toBe(local.usage.completion_tokens);
    expect(chunks.at(-2)!.choices[0]!.finish_reason).toBe(local.choices[0]!.finish_reason);
  });

  it('raw SSE is data: lines and [DONE]', async () => {
    const r = await fetch(`${server.baseURL}/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
      body: JSON.stringify({ prompt: 'Hello', max_tokens: 3, temperature: 0, stream: true }),
    });
    expect(r.headers.get('content-type')).toBe('text/event-stream');
    const events = (await r.text()).split('\n\n').filter(Boolean);
    expect(events.at(-1)).toBe('data: [DONE]');
    for (const e of events.slice(0, -1)) expect(JSON.parse(e.replace(/^data: /, '')).object).toBe('text_completion');
  });

  it('errors are OpenAI error objects with the right status', async () => {
    const bad = await client.chat.completions.create({ model: MODEL_NAME, messages, temperature: 5 }).then(() => null, (e) => e);
    expect(bad).toBeInstanceOf(OpenAI.BadRequestError);
    expect(bad.status).toBe(400);
    expect(bad.error).toMatchObject({ type: 'invalid_request_error', param: 'temperature' });
    const wrongModel = await client.chat.completions.create({ model: 'gpt-9', messages }).then(() => null, (e) => e);
    expect(wrongModel).toBeInstanceOf(OpenAI.NotFoundError);
    const overflow = await client.completions.create({ model: MODEL_NAME, prompt: 'Hello', max_tokens: 100_000 }).then(() => null, (e) => e);
    expect(overflow.status).toBe(400);
    expect(overflow.error).toMatchObject({ code: 'context_length_exceeded', param: 'max_tokens' });
    const noKey = new OpenAI({ baseURL: server.baseURL, apiKey: 'wrong', maxRetries: 0 });
    await expect(noKey.models.list()).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
  });

  it('a client abort mid-stream stops generation and the server takes the next request', async () => {
    const ctl = new AbortController();
    const stream = await client.chat.completions.create({ model: MODEL_NAME, messages, max_tokens: 400, temperature: 0.9, seed: 3, stream: true }, { signal: ctl.signal });
    const before = engine.lastStats;
    let n = 0;
    const err = await (async () => {
      for await (const _ of stream) if (++n === 3) ctl.abort();
    })().then(() => null, (e) => e);
    // The SDK ends the loop quietly (or with APIUserAbortError) when its signal fires.
    if (err !== null) expect(err).toBeInstanceOf(OpenAI.APIUserAbortError);
    // The server saw the connection close and the engine ended that request long before 400 tokens.
    const t0 = performance.now();
    while (engine.lastStats === before && performance.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 20));
    expect(engine.lastStats).not.toBe(before);
    expect(engine.lastStats!.completionTokens).toBeLessThan(50);
    const next = await client.chat.completions.create({ model: MODEL_NAME, messages, max_tokens: 2, temperature: 0 });
    expect(next.choices[0]!.finish_reason).toBe('length');
    expect(engine.lastStats!.completionTokens).toBe(2);
  });
});

describe('RemoteEngine against serve', () => {
  it('gives the local engine\'s output for the same seed, whole and streamed', async () => {
    const remote = new RemoteEngine({ baseURL: server.baseURL, apiKey: KEY });
    const req = { messages, max_tokens: 8, temperature: 0.9, seed: 9 };
    const local = (await engine.chat.completions.create(req)) as ChatCompletion;
    const whole = await remote.chat.completions.create(req);
    expect(whole.choices[0]!.message).toEqual(local.choices[0]!.message);
    let text = '';
    for await (const c of await remote.chat.completions.create({ ...req, stream: true })) text += (c as ChatCompletionChunk).choices[0]?.delta.content ?? '';
    expect(text).toBe(local.choices[0]!.message.content);
    const lc = await engine.completions.create({ prompt: 'Hi', max_tokens: 5, seed: 2 });
    const rc = await remote.completions.create({ prompt: 'Hi', max_tokens: 5, seed: 2 });
    expect(rc.choices[0]!.text).toBe(lc.choices[0]!.text);
    expect(await remote.models()).toEqual([MODEL_NAME]);
  });

  it('typed errors and AbortError', async () => {
    const remote = new RemoteEngine({ baseURL: server.baseURL, apiKey: KEY });
    const bad = await remote.chat.completions.create({ messages, top_p: 7 }).then(() => null, (e) => e);
    expect(bad).toBeInstanceOf(BadRequestError);
    expect(bad.param).toBe('top_p');
    const ctl = new AbortController();
    const stream = await remote.chat.completions.create({ messages, max_tokens: 400, temperature: 0.9, seed: 1, stream: true, signal: ctl.signal });
    let n = 0;
    const err = await (async () => {
      for await (const _ of stream) if (++n === 2) ctl.abort();
    })().then(() => null, (e) => e);
    expect(err).toBeInstanceOf(AbortError);
    const pre = new AbortController();
    pre.abort();
    await expect(remote.chat.completions.create({ messages, signal: pre.signal })).rejects.toBeInstanceOf(AbortError);
    const wrongKey = new RemoteEngine({ baseURL: server.baseURL, apiKey: 'nope' });
    await expect(wrongKey.chat.completions.create({ messages })).rejects.toMatchObject({ name: 'RemoteError', status: 401 });
  });
});

describe('serve with cors', () => {
  it('answers the preflight without the key and marks every answer with the allowed origin; without cors there is no CORS header', async () => {
    const s = await serveEngine(engine, { port: 0, apiKey: KEY, cors: 'http://127.0.0.1:4173' });
    try {
      const pre = await fetch(`${s.baseURL}/chat/completions`, { method: 'OPTIONS', headers: { origin: 'http://127.0.0.1:4173', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' } });
      expect(pre.status).toBe(204);
      expect(pre.headers.get('access-control-allow-origin')).toBe('http://127.0.0.1:4173');
      expect(pre.headers.get('access-control-allow-headers')).toBe('authorization, content-type');
      expect(pre.headers.get('access-control-allow-methods')).toContain('POST');
      const ok = await fetch(`${s.baseURL}/models`, { headers: { authorization: `Bearer ${KEY}` } });
      expect(ok.status).toBe(200);
      expect(ok.headers.get('access-control-allow-origin')).toBe('http://127.0.0.1:4173');
      const denied = await fetch(`${s.baseURL}/models`);
      expect(denied.status).toBe(401); // the browser can read why
      expect(denied.headers.get('access-control-allow-origin')).toBe('http://127.0.0.1:4173');
    } finally {
      await s.close();
    }
    const plain = await fetch(`${server.baseURL}/models`, { headers: { authorization: `Bearer ${KEY}` } });
    expect(plain.headers.get('access-control-allow-origin')).toBeNull();
  });
});
