// The generation loop both APIs share, as a stream of events: prompt ids in, text pieces out.
// It takes the model (RequestQueue), reuses the cached prefix, prefills the rest, then per
// step: grammar mask -> model.sample -> stop ids -> detokenizer -> stop strings -> forward.
// Streamed and non-streamed responses are both built from these events, so they agree.

import type { CachedImage, ImageSegment, LanguageModel } from '../engine/language_model';
import { penalised, type ResolvedSampling, type SampleStep, type TokenLogprobs } from '../sampling/params';
import type { ErnieTokenizer } from '../text/tokenizer';
import { ErnieError } from '../errors';
import { Rng } from '../sampling/rng';
import { StopMatcher } from '../sampling/stop';
import { TokenTable, type JsonGrammar, type GrammarState } from '../sampling/json_grammar';
import type { RequestQueue } from './queue';
import { answerStart, type ThinkingMode } from './output';
import { THINK_CLOSE } from '../text/assistant_format';

export type GenFinish = 'stop' | 'length' | 'abort';

export interface GenJob {
  promptIds: number[];
  /** The output continues the prompt's text (completions): its first space is kept. */
  continuesPrompt: boolean;
  maxTokens: number;
  seed: number;
  /** The request's sampling resolved against the model's defaults. */
  sampling: ResolvedSampling;
  logitBias: ReadonlyMap<number, number>;
  stop: string[];
  /** Ids that end generation (the tokenizer's and the request's). */
  stopTokenIds: number[];
  grammar: JsonGrammar | null;
  /**
   * A grammar that starts once the output's text ends with `trigger` (strict tool calls: the
   * JSON after <tool_call>) and ends when complete, the text around it staying free.
   */
  triggered: {
    trigger: string;
    grammar: JsonGrammar;
    /** The trigger counts only in the answer, never in the reasoning before it (output.ts answerStart). */
    thinking: ThinkingMode;
  } | null;
  /** null: no log-probabilities; 0-20: 'token' events with the sampled token's and this many alternatives. */
  logprobs: number | null;
  signal?: AbortSignal;
  /** The prompt's images, at their placeholder runs in promptIds. */
  media?: ImageSegment[];
}

export interface GenStats {
  promptTokens: number;
  /** Prompt tokens whose KV entries were reused from the previous request. */
  cachedTokens: number;
  /** Tokens model.sample chose, the stop token included. */
  completionTokens: number;
  prefillMs: number;
  decodeMs: number;
}

export type GenEvent =
  | { type: 'start'; cachedTokens: number }
  /** A sampled token's log-probabilities (only when the job asks; the end token has none), before its text. */
  | { type: 'token'; id: number; logprobs: TokenLogprobs }
  | { type: 'text'; text: string }
  | { type: 'end'; finish: GenFinish; stats: GenStats };

export interface GenContext {
  model: LanguageModel;
  tokenizer: ErnieTokenizer;
  queue: RequestQueue;
  /** Ids that may be sampled: min(model, tokenizer) vocabulary. */
  vocabSize: number;
}

function commonPrefix(a: readonly number[], b: readonly number[]): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}

/**
 * How much of the cached prefix `reuse` a prompt with images may keep: up to the first image
 * that is not the cached one at the same place (its placeholder ids match, its pixels do not),
 * and never part of an image (an image runs through the model whole).
 */
function keptWithImages(reuse: number, media: readonly ImageSegment[], cached: readonly CachedImage[]): number {
  for (const m of media) {
    if (m.start >= reuse) break;
    const same = cached.some((c) => c.start === m.start && c.end === m.start + m.tokens && c.key === m.key);
    if (!same || m.start + m.tokens > reuse) return m.start;
  }
  return reuse;
}

const TAG = /^<\/?[A-Za-z_][A-Za-z0-9_]*>$/;
/** An added tag token such as <tool_call> or </think> (not special: its text is kept). */
function isTagToken(tokenizer: ErnieTokenizer, id: number): boolean {
  const t = tokenizer.idToToken(id);
  return t !== undefined && TAG.test(t);
}

const now = (): number => globalThis.performance?.now() ?? Date.now();

/**
 * Runs one request. The model is taken on the first next() (not when the generator is made)
 * and given back when the generator finishes, throws, or is closed early (return()).
 * Rejects with AbortError only when the signal fired before the model was taken; an abort
 * after that ends the events with finish 'abort'.
 */
export async function* generate(ctx: GenContext, job: GenJob): AsyncGenerator<GenEvent, void, undefined> {
  const release = await ctx.queue.acquire(job.signal);
  try {
    yield* run(ctx, job);
  } finally {
    release();
  }
}

async function* run(ctx: GenContext, job: GenJob): AsyncGenerator<GenEvent, void, undefined> {
  const { model, tokenizer } = ctx;
  const signal = job.signal;
  const prompt = job.promptIds;
  const aborted = (): boolean => signal?.aborted === true;
  const stats: GenStats = { promptTokens: prompt.length, cachedTokens: 0, completionTokens: 0, prefillMs: 0, decodeMs: 0 };

  // Keep the longest cached prefix, but always forward at least the last prompt token: its
  // logits are the first step's, and the model keeps only the last forward's logits.
  const media = job.media ?? [];
  let reuse = Math.min(commonPrefix(model.cachedTokens(), prompt), prompt.length - 1);
  if (media.length || model.cachedImages?.().length) reuse = keptWithImages(reuse, media, model.cachedImages?.() ?? []);
  model.truncate(reuse);
  stats.cachedTokens = reuse;

  let finish: GenFinish | null = null;
  const t0 = now();
  try {
    if (aborted()) finish = 'abort';
    else await model.forward(prompt.slice(reuse), signal, { media: media.filter((m) => m.start >= reuse).map((m) => ({ ...m, start: m.start - reuse })) });
  } catch (e) {
    if (!aborted()) throw e;
    finish = 'abort';
  }
  // forward() may return with GPU work still queued: the time includes its completion
  await model.settle?.();
  stats.prefillMs = now() - t0;
  yield { type: 'start', cachedTokens: reuse };

  const t1 = now();
  const rng = new Rng(job.seed);
  const streamer = tokenizer.createStreamer({ skipSpecialTokens: true, continuation: job.continuesPrompt });
  const stopper = new StopMatcher(job.stop);
  const stopIds = new Set(job.stopTokenIds);
  const table = job.grammar || job.triggered ? TokenTable.of(tokenizer, ctx.vocabSize) : null;
  const triggered = job.triggered;
  let tail = '';
  /** The text so far while it may still be reasoning; answered: past it. */
  let lead = '';
  let answered = false;
  let afterTag = false;
  let state: GrammarState | null = job.grammar ? job.grammar.initial() : null;
  const generated: number[] = [];
  const penalize = penalised(job.sampling);
  let stoppedByString = false;

  while (finish === null) {
    if (aborted()) {
      finish = 'abort';
      break;
    }
    let allowedMask: Uint32Array | null = null;
    if (table && state) {
      allowedMask = table.allowedMask(state, job.stopTokenIds);
      if (allowedMask.every((w) => w === 0)) {
        throw new ErnieError('UNSUPPORTED', 'constrained decoding reached a point where no token of this vocabulary can continue the JSON');
      }
    }
    const step: SampleStep = {
      ...job.sampling,
      u: rng.uniform(),
      penaltyTokens: penalize ? generated.slice() : [],
      logitBias: job.logitBias,
      allowedMask,
      logprobs: job.logprobs,
    };
    const id = await model.sample(step);
    stats.completionTokens++;
    if (stopIds.has(id)) {
      finish = 'stop';
      break;
    }
    if (job.logprobs !== null) {
      const lp = model.lastLogprobs?.() ?? null;
      if (!lp) throw new ErnieError('UNSUPPORTED', 'this model does not compute log-probabilities; leave logprobs out');
      yield { type: 'token', id, logprobs: lp };
    }
    generated.push(id);
    if (table && state) {
      const next = table.advance(state, id);
      if (!next) throw new ErnieError('UNSUPPORTED', `the model sampled token ${id}, which the grammar mask excluded (the model ignored it)`);
      state = next;
      if (triggered && state.grammar === triggered.grammar && triggered.grammar.isComplete(state)) state = null;
    }
    let piece = streamer.push(id);
    // SentencePiece writes a "▁" after an added tag token (<tool_call>, </think>...): not a space of the text.
    if (afterTag && piece.startsWith(' ') && tokenizer.idToToken(id)?.startsWith('\u2581')) piece = piece.slice(1);
    afterTag = isTagToken(tokenizer, id);
    let answerPiece: string | null = piece;
    if (triggered && !answered) {
      // Until the reasoning is over, a trigger in it is only words about a tool call.
      const from = Math.max(0, lead.length - THINK_CLOSE.length);
      lead += piece;
      const at = answerStart(lead, triggered.thinking, from);
      answerPiece = at === null ? null : lead.slice(at);
      if (at !== null) answered = true;
    }
    if (triggered && !state && answerPiece !== null) {
      tail = (tail + answerPiece).slice(-triggered.trigger.length);
      if (tail === triggered.trigger) {
        state = triggered.grammar.initial();
        tail = '';
      }
    }
    const r = stopper.push(piece);
    if (r.text) yield { type: 'text', text: r.text };
    if (r.stopped) {
      stoppedByString = true;
      finish = 'stop';
      break;
    }
    if (stats.completionTokens >= job.maxTokens) {
      finish = 'length';
      break;
    }
    if (aborted()) {
      finish = 'abort';
      break;
    }
    try {
      await model.forward([id], signal);
    } catch (e) {
      if (!aborted()) throw e;
      finish = 'abort';
    }
  }

  if (!stoppedByString) {
    // Text the detokenizer or the stop matcher still held; a stop string may end in it.
    const r = stopper.push(streamer.flush());
    let tail = r.text;
    if (!r.stopped) tail += stopper.flush();
    else if (finish !== 'abort') finish = 'stop';
    if (tail) yield { type: 'text', text: tail };
  }
  await model.settle?.();
  stats.decodeMs = now() - t1;
  yield { type: 'end', finish: finish!, stats };
}
