// The tiny VL model through the engine API: image chats (data:, http and byte images) give the
// first-step logits and greedy tokens of the direct ErnieVlForward path on the same ids; the
// registry-loaded model port reproduces HF's greedy tokens for the fixture's own prompt;
// thinking on/off renders as the VL template says; prefix reuse keeps an image's KV only for the
// same pixels; hostile images are typed errors before the model runs.
import { readFileSync } from 'node:fs';
import { encode as encodePng } from 'fast-png';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine, type Engine } from '../../src/api/engine.js';
import type { ChatCompletionChunk, ChatMessageParam } from '../../src/api/types.js';
import { textForward, type GpuForward } from '../../src/engine/gpu_forward.js';
import { GpuLanguageModel } from '../../src/engine/gpu_model.js';
import type { LanguageModel, SampleStep } from '../../src/engine/language_model.js';
import { loadTokenizer } from '../../src/engine/load.js';
import { familyOf, familyOfFolder } from '../../src/engine/registry.js';
import { nodeFolder } from '../../src/formats/node_source.js';
import type { GpuContext } from '../../src/gpu/context.js';
import { decodeImage } from '../../src/image/decode.js';
import { sample } from '../../src/kernels/sample.js';
import { loadErnieVlFromFolder } from '../../src/model/ernie45_vl/load.js';
import { preprocessImage, type PreprocessorConfig } from '../../src/model/ernie45_vl/preprocess.js';
import type { ErnieVlForward } from '../../src/model/ernie45_vl/forward.js';
import type { ErnieTokenizer } from '../../src/text/tokenizer.js';
import { gpuContext } from '../helpers/gpu.js';
import { serveBytes, startServer, type TestServer } from '../helpers/http_server.js';
import { VL } from '../helpers/vl_fixture.js';
import { maxAbsDiff } from '../reference/ops.js';

const TOK = 'test/fixtures/ernie45-vl-tiny-tokenizer';
const PNG = readFileSync(`${VL}/test_image.png`);
const ref = JSON.parse(readFileSync(`${VL}/reference.json`, 'utf8')) as { input_ids: number[]; greedy: number[] };
const dataUrl = (b: Uint8Array, type = 'image/png') => `data:${type};base64,${Buffer.from(b).toString('base64')}`;
const KV_BYTES = 200 * 1536; // 200 tokens: 3 layers x (K, V) x 2 heads x 32 dims x 4 bytes per token

let ctx: GpuContext;
let tokenizer: ErnieTokenizer;
let lm: GpuLanguageModel;
let forward: GpuForward;
let engine: Engine;
let direct: ErnieVlForward;
let pre: PreprocessorConfig;
let server: TestServer;
const sampled: number[] = [];
/** First-step logits of the data: URL image chat (the http test compares with them). */
let imageChatLogits: Float32Array;

/** The model port, recording every sampled id. */
function recording(m: LanguageModel): LanguageModel {
  return {
    get contextLength() { return m.contextLength; },
    get vocabSize() { return m.vocabSize; },
    vision: m.vision,
    cachedTokens: () => m.cachedTokens(),
    cachedImages: () => m.cachedImages!(),
    truncate: (n) => m.truncate(n),
    forward: (ids, signal, prompt) => m.forward(ids, signal, prompt),
    sample: async (s: SampleStep) => {
      const id = await m.sample(s);
      sampled.push(id);
      return id;
    },
    dispose: () => m.dispose(),
  };
}

async function readLogits(buffer: GPUBuffer, n: number): Promise<Float32Array> {
  return ctx.readF32(buffer, 0, n);
}

/** The ids the engine should build: the rendered prompt with each placeholder expanded to `tokens[k]` copies. */
function expandedIds(text: string, tokens: number[]): { ids: number[]; starts: number[] } {
  const ids: number[] = [];
  const starts: number[] = [];
  let k = 0;
  for (const id of tokenizer.encode(text, { addSpecialTokens: false })) {
    if (id !== 2000) ids.push(id);
    else {
      starts.push(ids.length);
      for (let i = 0; i < tokens[k]!; i++) ids.push(2000);
      k++;
    }
  }
  return { ids, starts };
}

/** Greedy ids of the direct VL forward (stopping at the tokenizer's stop ids), and its first logits. */
async function directGreedy(ids: number[], pngs: Uint8Array[], count: number): Promise<{ ids: number[]; logits: Float32Array }> {
  direct.truncate(0);
  await direct.prefill(ids, pngs.map((b) => preprocessImage(decodeImage(b), pre)));
  const V = direct.cfg.text.vocabSize;
  const logits = await readLogits(direct.logitsBuffer, V);
  const result = ctx.createBuffer('token', 4);
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    sample(ctx, { logits: direct.logitsBuffer, row: 0, vocab: tokenizer.vocabSize, result, options: { temperature: 0 }, u: 0 });
    const [id] = await ctx.readU32(result, 0, 1);
    out.push(id!);
    if (tokenizer.stopTokenIds.includes(id!) || i === count - 1) break;
    await direct.decode([id!]);
  }
  result.destroy();
  return { ids: out, logits };
}

beforeAll(async () => {
  ctx = await gpuContext();
  let config;
  ({ tokenizer, config } = await loadTokenizer(nodeFolder(TOK)));
  const family = await familyOfFolder(nodeFolder(VL));
  expect(family.name).toBe('ernie4_5_vl');
  forward = await (await family.open(nodeFolder(VL))).load(ctx, { maxBatch: 8, kvCacheBytes: KV_BYTES });
  lm = new GpuLanguageModel(ctx, forward, tokenizer.vocabSize);
  engine = createEngine({ model: recording(lm), tokenizer, tokenizerConfig: config, modelName: 'vl-tiny', kind: 'chat' });
  ({ forward: direct, preprocessor: pre } = await loadErnieVlFromFolder(ctx, nodeFolder(VL), { maxBatch: 8, kvCacheBytes: KV_BYTES }));
  server = await startServer((req, res, path) => {
    if (path === '/cat.png') serveBytes(req, res, PNG, 'image/png');
    else if (path === '/never.png') return; // holds the request: only an abort ends it
    else if (path === '/huge.png') res.writeHead(200, { 'Content-Type': 'image/png', 'Content-Length': String(100 * 2 ** 20) }).write(PNG); // and holds the rest
    else res.writeHead(404).end('not found');
  });
}, 120_000);

afterAll(async () => {
  await server?.close();
});

const imageTurn = (image: object, text = 'What?'): ChatMessageParam => ({
  role: 'user',
  content: [image as never, { type: 'text', text }],
});

describe('registry', () => {
  it('maps every model_type spelling to its family and refuses unknown ones', () => {
    expect(familyOf('ernie4_5').name).toBe('ernie4_5');
    expect(familyOf('ernie4_5_moe').name).toBe('ernie4_5');
    expect(familyOf('ernie4_5_vl_moe').vision).toBe(true);
    expect(() => familyOf('llama')).toThrow(/model_type "llama" is not supported/);
  });

  it('a text model port refuses media with a BadRequestError', async () => {
    const fake = { kv: { capacity: 8, length: 0 }, cfg: { vocabSize: 4 }, w: { experts: null }, logitsBuffer: null, run: async () => ({}), truncate: () => {} };
    const t = textForward(fake as never);
    expect(t.vision).toBeNull();
    const seg = { start: 0, tokens: 1, pixelValues: new Float32Array(1), grid: { t: 1, h: 2, w: 2 }, key: 'k' };
    await expect(t.run([1], undefined, { media: [seg] })).rejects.toMatchObject({ name: 'BadRequestError', message: /no vision tower/ });
  });
});

describe('VL model through the model port', () => {
  it("the fixture's prompt and image give HF's greedy tokens (the first 6)", async () => {
    lm.truncate(0);
    const image = preprocessImage(decodeImage(PNG), pre);
    await lm.forward(ref.input_ids, undefined, { media: [{ start: 3, tokens: 12, pixelValues: image.pixelValues, grid: image.grid, key: 'fixture' }] });
    const out: number[] = [];
    for (let i = 0; i < 6; i++) {
      const id = await lm.sample({ temperature: 0, u: 0, penaltyTokens: [], logitBias: new Map(), allowedTokens: null } as never);
      out.push(id);
      if (i < 5) await lm.forward([id]);
    }
    expect(out).toEqual(ref.greedy.slice(0, 6));
    expect(lm.cachedImages()).toEqual([{ start: 3, end: 15, key: 'fixture' }]);
  });
});

describe('VL model through engine.chat.completions.create', () => {
  it('an image chat (data: URL) has the direct forward first-step logits and greedy tokens; thinking off by default', async () => {
    lm.truncate(0);
    const req = { messages: [imageTurn({ type: 'image_url', image_url: { url: dataUrl(PNG) } })], temperature: 0, max_tokens: 3 };
    const text = engine.renderPrompt(req);
    expect(text.endsWith('User: Picture 1:<|IMAGE_START|><|IMAGE_PLACEHOLDER|><|IMAGE_END|>What?\nAssistant: <think>\n\n</think>\n\n')).toBe(true);
    const { ids } = expandedIds(text, [12]);
    sampled.length = 0;
    const r = await engine.chat.completions.create({ ...req, max_tokens: 1 });
    expect(r.usage.prompt_tokens).toBe(ids.length);
    expect(lm.cachedTokens()).toEqual(ids);
    const got = (imageChatLogits = await readLogits(forward.logitsBuffer, direct.cfg.text.vocabSize));
    const want = await directGreedy(ids, [PNG], 3);
    expect(maxAbsDiff(got, want.logits)).toBeLessThan(1e-5);
    sampled.length = 0;
    const full = await engine.chat.completions.create(req);
    expect(sampled).toEqual(want.ids);
    expect(full.choices[0]!.message.reasoning_content).toBeUndefined();
  });

  it('enable_thinking true (or reasoning_effort, chat_template_kwargs) opens <think>; the reply is reasoning_content, streamed too', async () => {
    const messages = [imageTurn({ type: 'image', image: new Uint8Array(PNG) })];
    const on = engine.renderPrompt({ messages, enable_thinking: true });
    expect(on.endsWith('\nAssistant: <think>')).toBe(true);
    expect(engine.renderPrompt({ messages, reasoning_effort: 'high' })).toBe(on);
    expect(engine.renderPrompt({ messages, chat_template_kwargs: { enable_thinking: true } })).toBe(on);
    expect(() => engine.renderPrompt({ messages, chat_template_kwargs: { foo: 1 } as never })).toThrow(expect.objectContaining({ param: 'chat_template_kwargs.foo' }));
    expect(engine.renderPrompt({ messages, enable_thinking: false }).endsWith('\nAssistant: <think>\n\n</think>\n\n')).toBe(true);
    sampled.length = 0;
    const stream = await engine.chat.completions.create({ messages, enable_thinking: true, temperature: 0, max_tokens: 3, stream: true });
    const chunks: ChatCompletionChunk[] = [];
    for await (const c of stream) chunks.push(c);
    const want = await directGreedy(expandedIds(on, [12]).ids, [PNG], 3);
    expect(sampled).toEqual(want.ids);
    const reasoning = chunks.map((c) => c.choices[0]?.delta.reasoning_content ?? '').join('');
    const content = chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');
    const textOf = tokenizer.decode(want.ids.filter((id) => !tokenizer.stopTokenIds.includes(id)), { skipSpecialTokens: true });
    const close = textOf.indexOf('</think>');
    expect(reasoning + content).toBe(close < 0 ? textOf : textOf.replace('</think>', '').replace(/^\n+/, ''));
    if (close < 0) expect(content).toBe('');
    const whole = await engine.chat.completions.create({ messages, enable_thinking: true, temperature: 0, max_tokens: 3 });
    expect(typeof whole.choices[0]!.message.reasoning_content).toBe('string');
  });

  it('an http(s) image URL gives what the data: URL gives; a text-only chat through the VL model matches the direct forward', async () => {
    // the cache holds the data: URL chat: the downloaded image has the same pixels, so all but the last token is reused
    await engine.chat.completions.create({ messages: [imageTurn({ type: 'image_url', image_url: { url: dataUrl(PNG) } })], temperature: 0, max_tokens: 1 });
    const r = await engine.chat.completions.create({ messages: [imageTurn({ type: 'image_url', image_url: { url: `${server.base}/cat.png` } })], temperature: 0, max_tokens: 1 });
    expect(r.usage.prompt_tokens_details!.cached_tokens).toBe(r.usage.prompt_tokens - 1);
    expect(maxAbsDiff(await readLogits(forward.logitsBuffer, direct.cfg.text.vocabSize), imageChatLogits)).toBeLessThan(1e-5);

    const textReq = { messages: [{ role: 'user' as const, content: 'Hello there' }], temperature: 0, max_tokens: 1 };
    await engine.chat.completions.create(textReq);
    const got = await readLogits(forward.logitsBuffer, direct.cfg.text.vocabSize);
    const want = await directGreedy(expandedIds(engine.renderPrompt(textReq), []).ids, [], 1);
    expect(maxAbsDiff(got, want.logits)).toBeLessThan(1e-5);
  });

  it("two images and a second turn: the same image keeps its KV (cached_tokens past it), another image's pixels do not", async () => {
    const flipped = decodeImage(PNG);
    const rgba = new Uint8Array(flipped.width * flipped.height * 3);
    for (let i = 0; i < rgba.length; i++) rgba[i] = 255 - flipped.data[i]!;
    const other = encodePng({ width: flipped.width, height: flipped.height, data: rgba, channels: 3, depth: 8 });
    const turn1: ChatMessageParam[] = [{ role: 'user', content: [{ type: 'image_url', image_url: { url: dataUrl(PNG) } }, { type: 'image', image: new Uint8Array(other) }, { type: 'text', text: 'Diff?' }] }];
    lm.truncate(0);
    const a = await engine.chat.completions.create({ messages: turn1, temperature: 0, max_tokens: 2 });
    const { ids, starts } = expandedIds(engine.renderPrompt({ messages: turn1 }), [12, 12]);
    expect(a.usage.prompt_tokens).toBe(ids.length);
    expect(lm.cachedImages().map((c) => c.start)).toEqual(starts);
    const turn2: ChatMessageParam[] = [...turn1, { role: 'assistant', content: 'Two.' }, { role: 'user', content: 'Dark?' }];
    const b = await engine.chat.completions.create({ messages: turn2, temperature: 0, max_tokens: 1 });
    expect(b.usage.prompt_tokens_details!.cached_tokens).toBeGreaterThan(starts[1]! + 12);
    const reused = await readLogits(forward.logitsBuffer, direct.cfg.text.vocabSize);
    const fresh = await directGreedy(expandedIds(engine.renderPrompt({ messages: turn2 }), [12, 12]).ids, [PNG, other], 1);
    expect(maxAbsDiff(reused, fresh.logits)).toBeLessThan(1e-5);
    // the same ids with the second image swapped for the first: its placeholders match, its pixels do not
    const swapped: ChatMessageParam[] = [{ role: 'user', content: [{ type: 'image_url', image_url: { url: dataUrl(PNG) } }, { type: 'image', image: new Uint8Array(PNG) }, { type: 'text', text: 'Diff?' }] }];
    const c = await engine.chat.completions.create({ messages: swapped, temperature: 0, max_tokens: 1 });
    expect(c.usage.prompt_tokens_details!.cached_tokens).toBe(starts[1]);
  });

  it('images past the context are a ContextOverflowError before the model runs', async () => {
    const big = encodePng({ width: 448, height: 448, data: new Uint8Array(448 * 448 * 3).fill(90), channels: 3, depth: 8 });
    const before = lm.cachedTokens().slice();
    sampled.length = 0;
    await expect(engine.chat.completions.create({ messages: [imageTurn({ type: 'image', image: new Uint8Array(big) })] })).rejects.toMatchObject({ code: 'CONTEXT_OVERFLOW', param: 'messages' });
    expect(sampled).toEqual([]);
    expect(lm.cachedTokens()).toEqual(before);
  });
});

describe('hostile images are typed errors before the model runs', () => {
  const withHeader = (w: number, h: number) => {
    const b = new Uint8Array(PNG.subarray(0, 64));
    new DataView(b.buffer).setUint32(16, w);
    new DataView(b.buffer).setUint32(20, h);
    return b;
  };
  const cases: Array<[string, object, RegExp]> = [
    ['a truncated PNG', { type: 'image', image: new Uint8Array(PNG.subarray(0, 100)) }, /cannot decode PNG/],
    ['huge declared dimensions', { type: 'image_url', image_url: { url: dataUrl(withHeader(100_000, 100_000)) } }, /over the limit/],
    ['a 100000 x 10 image', { type: 'image', image: withHeader(100_000, 10) }, /aspect ratio/],
    ['a non-image data: URL', { type: 'image_url', image_url: { url: 'data:text/plain;base64,aGVsbG8=' } }, /text\/plain, not an image/],
    ['bytes that are no image', { type: 'image', image: new TextEncoder().encode('hello, not a picture') }, /not a PNG or JPEG/],
  ];
  for (const [what, part, message] of cases) {
    it(what, async () => {
      const before = lm.cachedTokens().slice();
      sampled.length = 0;
      await expect(engine.chat.completions.create({ messages: [imageTurn(part)] })).rejects.toMatchObject({ name: 'ImageError', code: 'BAD_IMAGE', message });
      expect(sampled).toEqual([]);
      expect(lm.cachedTokens()).toEqual(before);
    });
  }

  it('an http image URL that 404s names the URL; a 100 MiB answer is refused from its Content-Length; an abort while it downloads is an AbortError; a malformed part is a BadRequestError', async () => {
    const e = await engine.chat.completions.create({ messages: [imageTurn({ type: 'image_url', image_url: { url: `${server.base}/missing.png` } })] }).catch((x: unknown) => x);
    expect(e).toMatchObject({ name: 'ImageError', code: 'BAD_IMAGE', message: /missing\.png.*404|404.*missing\.png/s });
    await expect(engine.chat.completions.create({ messages: [imageTurn({ type: 'image_url', image_url: { url: `${server.base}/huge.png` } })] })).rejects.toMatchObject({ name: 'ImageError', message: /67108864-byte limit/ });
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 200);
    await expect(engine.chat.completions.create({ messages: [imageTurn({ type: 'image_url', image_url: { url: `${server.base}/never.png` } })], signal: ac.signal })).rejects.toMatchObject({ code: 'ABORTED' });
    await expect(engine.chat.completions.create({ messages: [imageTurn({ type: 'image_url', image_url: { url: 'ftp://x/y.png' } })] })).rejects.toMatchObject({ name: 'BadRequestError', param: 'messages[0].content[0].image_url.url' });
    await expect(engine.chat.completions.create({ messages: [imageTurn({ type: 'image', image: 'a string' })] })).rejects.toMatchObject({ name: 'BadRequestError', param: 'messages[0].content[0].image' });
  });
});
