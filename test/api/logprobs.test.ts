// logprobs / top_logprobs through the engine over the CPU model: OpenAI's shapes for chat and
// completions, streamed chunks adding up to the whole response, values equal to a log-softmax
// of the model's logits at each step (recomputed here from the model's own forward), and the
// request checks. The GPU values are checked against the reference in gpu_engine.test.ts.
import { beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../src/api/engine';
import type { ChatCompletion, ChatCompletionChunk, Completion, CompletionChunk } from '../../src/api/types';
import { BadRequestError } from '../../src/api/errors';
import { collect, tinyEngine, tinyTokenizer } from './helpers';
import type { CpuModel } from './cpu_model';
import { logSoftmax, topLogprobs } from '../reference/logprobs_ref';
import { decodeByteRun } from '../../src/text/decoder';

let engine: Engine;
let model: CpuModel;
const messages = [{ role: 'user' as const, content: 'Tell me a story' }];

beforeAll(async () => {
  ({ engine, model } = await tinyEngine());
});

describe('logprobs', () => {
  it('chat: content[] holds every sampled token with its log p, text, bytes and sorted alternatives', async () => {
    const steps: { id: number; logits: Float64Array }[] = [];
    model.onSample = (id) => steps.push({ id, logits: model.lastLogits().slice() });
    const res = (await engine.chat.completions.create({ messages, max_tokens: 6, temperature: 0.9, seed: 4, logprobs: true, top_logprobs: 3 })) as ChatCompletion;
    model.onSample = null;
    const content = res.choices[0]!.logprobs!.content!;
    expect(res.choices[0]!.logprobs!.refusal).toBeNull();
    const stop = new Set(tinyTokenizer().stopTokenIds);
    const sampled = steps.filter((s) => !stop.has(s.id));
    expect(content).toHaveLength(sampled.length);
    content.forEach((c, i) => {
      const { id, logits } = sampled[i]!;
      expect(c.logprob).toBeCloseTo(logSoftmax(logits)[id]!, 10);
      const byte = /^bytes:\\x([0-9a-f]{2})$/.exec(c.token);
      // A byte-fallback token is its one byte (partial UTF-8), as OpenAI writes it.
      expect(c.bytes).toEqual(byte ? [parseInt(byte[1]!, 16)] : Array.from(new TextEncoder().encode(c.token)));
      expect(c.top_logprobs.map((t) => t.logprob)).toEqual(topLogprobs(logits, 3).map((t) => t.logprob));
      expect(c.top_logprobs.map((t) => t.token)).toHaveLength(3);
    });
    // The tokens' bytes spell the reply (no tags in this one), one U+FFFD per stray byte as the decoder writes it.
    let text = '';
    let run: number[] = [];
    for (const c of content) {
      if (c.token.startsWith('bytes:')) run.push(...c.bytes!);
      else {
        text += decodeByteRun(run) + c.token;
        run = [];
      }
    }
    text += decodeByteRun(run);
    expect(text.trim()).toBe(res.choices[0]!.message.content);
  });

  it('chat: streamed chunks carry the same entries as the whole response, in order', async () => {
    const req = { messages, max_tokens: 8, temperature: 0.9, seed: 11, logprobs: true, top_logprobs: 2 };
    const whole = (await engine.chat.completions.create(req)) as ChatCompletion;
    const chunks = await collect((await engine.chat.completions.create({ ...req, stream: true })) as AsyncIterable<ChatCompletionChunk>);
    const streamed = chunks.flatMap((c) => c.choices[0]?.logprobs?.content ?? []);
    expect(streamed).toEqual(whole.choices[0]!.logprobs!.content);
    // A chunk with text carries logprobs of at least the tokens that made it.
    for (const c of chunks) if (c.choices[0]?.logprobs) expect(c.choices[0].logprobs.content!.length).toBeGreaterThan(0);
  });

  it('logprobs off: choices[].logprobs is null; top_logprobs 0 gives empty alternatives', async () => {
    const off = (await engine.chat.completions.create({ messages, max_tokens: 2, seed: 1 })) as ChatCompletion;
    expect(off.choices[0]!.logprobs).toBeNull();
    const zero = (await engine.chat.completions.create({ messages, max_tokens: 2, seed: 1, logprobs: true })) as ChatCompletion;
    for (const c of zero.choices[0]!.logprobs!.content!) expect(c.top_logprobs).toEqual([]);
  });

  it('completions: tokens, token_logprobs, top_logprobs and text_offset, streamed equal to whole', async () => {
    const req = { prompt: 'Once upon', max_tokens: 6, temperature: 0, logprobs: 4 };
    const whole = (await engine.completions.create(req)) as Completion;
    const lp = whole.choices[0]!.logprobs!;
    const stops = new Set(tinyTokenizer().stopTokenIds);
    expect(lp.tokens.length).toBe(whole.usage.completion_tokens - (whole.choices[0]!.finish_reason === 'stop' && stops.size ? 1 : 0));
    expect(lp.token_logprobs).toHaveLength(lp.tokens.length);
    let at = 0;
    lp.tokens.forEach((t, i) => {
      expect(lp.text_offset[i]).toBe(at);
      at += t.length;
      // Greedy: the sampled token is the best alternative.
      expect(Object.keys(lp.top_logprobs[i]!).length).toBeGreaterThan(0);
      expect(Math.max(...Object.values(lp.top_logprobs[i]!))).toBeCloseTo(lp.token_logprobs[i]!, 10);
    });
    const chunks = await collect((await engine.completions.create({ ...req, stream: true })) as AsyncIterable<CompletionChunk>);
    const joined = { tokens: [] as string[], token_logprobs: [] as number[], text_offset: [] as number[] };
    for (const c of chunks) {
      const l = c.choices[0]?.logprobs;
      if (!l) continue;
      joined.tokens.push(...l.tokens);
      joined.token_logprobs.push(...l.token_logprobs);
      joined.text_offset.push(...l.text_offset);
    }
    expect(joined).toEqual({ tokens: lp.tokens, token_logprobs: lp.token_logprobs, text_offset: lp.text_offset });
  });

  it('refuses bad values naming the field', async () => {
    const bad = async (req: object, param: string) => {
      const e = await engine.chat.completions.create({ messages, ...req } as never).then(() => null, (x) => x);
      expect(e).toBeInstanceOf(BadRequestError);
      expect(e.param).toBe(param);
    };
    await bad({ logprobs: true, top_logprobs: 21 }, 'top_logprobs');
    await bad({ top_logprobs: 2 }, 'top_logprobs');
    await bad({ logprobs: 1 }, 'logprobs');
    const c = await engine.completions.create({ prompt: 'x', logprobs: 2, echo: true }).then(() => null, (x) => x);
    expect(c).toMatchObject({ param: 'logprobs' });
    await expect(engine.completions.create({ prompt: 'x', logprobs: -1 })).rejects.toMatchObject({ param: 'logprobs' });
  });
});
