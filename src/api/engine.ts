// The OpenAI-style engine: engine.chat.completions.create(req) and engine.completions.create(req)
// over one LanguageModel. It validates, renders the chat template, tokenizes, checks the
// context, then runs generate.ts and shapes its events into responses or chunks.
//
// Streaming: with stream: true, create() resolves (after validation, before any model work)
// to an AsyncIterable of chunks. Generation is pulled: the model is taken on the first
// iteration and each step runs when the consumer asks for more; leaving a for-await loop
// early (break/throw) ends the request and frees the model. An iterator that is neither
// drained nor closed keeps the model, so always iterate or call return().
//
// Abort, as the web platform does it: a signal that fires once the request has the model ends
// it within one step (or one prefill chunk), and create() rejects, or the stream throws after
// the chunks already produced, with AbortError (code 'ABORTED') whose `partial` holds the
// output so far and its usage. A signal that fired before (already aborted, or while the
// request queued behind another) rejects with AbortError without `partial`, as nothing ran.
//
// Requests run one at a time, in arrival order. Consecutive requests share the KV cache:
// the longest common prefix of the new prompt and the cached tokens is kept
// (usage.prompt_tokens_details.cached_tokens) and only the rest is prefilled.
//
// Output: reasoning_content is the text before </think> when the rendered prompt opened a
// <think> block, or the reply starts with one (enable_thinking: false turns the latter off).
// With tools (and tool_choice not 'none'), <tool_call> blocks become tool_calls and
// finish_reason 'tool_calls'; blocks that are not valid calls are kept in the extension field
// tool_call_errors. tool_choice 'required' or a named function forces exactly one call with
// the JSON grammar; response_format json_object / json_schema constrains the whole reply
// (a stop string that occurs inside the JSON still cuts it). usage.completion_tokens counts
// every token the model sampled, the end token included.

import type { ImageSegment, LanguageModel, ModelStats } from '../engine/language_model';
import { AbortError, ErnieError, throwIfAborted } from '../errors';
import { ChatTemplate } from '../text/chat_template';
import { CALL_OPEN, randomId, THINK_CLOSE, THINK_OPEN } from '../text/assistant_format';
import type { TokenizerConfig } from '../text/convert';
import type { ErnieTokenizer } from '../text/tokenizer';
import { JsonGrammar, type GrammarPart } from '../sampling/json_grammar';
import { ANY_OBJECT, type SchemaNode } from '../sampling/json_schema';
import { randomSeed } from '../sampling/rng';
import { resolveSampling, type SamplingParams } from '../sampling/params';
import { BadRequestError, ContextOverflowError } from './errors';
import { generate, type GenEvent, type GenFinish, type GenJob, type GenStats } from './generate';
import { LogprobsFormatter, type TokenEvent } from './logprobs';
import { ToolCallReader } from './tool_calls';
import { DeltaTracker, splitOutput, type OutputOptions, type ThinkingMode } from './output';
import { RequestQueue } from './queue';
import { imageRefs, templateMessages, type ImageRef } from './image_parts';
import { imageKey, openImage, type OpenedImage } from './images';
import type {
  ChatCompletion, ChatCompletionChunk, ChatCompletionDelta, ChatCompletionRequest, ChatToolCall, Completion,
  CompletionChunk, CompletionRequest, CompletionUsage, FinishReason,
} from './types';
import {
  validateChatRequest, validateCompletionRequest, type NormalizedChatRequest, type NormalizedCommon, type ToolSchema, type ValidationContext,
} from './validate';

export interface EngineOptions {
  model: LanguageModel;
  tokenizer: ErnieTokenizer;
  /** tokenizer_config.json: its chat_template and special tokens. Default: the tokenizer's. */
  tokenizerConfig?: TokenizerConfig;
  /** The name requests may pass as `model` and responses report. */
  modelName: string;
  /** 'base': completions only; 'chat': both. */
  kind: 'chat' | 'base';
  /** A Jinja chat template that replaces the config's. */
  chatTemplate?: string;
  /** Whether image parts are accepted. Default: whether the model has a vision tower (model.vision). */
  vision?: boolean;
  /** Sampling defaults (e.g. samplingFromGenerationConfig of generation_config.json); a request's own fields win. */
  defaults?: SamplingParams;
}

export interface ChatCompletions {
  create(req: ChatCompletionRequest & { stream: true }): Promise<AsyncIterable<ChatCompletionChunk>>;
  create(req: ChatCompletionRequest & { stream?: false | null }): Promise<ChatCompletion>;
  create(req: ChatCompletionRequest): Promise<ChatCompletion | AsyncIterable<ChatCompletionChunk>>;
}

export interface Completions {
  create(req: CompletionRequest & { stream: true }): Promise<AsyncIterable<CompletionChunk>>;
  create(req: CompletionRequest & { stream?: false | null }): Promise<Completion>;
  create(req: CompletionRequest): Promise<Completion | AsyncIterable<CompletionChunk>>;
}

/** A prepared request: what generate() runs, and how to read its output. */
interface Prepared {
  job: GenJob;
  id: string;
  created: number;
  includeUsage: boolean;
  /** Choices to generate, one after the other (the prompt's KV entries are reused). */
  n: number;
}

function usageOf(s: GenStats): CompletionUsage {
  return {
    prompt_tokens: s.promptTokens,
    completion_tokens: s.completionTokens,
    total_tokens: s.promptTokens + s.completionTokens,
    prompt_tokens_details: { cached_tokens: s.cachedTokens },
  };
}

export class Engine {
  readonly modelName: string;
  readonly kind: 'chat' | 'base';
  readonly chat: { completions: ChatCompletions };
  readonly completions: Completions;
  /** Numbers of the last finished request (cache reuse, timings). */
  lastStats: GenStats | null = null;

  private readonly model: LanguageModel;
  private readonly tokenizer: ErnieTokenizer;
  private readonly template: ChatTemplate | null;
  private readonly queue = new RequestQueue();
  private readonly ctx: ValidationContext;
  private readonly defaults: SamplingParams;
  private readonly logprobsFormat: LogprobsFormatter;
  private disposed = false;
  /** Characters of the longest token string (0 = not yet measured). */
  private longestToken = 0;

  constructor(options: EngineOptions) {
    this.model = options.model;
    this.tokenizer = options.tokenizer;
    this.modelName = options.modelName;
    this.kind = options.kind;
    this.defaults = options.defaults ?? {};
    this.logprobsFormat = new LogprobsFormatter(options.tokenizer);
    this.template = options.kind === 'chat' ? new ChatTemplate(options.tokenizerConfig ?? options.tokenizer.config, options.chatTemplate ?? null) : null;
    this.ctx = {
      modelName: options.modelName,
      vocabSize: Math.min(options.model.vocabSize, options.tokenizer.vocabSize),
      vision: options.vision ?? !!options.model.vision,
    };
    this.chat = { completions: { create: ((req: ChatCompletionRequest) => this.createChat(req)) as ChatCompletions['create'] } };
    this.completions = { create: ((req: CompletionRequest) => this.createCompletion(req)) as Completions['create'] };
  }

  get contextLength(): number {
    return this.model.contextLength;
  }

  /** The chat prompt a request renders to (for inspection; no model work). */
  renderPrompt(req: ChatCompletionRequest): string {
    return this.render(this.validateChat(req));
  }

  /**
   * Counters of the model's caches: for a MoE model on the GPU, the expert cache's per-tier
   * hits and misses, bytes read and uploaded, prefetch precision/recall, readbacks and GPU wait
   * per decoded token (src/experts/stats.ts).
   */
  stats(): ModelStats {
    return this.model.stats?.() ?? { experts: null };
  }

  /** Frees the model. Later requests fail. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.model.dispose();
  }

  // ---- chat ----

  private validateChat(req: ChatCompletionRequest): NormalizedChatRequest {
    this.checkAlive();
    if (this.kind === 'base') {
      throw new BadRequestError('model', `"${this.modelName}" is a base model without a chat template; use engine.completions.create({ prompt }) instead`);
    }
    return validateChatRequest(req, this.ctx);
  }

  private render(n: NormalizedChatRequest): string {
    return this.template!.render({ messages: templateMessages(n.messages), tools: n.tools, enableThinking: n.enableThinking });
  }

  private async createChat(req: ChatCompletionRequest): Promise<ChatCompletion | AsyncIterable<ChatCompletionChunk>> {
    const n = this.validateChat(req);
    const promptText = this.render(n);
    this.checkPromptChars(promptText.length, 'messages');
    let promptIds = this.tokenizer.encode(promptText, { addSpecialTokens: false });
    if (promptIds.length === 0) {
      throw new ErnieError('BAD_CONFIG', `${this.template!.templateFile(n)}: the chat template rendered a prompt that encodes to no tokens (${JSON.stringify(promptText.slice(0, 40))})`);
    }
    const refs = imageRefs(n.messages);
    let media: ImageSegment[] = [];
    if (refs.length) ({ ids: promptIds, media } = await this.promptImages(n, refs, promptIds));
    const grammar = chatGrammar(n);
    const opened = promptText.lastIndexOf(THINK_OPEN) > promptText.lastIndexOf(THINK_CLOSE);
    const thinking: ThinkingMode = grammar ? 'no' : opened ? 'yes' : n.enableThinking === false ? 'no' : 'auto';
    // Under response_format JSON the whole reply is the document: never cut it at a tag.
    const out: OutputOptions = { thinking, tools: n.tools !== null && n.json === null };
    const prepared = this.prepare(n, promptIds, grammar, 'chatcmpl-', null, 'messages');
    prepared.job.media = media;
    if (!grammar && out.tools) prepared.job.triggered = strictToolGrammar(n.toolSchemas, thinking);
    const tools = n.toolSchemas;
    return n.stream ? this.chatStream(prepared, out, tools) : this.chatWhole(prepared, out, tools);
  }

  private async chatWhole(p: Prepared, out: OutputOptions, schemas: ToolSchema[]): Promise<ChatCompletion> {
    const choices: ChatCompletion['choices'] = [];
    const stats: GenStats[] = [];
    for (let i = 0; i < p.n; i++) {
      const { choice, end } = await this.chatChoice(p, out, schemas, i, stats);
      choices.push(choice);
      stats.push(end);
    }
    return {
      id: p.id,
      object: 'chat.completion',
      created: p.created,
      model: this.modelName,
      choices,
      usage: usageOfAll(stats),
      seed: p.job.seed,
    };
  }

  private async chatChoice(p: Prepared, out: OutputOptions, schemas: ToolSchema[], index: number, before: GenStats[]): Promise<{ choice: ChatCompletion['choices'][number]; end: GenStats }> {
    const { text, tokens, end } = await this.runWhole(p, index);
    const view = splitOutput(text, out, true);
    const reader = new ToolCallReader(schemas, false);
    if (out.tools) reader.update(view.toolText, true);
    const tools = reader.result();
    const finish = end.finish;
    if (finish === 'abort') throw aborted(view.content, view.thinking ? view.reasoning : null, [...before, end.stats]);
    const message: ChatCompletion['choices'][number]['message'] = {
      role: 'assistant',
      content: view.content === '' && tools.calls.length > 0 ? null : view.content,
      refusal: null,
    };
    if (view.thinking) message.reasoning_content = view.reasoning;
    if (tools.calls.length) message.tool_calls = tools.calls;
    if (tools.errors.length) message.tool_call_errors = tools.errors;
    const logprobs = p.job.logprobs === null ? null : { content: this.logprobsFormat.chat(tokens), refusal: null };
    return { choice: { index, message, finish_reason: finishReason(finish, tools.calls.length), logprobs }, end: end.stats };
  }

  /** Choices one after the other (n > 1): each choice's chunks carry its index. */
  private async *chatStream(p: Prepared, out: OutputOptions, schemas: ToolSchema[]): AsyncGenerator<ChatCompletionChunk, void, undefined> {
    const stats: GenStats[] = [];
    for (let i = 0; i < p.n; i++) yield* this.chatChoiceStream(p, out, schemas, i, stats);
    if (p.includeUsage) {
      yield { id: p.id, object: 'chat.completion.chunk', created: p.created, model: this.modelName, choices: [], usage: usageOfAll(stats) };
    }
  }

  private async *chatChoiceStream(p: Prepared, out: OutputOptions, schemas: ToolSchema[], index: number, stats: GenStats[]): AsyncGenerator<ChatCompletionChunk, void, undefined> {
    // Token logprobs ride on the next chunk that carries text (or on the finish chunk).
    const pending: TokenEvent[] = [];
    const asked = p.job.logprobs !== null;
    const chunk = (delta: ChatCompletionDelta, finish: FinishReason | null = null, withLogprobs = false): ChatCompletionChunk => ({
      id: p.id,
      object: 'chat.completion.chunk',
      created: p.created,
      model: this.modelName,
      choices: [{
        index, delta, finish_reason: finish,
        logprobs: asked && withLogprobs && pending.length > 0 ? { content: this.logprobsFormat.chat(pending.splice(0)), refusal: null } : null,
      }],
    });
    const tracker = new DeltaTracker();
    const reader = new ToolCallReader(schemas, true);
    let text = '';
    const deltas = function* (final: boolean): Generator<ChatCompletionChunk> {
      const view = splitOutput(text, out, final);
      const d = tracker.take(view);
      if (d.reasoning) yield chunk({ reasoning_content: d.reasoning }, null, true);
      if (d.content) yield chunk({ content: d.content }, null, true);
      const calls = out.tools ? reader.update(view.toolText, final) : [];
      if (calls.length) yield chunk({ tool_calls: calls }, null, true);
    };
    for await (const ev of this.run(p, index)) {
      if (ev.type === 'start') yield chunk({ role: 'assistant', content: '', refusal: null });
      else if (ev.type === 'token') pending.push(ev);
      else if (ev.type === 'text') {
        text += ev.text;
        yield* deltas(false);
      } else if (ev.finish === 'abort') {
        const view = splitOutput(text, out, true);
        throw aborted(view.content, view.thinking ? view.reasoning : null, [...stats, ev.stats]);
      } else {
        stats.push(ev.stats);
        yield* deltas(true);
        const tools = reader.result();
        if (tools.errors.length) yield chunk({ tool_call_errors: tools.errors });
        yield chunk({}, finishReason(ev.finish, tools.calls.length), true);
      }
    }
  }

  /**
   * The prompt with its images: each placeholder the template wrote becomes the image's run of
   * placeholder tokens. Sizes come from the image headers first, so a prompt that cannot fit is
   * refused (ContextOverflowError) before any pixel is decoded and before any GPU work.
   */
  private async promptImages(n: NormalizedChatRequest, refs: ImageRef[], ids: number[]): Promise<{ ids: number[]; media: ImageSegment[] }> {
    const vision = this.model.vision;
    if (!vision) throw new BadRequestError(refs[0]!.param, 'this model has no vision tower: it cannot read images');
    const at: number[] = [];
    ids.forEach((id, i) => id === vision.placeholderId && at.push(i));
    if (at.length !== refs.length) {
      throw new ErnieError('BAD_CONFIG', `${this.template!.templateFile(n)}: the chat template wrote ${at.length} image placeholder(s) for the ${refs.length} image(s) of the request (a VL model needs its VL chat template)`);
    }
    const opened: OpenedImage[] = [];
    for (const r of refs) opened.push(await openImage(r, { signal: n.signal, maxPixels: vision.maxDecodePixels }));
    const counts = opened.map((im) => vision.tokensFor(im.width, im.height, im.source));
    const total = ids.length + counts.reduce((s, c) => s + c - 1, 0);
    const ctxLen = this.model.contextLength;
    if (total >= ctxLen || (n.maxTokens !== null && total + n.maxTokens > ctxLen)) {
      throw new ContextOverflowError(total, n.maxTokens ?? 1, ctxLen, { promptParam: 'messages' });
    }
    const out: number[] = [];
    const media: ImageSegment[] = [];
    let from = 0;
    for (const [k, im] of opened.entries()) {
      throwIfAborted(n.signal);
      const p = vision.prepare(await im.decode(), im.source);
      if (p.tokens !== counts[k]) throw new ErnieError('BAD_IMAGE', `${im.source}: decoded to ${p.tokens} image tokens, its header promised ${counts[k]}`);
      out.push(...ids.slice(from, at[k]));
      media.push({ start: out.length, tokens: p.tokens, pixelValues: p.pixelValues, grid: p.grid, key: await imageKey(p.pixelValues, p.grid) });
      for (let i = 0; i < p.tokens; i++) out.push(vision.placeholderId);
      from = at[k]! + 1;
    }
    out.push(...ids.slice(from));
    return { ids: out, media };
  }

  // ---- completions ----

  private async createCompletion(req: CompletionRequest): Promise<Completion | AsyncIterable<CompletionChunk>> {
    this.checkAlive();
    const n = validateCompletionRequest(req, this.ctx);
    if (typeof n.prompt === 'string') this.checkPromptChars(n.prompt.length, 'prompt');
    const promptIds = typeof n.prompt === 'string' ? this.tokenizer.encode(n.prompt) : n.prompt;
    if (promptIds.length === 0) throw new BadRequestError('prompt', 'encodes to no tokens');
    const grammar = n.json ? jsonGrammar(n.json) : null;
    const prepared = this.prepare(n, promptIds, grammar, 'cmpl-', 16, 'prompt');
    const echo = n.echo ? (typeof n.prompt === 'string' ? n.prompt : this.tokenizer.decode(n.prompt)) : '';
    return n.stream ? this.completionStream(prepared, echo) : this.completionWhole(prepared, echo);
  }

  private async completionWhole(p: Prepared, echo: string): Promise<Completion> {
    const choices: Completion['choices'] = [];
    const stats: GenStats[] = [];
    for (let index = 0; index < p.n; index++) {
      const run = await this.runWhole(p, index);
      const { tokens, end } = run;
      const text = echo + run.text;
      const finish = end.finish;
      stats.push(end.stats);
      if (finish === 'abort') throw aborted(text, null, stats);
      choices.push({ index, text, finish_reason: finish, logprobs: p.job.logprobs === null ? null : this.logprobsFormat.completion(tokens, echo.length) });
    }
    return {
      id: p.id,
      object: 'text_completion',
      created: p.created,
      model: this.modelName,
      choices,
      usage: usageOfAll(stats),
      seed: p.job.seed,
    };
  }

  private async *completionStream(p: Prepared, echo: string): AsyncGenerator<CompletionChunk, void, undefined> {
    const stats: GenStats[] = [];
    for (let index = 0; index < p.n; index++) {
      const pending: TokenEvent[] = [];
      let offset = echo.length;
      const logprobs = (): CompletionChunk['choices'][number]['logprobs'] => {
        if (p.job.logprobs === null || pending.length === 0) return null;
        const lp = this.logprobsFormat.completion(pending.splice(0), offset);
        offset = lp.text_offset.at(-1)! + lp.tokens.at(-1)!.length;
        return lp;
      };
      const chunk = (text: string, finish: 'stop' | 'length' | null = null): CompletionChunk => ({
        id: p.id,
        object: 'text_completion',
        created: p.created,
        model: this.modelName,
        choices: [{ index, text, finish_reason: finish, logprobs: logprobs() }],
      });
      let text = echo;
      for await (const ev of this.run(p, index)) {
        if (ev.type === 'token') pending.push(ev);
        else if (ev.type === 'start') {
          if (echo) yield chunk(echo);
        } else if (ev.type === 'text') {
          text += ev.text;
          yield chunk(ev.text);
        } else if (ev.finish === 'abort') throw aborted(text, null, [...stats, ev.stats]);
        else {
          stats.push(ev.stats);
          yield chunk('', ev.finish);
        }
      }
    }
    if (p.includeUsage) yield { id: p.id, object: 'text_completion', created: p.created, model: this.modelName, choices: [], usage: usageOfAll(stats) };
  }

  // ---- shared ----

  private checkAlive(): void {
    if (this.disposed) throw new ErnieError('BAD_REQUEST', 'this engine was disposed; create a new one');
  }

  /**
   * Refuses a prompt that cannot fit before tokenizing it: no token covers more characters than
   * the tokenizer's longest token, so `chars / longest` tokens at least.
   */
  private checkPromptChars(chars: number, promptParam: string): void {
    if (this.longestToken === 0) {
      for (let id = 0; id < this.tokenizer.vocabSize; id++) this.longestToken = Math.max(this.longestToken, this.tokenizer.idToToken(id)?.length ?? 0);
      this.longestToken = Math.max(this.longestToken, 1);
    }
    const atLeast = Math.ceil(chars / this.longestToken);
    if (atLeast >= this.model.contextLength) throw new ContextOverflowError(atLeast, 1, this.model.contextLength, { promptParam, atLeast: true });
  }

  /** Resolves defaults and checks the context length. `defaultMax` null: fill the context. */
  private prepare(n: NormalizedCommon, promptIds: number[], grammar: JsonGrammar | null, idPrefix: string, defaultMax: number | null, promptParam: string): Prepared {
    const ctxLen = this.model.contextLength;
    const room = ctxLen - promptIds.length;
    let maxTokens: number;
    if (n.maxTokens !== null) {
      maxTokens = n.maxTokens;
      if (maxTokens > room) throw new ContextOverflowError(promptIds.length, maxTokens, ctxLen, { promptParam });
    } else {
      if (room < 1) throw new ContextOverflowError(promptIds.length, 1, ctxLen, { promptParam });
      maxTokens = defaultMax === null ? room : Math.min(defaultMax, room);
    }
    const job: GenJob = {
      promptIds,
      continuesPrompt: promptParam === 'prompt', // a completion continues the prompt's text; a chat answer starts anew
      maxTokens,
      seed: n.seed ?? randomSeed(),
      sampling: resolveSampling(n.sampling, this.defaults),
      logitBias: n.logitBias,
      stop: n.stop,
      stopTokenIds: [...new Set([...this.tokenizer.stopTokenIds, ...n.stopTokenIds])],
      grammar,
      triggered: null,
      logprobs: n.logprobs,
      signal: n.signal,
    };
    return { job, id: randomId(idPrefix), created: Math.floor(Date.now() / 1000), includeUsage: n.includeUsage, n: n.n };
  }

  /** One choice run to its end: the text, the logprob token events and the end event. */
  private async runWhole(p: Prepared, index: number): Promise<{ text: string; tokens: TokenEvent[]; end: Extract<GenEvent, { type: 'end' }> }> {
    let text = '';
    let end: Extract<GenEvent, { type: 'end' }> | null = null;
    const tokens: TokenEvent[] = [];
    for await (const ev of this.run(p, index)) {
      if (ev.type === 'text') text += ev.text;
      else if (ev.type === 'token') tokens.push(ev);
      else if (ev.type === 'end') end = ev;
    }
    return { text, tokens, end: end! };
  }

  /** Choice `index` runs with seed + index: choice 0 is what n = 1 gives. */
  private async *run(p: Prepared, index = 0): AsyncGenerator<GenEvent, void, undefined> {
    this.checkAlive();
    const job = index === 0 ? p.job : { ...p.job, seed: p.job.seed + index };
    for await (const ev of generate({ model: this.model, tokenizer: this.tokenizer, queue: this.queue, vocabSize: this.ctx.vocabSize }, job)) {
      if (ev.type === 'end') this.lastStats = ev.stats;
      yield ev;
    }
  }
}

export function createEngine(options: EngineOptions): Engine {
  return new Engine(options);
}

/** A natural stop after tool calls is reported as 'tool_calls', as OpenAI does. */
function finishReason(finish: Exclude<GenFinish, 'abort'>, calls: number): FinishReason {
  return finish === 'stop' && calls > 0 ? 'tool_calls' : finish;
}

/** Usage of n choices: the prompt once, every choice's tokens. */
function usageOfAll(all: GenStats[]): CompletionUsage {
  const u = usageOf(all[0]!);
  for (const s of all.slice(1)) u.completion_tokens += s.completionTokens;
  u.total_tokens = u.prompt_tokens + u.completion_tokens;
  return u;
}

function aborted(text: string, reasoning: string | null, stats: GenStats[]): AbortError {
  const u = usageOfAll(stats);
  return new AbortError('The request was aborted', {
    text,
    reasoning_content: reasoning,
    usage: { prompt_tokens: u.prompt_tokens, completion_tokens: u.completion_tokens, total_tokens: u.total_tokens },
  });
}

/** Grammars by schema: json_object's is shared by every request, so its allowed-token memo is too. */
const grammars = new WeakMap<SchemaNode, JsonGrammar>();
function jsonGrammar(node: SchemaNode): JsonGrammar {
  let g = grammars.get(node);
  if (!g) grammars.set(node, (g = JsonGrammar.schema(node)));
  return g;
}

/**
 * With a strict tool among them, what follows <tool_call> is constrained: one of the declared
 * names, then arguments matching a strict tool's parameters (any object for the others).
 */
function strictToolGrammar(tools: ToolSchema[], thinking: ThinkingMode): GenJob['triggered'] {
  if (!tools.some((t) => t.strict)) return null;
  const choice: GrammarPart = {
    choice: tools.map((t) => ({
      literal: `\n{"name": ${JSON.stringify(t.name)}, "arguments": `,
      then: [{ json: t.strict ? t.arguments : ANY_OBJECT }, { literal: '}\n</tool_call>' }],
    })),
  };
  return { trigger: CALL_OPEN, grammar: new JsonGrammar([choice]), thinking };
}

/** The JSON grammar a chat request asks for: response_format, or a forced tool call. */
function chatGrammar(n: NormalizedChatRequest): JsonGrammar | null {
  if (n.json) return jsonGrammar(n.json);
  if (n.forcedTools.length === 0) return null;
  // The exact block the template writes for past calls (ERNIE45.md §2.5), one call.
  const choice: GrammarPart = {
    choice: n.forcedTools.map((t) => ({
      literal: `<tool_call>\n{"name": ${JSON.stringify(t.name)}, "arguments": `,
      then: [{ json: t.arguments }, { literal: '}\n</tool_call>' }],
    })),
  };
  return new JsonGrammar([choice]);
}
