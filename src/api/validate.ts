// Request validation: every malformed request is refused before it touches the model, with a
// BadRequestError whose `param` names the field and whose message says what to send instead.
// The result is a normalized form the engine reads without further checks (null or an absent
// sampling field = unset: the engine's resolve step fills it from the model's defaults).

import type { ChatMessage, ToolDefinition } from '../text/chat_template';
import { ANY, ANY_OBJECT, compileJsonSchema, SchemaError, type SchemaNode } from '../sampling/json_schema';
import { MAX_TOP_LOGPROBS, type SamplingParams } from '../sampling/params';
import { BadRequestError } from './errors';
import { checkImagePart } from './image_parts';

/** What the validator needs to know about the loaded model. */
export interface ValidationContext {
  modelName: string;
  /** Ids below this are real tokens (logit_bias, stop_token_ids, prompt ids). */
  vocabSize: number;
  /** Whether image parts are accepted. */
  vision: boolean;
}

export type ToolChoiceNorm = 'none' | 'auto' | 'required' | { name: string };

/** What chat and completion requests share, checked. Absent sampling fields stay undefined (unset). */
export interface NormalizedCommon {
  maxTokens: number | null;
  /** The request's own sampling fields; the engine resolves them against the model's defaults. */
  sampling: SamplingParams;
  seed: number | null;
  stop: string[];
  stopTokenIds: number[];
  logitBias: Map<number, number>;
  stream: boolean;
  includeUsage: boolean;
  /** Choices: 1..MAX_N. */
  n: number;
  signal: AbortSignal | undefined;
  /** null = free text. */
  json: SchemaNode | null;
  /** null: no log-probabilities; else how many alternatives per token (0-20). */
  logprobs: number | null;
}

export interface NormalizedChatRequest extends NormalizedCommon {
  messages: ChatMessage[];
  /** Tools the template is given (null when none, or tool_choice 'none'). */
  tools: ToolDefinition[] | null;
  toolChoice: ToolChoiceNorm;
  /** Every tool's compiled parameters (none under tool_choice 'none'). */
  toolSchemas: ToolSchema[];
  /** The tools a forced call may use (tool_choice 'required' or named). */
  forcedTools: ToolSchema[];
  enableThinking: boolean | undefined;
}

/** A tool's `parameters`, compiled when the request arrives. */
export interface ToolSchema {
  name: string;
  /** What constrained decoding generates (declared keys only, src/sampling/json_schema.ts). */
  arguments: SchemaNode;
  /** What a call's arguments are checked against (JSON Schema semantics: extra keys allowed unless closed). */
  check: SchemaNode;
  /** function.strict: the arguments are grammar-constrained even when the model chooses to call. */
  strict: boolean;
}

export interface NormalizedCompletionRequest extends NormalizedCommon {
  prompt: string | number[];
  echo: boolean;
}

/**
 * OpenAI fields that mean nothing for a local model: accepted and ignored. Of these, modalities
 * must be ['text'] and audio / prediction null when given (anything else would be silently lost).
 */
export const IGNORED_FIELDS = [
  'store', 'metadata', 'service_tier', 'user', 'safety_identifier', 'prompt_cache_key', 'prompt_cache_retention',
  'prompt_cache_options', 'verbosity', 'modalities', 'audio', 'prediction', 'web_search_options',
] as const;

const COMMON_KEYS = [
  'model', 'max_tokens', 'max_completion_tokens', 'temperature', 'top_p', 'top_k', 'min_p', 'seed', 'stop',
  'stop_token_ids', 'frequency_penalty', 'presence_penalty', 'repetition_penalty', 'logit_bias', 'n', 'stream',
  'stream_options', 'signal', 'logprobs', 'user', 'response_format',
];
const CHAT_KEYS = new Set([...COMMON_KEYS, ...IGNORED_FIELDS, 'messages', 'tools', 'tool_choice', 'parallel_tool_calls', 'enable_thinking', 'chat_template_kwargs', 'reasoning_effort', 'top_logprobs']);
const COMPLETION_KEYS = new Set([...COMMON_KEYS, 'prompt', 'echo', 'best_of', 'suffix']);
const ROLES = ['system', 'developer', 'user', 'assistant', 'tool'];
/** Most choices one request may ask for (n). */
export const MAX_N = 16;
const EFFORTS = ['none', 'minimal', 'low', 'medium', 'high', 'xhigh', 'max'];

/** A lone UTF-16 surrogate: such a string has no UTF-8 form, so no tokens. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

function wellFormed(text: string, p: string): void {
  const m = LONE_SURROGATE.exec(text);
  if (m) fail(p, `has an unpaired UTF-16 surrogate (\\u${m[0].charCodeAt(0).toString(16)}) at index ${m.index}; such text has no UTF-8 form. Fix the string (e.g. a cut emoji)`);
}
const NAME_RE = /^[a-zA-Z0-9_-]{1,64}$/;

function fail(param: string | null, message: string): never {
  throw new BadRequestError(param, message);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'nothing (undefined)';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + '...' : v)}`;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const given = (v: unknown): boolean => v !== undefined && v !== null;

function number(r: Record<string, unknown>, key: string, lo: number, hi: number, opts: { loOpen?: boolean; int?: boolean } = {}): number | null {
  const v = r[key];
  if (!given(v)) return null;
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(key, `must be a number, got ${describe(v)}`);
  const n = v as number;
  if (opts.int && !Number.isInteger(n)) fail(key, `must be an integer, got ${n}`);
  const tooLow = opts.loOpen ? n <= lo : n < lo;
  if (tooLow || n > hi) {
    const range = `${opts.loOpen ? '(' : '['}${lo}, ${hi === Infinity ? 'inf)' : hi + ']'}`;
    fail(key, `must be in ${range}, got ${n}`);
  }
  return n;
}

function bool(r: Record<string, unknown>, key: string): boolean | null {
  const v = r[key];
  if (!given(v)) return null;
  if (typeof v !== 'boolean') fail(key, `must be true or false, got ${describe(v)}`);
  return v as boolean;
}

/** Edit distance, to suggest the field a typo meant. */
function distance(a: string, b: string): number {
  const d = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = d[0]!;
    d[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = d[j]!;
      d[j] = Math.min(d[j]! + 1, d[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return d[b.length]!;
}

function checkKeys(r: Record<string, unknown>, known: Set<string>): void {
  for (const k of Object.keys(r)) {
    if (known.has(k) || r[k] === undefined) continue;
    if (k === 'functions' || k === 'function_call') fail(k, 'is the deprecated functions API; use tools and tool_choice');
    let best = '';
    let bestD = 3;
    for (const c of known) {
      const dd = distance(k, c);
      if (dd < bestD) [best, bestD] = [c, dd];
    }
    fail(k, `is not a known request field${best ? `; did you mean "${best}"?` : ''}`);
  }
}

function checkCommon(r: Record<string, unknown>, ctx: ValidationContext): Omit<NormalizedCommon, 'json' | 'logprobs'> {
  if (given(r.model)) {
    if (typeof r.model !== 'string') fail('model', `must be a string, got ${describe(r.model)}`);
    if (r.model !== ctx.modelName) fail('model', `"${r.model}" is not loaded; this engine serves "${ctx.modelName}" (pass that, or leave model out)`);
  }
  const maxTokens = number(r, 'max_tokens', 1, Infinity, { int: true });
  const maxCompletion = number(r, 'max_completion_tokens', 1, Infinity, { int: true });
  if (maxTokens !== null && maxCompletion !== null && maxTokens !== maxCompletion) {
    fail('max_completion_tokens', `is ${maxCompletion} but max_tokens is ${maxTokens}; give only one of them`);
  }
  const temperature = number(r, 'temperature', 0, 2);
  const topP = number(r, 'top_p', 0, 1);
  let topK = number(r, 'top_k', -1, Infinity, { int: true });
  if (topK === -1) topK = 0;
  const minP = number(r, 'min_p', 0, 1);
  let seed: number | null = null;
  if (given(r.seed)) {
    if (typeof r.seed !== 'number' || !Number.isSafeInteger(r.seed)) fail('seed', `must be an integer (|seed| < 2^53), got ${describe(r.seed)}`);
    seed = r.seed as number;
  }

  let stop: string[] = [];
  if (given(r.stop)) {
    if (typeof r.stop === 'string') stop = [r.stop];
    else if (Array.isArray(r.stop)) stop = r.stop as string[];
    else fail('stop', `must be a string or a list of strings, got ${describe(r.stop)}`);
    if (stop.length > 4) fail('stop', `has ${stop.length} entries; at most 4 stop strings are allowed`);
    stop.forEach((s, i) => {
      const p = typeof r.stop === 'string' ? 'stop' : `stop[${i}]`;
      if (typeof s !== 'string') fail(p, `must be a string, got ${describe(s)}`);
      if (s === '') fail(p, 'must not be empty (an empty stop string would end the reply before it starts)');
    });
  }

  const tokenId = (v: unknown, p: string): number => {
    if (typeof v !== 'number' || !Number.isInteger(v)) fail(p, `must be an integer token id, got ${describe(v)}`);
    if ((v as number) < 0 || (v as number) >= ctx.vocabSize) fail(p, `token id ${v} is outside the vocabulary [0, ${ctx.vocabSize})`);
    return v as number;
  };
  let stopTokenIds: number[] = [];
  if (given(r.stop_token_ids)) {
    if (!Array.isArray(r.stop_token_ids)) fail('stop_token_ids', `must be a list of token ids, got ${describe(r.stop_token_ids)}`);
    stopTokenIds = (r.stop_token_ids as unknown[]).map((v, i) => tokenId(v, `stop_token_ids[${i}]`));
  }

  const frequencyPenalty = number(r, 'frequency_penalty', -2, 2);
  const presencePenalty = number(r, 'presence_penalty', -2, 2);
  const repetitionPenalty = number(r, 'repetition_penalty', 0, Infinity, { loOpen: true });

  const logitBias = new Map<number, number>();
  if (given(r.logit_bias)) {
    if (!isObject(r.logit_bias)) fail('logit_bias', `must be an object mapping token ids to biases, got ${describe(r.logit_bias)}`);
    for (const [k, v] of Object.entries(r.logit_bias as Record<string, unknown>)) {
      const p = `logit_bias.${k}`;
      if (!/^(0|[1-9][0-9]*)$/.test(k)) fail(p, `key "${k}" is not a token id (keys are decimal ids such as "1234")`);
      const id = Number(k);
      if (id >= ctx.vocabSize) fail(p, `token id ${id} is outside the vocabulary [0, ${ctx.vocabSize})`);
      if (typeof v !== 'number' || !Number.isFinite(v)) fail(p, `bias must be a number, got ${describe(v)}`);
      if ((v as number) < -100 || (v as number) > 100) fail(p, `bias must be in [-100, 100], got ${v}`);
      logitBias.set(id, v as number);
    }
  }

  const n = number(r, 'n', 1, MAX_N, { int: true }) ?? 1;
  const stream = bool(r, 'stream') ?? false;
  let includeUsage = false;
  if (given(r.stream_options)) {
    if (!stream) fail('stream_options', 'is only allowed with stream: true');
    if (!isObject(r.stream_options)) fail('stream_options', `must be an object, got ${describe(r.stream_options)}`);
    const so = r.stream_options as Record<string, unknown>;
    for (const k of Object.keys(so)) if (k !== 'include_usage' && k !== 'include_obfuscation') fail(`stream_options.${k}`, 'is not supported (only include_usage)');
    if (given(so.include_usage) && typeof so.include_usage !== 'boolean') fail('stream_options.include_usage', `must be true or false, got ${describe(so.include_usage)}`);
    includeUsage = so.include_usage === true;
  }
  let signal: AbortSignal | undefined;
  if (r.signal !== undefined) {
    const s = r.signal as AbortSignal;
    if (typeof s !== 'object' || s === null || typeof s.aborted !== 'boolean' || typeof s.addEventListener !== 'function') {
      fail('signal', 'must be an AbortSignal (from new AbortController().signal)');
    }
    signal = s;
  }
  if (given(r.user) && typeof r.user !== 'string') fail('user', `must be a string, got ${describe(r.user)}`);
  if (given(r.modalities)) {
    const m = r.modalities;
    if (!Array.isArray(m) || m.length !== 1 || m[0] !== 'text') fail('modalities', `only ["text"] is supported (this model writes text only), got ${JSON.stringify(m)}`);
  }
  if (given(r.audio)) fail('audio', 'audio output is not supported; leave audio out or null');
  if (given(r.prediction)) fail('prediction', 'predicted outputs are not supported; leave prediction out or null');

  // Only what the request sets: an explicit "off" (repetition_penalty 1, top_k 0) is kept and
  // overrides the model's defaults; an absent field is left for them.
  const sampling: SamplingParams = {};
  const set = (k: keyof SamplingParams, v: number | null) => {
    if (v !== null) sampling[k] = v;
  };
  set('temperature', temperature);
  set('topP', topP);
  set('topK', topK);
  set('minP', minP);
  set('repetitionPenalty', repetitionPenalty);
  set('frequencyPenalty', frequencyPenalty);
  set('presencePenalty', presencePenalty);
  return {
    maxTokens: maxTokens ?? maxCompletion,
    sampling, seed, stop, stopTokenIds, logitBias,
    stream, includeUsage, signal, n,
  };
}

function responseFormat(v: unknown): SchemaNode | null {
  if (!given(v)) return null;
  if (!isObject(v)) fail('response_format', `must be an object such as {"type": "json_object"}, got ${describe(v)}`);
  const f = v as Record<string, unknown>;
  switch (f.type) {
    case 'text':
      return null;
    case 'json_object':
      return ANY_OBJECT;
    case 'json_schema': {
      const js = f.json_schema;
      if (!isObject(js)) fail('response_format.json_schema', 'is required with type "json_schema": {"name": ..., "schema": {...}}');
      const j = js as Record<string, unknown>;
      if (typeof j.name !== 'string' || !NAME_RE.test(j.name)) {
        fail('response_format.json_schema.name', `must be 1-64 characters of a-z, A-Z, 0-9, _ and -, got ${describe(j.name)}`);
      }
      if (given(j.strict) && typeof j.strict !== 'boolean') fail('response_format.json_schema.strict', `must be true or false, got ${describe(j.strict)}`);
      if (!given(j.schema)) return ANY;
      if (!isObject(j.schema)) fail('response_format.json_schema.schema', `must be a JSON schema object, got ${describe(j.schema)}`);
      try {
        return compileJsonSchema(j.schema, 'schema');
      } catch (e) {
        if (e instanceof SchemaError) throw new BadRequestError('response_format.json_schema.schema', e.message, { cause: e });
        throw e;
      }
    }
    default:
      return fail('response_format.type', `must be "text", "json_object" or "json_schema", got ${describe(f.type)}`);
  }
}

/** Text of a content value (string or parts); `p` is its param path. */
function content(v: unknown, p: string, ctx: ValidationContext, allowImages: boolean, allowRefusal = false): string | ChatMessage['content'] {
  if (typeof v === 'string') {
    wellFormed(v, p);
    return v;
  }
  if (!Array.isArray(v)) return fail(p, `must be a string or a list of content parts, got ${describe(v)}`);
  if (v.length === 0) fail(p, 'must have at least one content part (or be a string)');
  let refusals = false;
  v.forEach((part, j) => {
    const pp = `${p}[${j}]`;
    if (!isObject(part)) fail(pp, `must be a content part such as {"type": "text", "text": "..."}, got ${describe(part)}`);
    const t = (part as Record<string, unknown>).type;
    if (t === 'text') {
      if (typeof part.text !== 'string') fail(`${pp}.text`, `must be a string, got ${describe(part.text)}`);
      wellFormed(part.text as string, `${pp}.text`);
    } else if (t === 'refusal' && allowRefusal) {
      if (typeof part.refusal !== 'string') fail(`${pp}.refusal`, `must be a string, got ${describe(part.refusal)}`);
      wellFormed(part.refusal as string, `${pp}.refusal`);
      refusals = true;
    } else if (t === 'input_audio' || t === 'file') {
      fail(`${pp}.type`, `"${t}" parts are not supported: "${ctx.modelName}" reads text${ctx.vision ? ' and images' : ''} only`);
    } else if (t === 'image_url' || t === 'image' || t === 'input_image' || t === 'video' || t === 'video_url') {
      if (!ctx.vision) fail(pp, `"${ctx.modelName}" is a text-only model; it cannot read ${t === 'video' || t === 'video_url' ? 'videos' : 'images'}. Send text parts only`);
      if (!allowImages) fail(pp, 'only user messages may contain images');
      checkImagePart(part as Record<string, unknown>, pp);
    } else {
      fail(`${pp}.type`, `unknown content part type ${describe(t)} (expected "text"${ctx.vision && allowImages ? ' or "image_url"' : ''}${allowRefusal ? ' or "refusal"' : ''})`);
    }
  });
  // A refusal part of an earlier turn reads as its text.
  if (refusals) return (v as Record<string, unknown>[]).map((part) => (part.type === 'refusal' ? { type: 'text', text: part.refusal } : part)) as ChatMessage['content'];
  return v as ChatMessage['content'];
}

function messages(v: unknown, ctx: ValidationContext): ChatMessage[] {
  if (!Array.isArray(v)) return fail('messages', `must be a list of messages, got ${describe(v)}`);
  if (v.length === 0) fail('messages', 'must contain at least one message');
  const callIds = new Set<string>();
  return v.map((m, i) => {
    const p = `messages[${i}]`;
    if (!isObject(m)) fail(p, `must be an object such as {"role": "user", "content": "..."}, got ${describe(m)}`);
    const role = m.role;
    if (role === 'function') fail(`${p}.role`, 'the "function" role is the deprecated functions API; answer a tool call with role "tool" and its tool_call_id');
    if (typeof role !== 'string' || !ROLES.includes(role)) {
      fail(`${p}.role`, `unknown role ${typeof role === 'string' ? JSON.stringify(role) : describe(role)}; expected "developer", "system", "user", "assistant" or "tool"`);
    }
    if (given(m.name) && typeof m.name !== 'string') fail(`${p}.name`, `must be a string, got ${describe(m.name)}`);
    // OpenAI's developer messages are the system instructions of newer models.
    const out: ChatMessage = { role: (role === 'developer' ? 'system' : role) as ChatMessage['role'] };
    if (given(m.name)) out.name = m.name as string;
    if (role === 'assistant') {
      const hasCalls = given(m.tool_calls);
      if (given(m.audio)) fail(`${p}.audio`, 'audio turns are not supported; leave audio out or null');
      if (given(m.function_call)) fail(`${p}.function_call`, 'is the deprecated functions API; use tool_calls');
      if (given(m.refusal) && typeof m.refusal !== 'string') fail(`${p}.refusal`, `must be a string or null, got ${describe(m.refusal)}`);
      if (given(m.content)) out.content = content(m.content, `${p}.content`, ctx, false, true);
      else if (typeof m.refusal === 'string') out.content = m.refusal; // an earlier refusal reads as its text
      else if (!hasCalls) fail(`${p}.content`, 'is required (an assistant message needs content or tool_calls)');
      if (given(m.reasoning_content)) {
        if (typeof m.reasoning_content !== 'string') fail(`${p}.reasoning_content`, `must be a string, got ${describe(m.reasoning_content)}`);
        out.reasoning_content = m.reasoning_content as string;
      }
      if (hasCalls) {
        if (!Array.isArray(m.tool_calls) || m.tool_calls.length === 0) fail(`${p}.tool_calls`, 'must be a non-empty list of tool calls');
        out.tool_calls = (m.tool_calls as unknown[]).map((c, j) => {
          const cp = `${p}.tool_calls[${j}]`;
          if (!isObject(c)) fail(cp, `must be an object {"id", "type": "function", "function": {"name", "arguments"}}, got ${describe(c)}`);
          if (given(c.type) && c.type !== 'function') fail(`${cp}.type`, `must be "function" (custom tool calls are not supported), got ${describe(c.type)}`);
          if (given(c.id)) {
            if (typeof c.id !== 'string') fail(`${cp}.id`, `must be a string, got ${describe(c.id)}`);
            callIds.add(c.id as string);
          }
          const f = c.function;
          if (!isObject(f)) fail(`${cp}.function`, 'is required: {"name": ..., "arguments": "{...}"}');
          const fn = f as Record<string, unknown>;
          if (typeof fn.name !== 'string' || fn.name === '') fail(`${cp}.function.name`, `must be a non-empty string, got ${describe(fn.name)}`);
          const args = fn.arguments ?? '{}';
          if (typeof args !== 'string' && !isObject(args)) fail(`${cp}.function.arguments`, `must be a JSON text (string), got ${describe(args)}`);
          return { ...(given(c.id) ? { id: c.id as string } : {}), type: 'function' as const, function: { name: fn.name as string, arguments: args as string } };
        });
      }
      return out;
    }
    if (!given(m.content)) fail(`${p}.content`, `is required for a ${role} message`);
    out.content = content(m.content, `${p}.content`, ctx, role === 'user');
    if (role === 'tool') {
      if (typeof m.tool_call_id !== 'string' || m.tool_call_id === '') {
        fail(`${p}.tool_call_id`, `is required: the id of the assistant tool call this message answers, got ${describe(m.tool_call_id)}`);
      }
      if (callIds.size > 0 && !callIds.has(m.tool_call_id as string)) {
        fail(`${p}.tool_call_id`, `"${m.tool_call_id}" matches no tool call of an earlier assistant message (known: ${[...callIds].join(', ')})`);
      }
      out.tool_call_id = m.tool_call_id as string;
    }
    return out;
  });
}

/** Chat: logprobs true/false, top_logprobs 0-20 (only with logprobs: true). */
function chatLogprobs(r: Record<string, unknown>): number | null {
  const on = bool(r, 'logprobs') ?? false;
  const top = number(r, 'top_logprobs', 0, MAX_TOP_LOGPROBS, { int: true });
  if (top !== null && !on) fail('top_logprobs', 'needs logprobs: true');
  return on ? (top ?? 0) : null;
}

/** Completions: logprobs is the number of alternatives, 0-20. */
function completionLogprobs(r: Record<string, unknown>, echo: boolean): number | null {
  const top = number(r, 'logprobs', 0, MAX_TOP_LOGPROBS, { int: true });
  if (top !== null && echo) fail('logprobs', 'log-probabilities of the prompt are not computed; use echo or logprobs, not both');
  return top;
}

function tools(v: unknown): ToolDefinition[] | null {
  if (!given(v)) return null;
  if (!Array.isArray(v)) return fail('tools', `must be a list of {"type": "function", "function": {...}}, got ${describe(v)}`);
  const names = new Set<string>();
  return v.map((t, i) => {
    const p = `tools[${i}]`;
    if (!isObject(t)) fail(p, `must be an object {"type": "function", "function": {...}}, got ${describe(t)}`);
    if (t.type !== 'function') fail(`${p}.type`, `must be "function"${t.type === 'custom' ? ' (custom free-text tools are not supported)' : ''}, got ${describe(t.type)}`);
    const f = t.function;
    if (!isObject(f)) fail(`${p}.function`, 'is required: {"name": ..., "description": ..., "parameters": {...}}');
    const fn = f as Record<string, unknown>;
    if (typeof fn.name !== 'string' || !NAME_RE.test(fn.name)) {
      fail(`${p}.function.name`, `must be 1-64 characters of a-z, A-Z, 0-9, _ and -, got ${describe(fn.name)}`);
    }
    if (names.has(fn.name as string)) fail(`${p}.function.name`, `"${fn.name}" is defined twice; tool names must be unique`);
    names.add(fn.name as string);
    if (given(fn.description) && typeof fn.description !== 'string') fail(`${p}.function.description`, `must be a string, got ${describe(fn.description)}`);
    if (given(fn.parameters) && !isObject(fn.parameters)) fail(`${p}.function.parameters`, `must be a JSON schema object, got ${describe(fn.parameters)}`);
    if (given(fn.strict) && typeof fn.strict !== 'boolean') fail(`${p}.function.strict`, `must be true or false, got ${describe(fn.strict)}`);
    return t as unknown as ToolDefinition;
  });
}

/** Compiles every tool's parameters: a schema the compiler refuses is a BadRequestError naming it. */
function compileTools(defined: ToolDefinition[]): ToolSchema[] {
  return defined.map((t, i) => {
    const p = `tools[${i}].function.parameters`;
    const params = t.function.parameters;
    if (params === undefined || params === null || Object.keys(params).length === 0) return { name: t.function.name, arguments: ANY_OBJECT, check: ANY_OBJECT, strict: t.function.strict === true };
    let args: SchemaNode, check: SchemaNode;
    try {
      args = compileJsonSchema(params, 'parameters');
      check = compileJsonSchema(params, 'parameters', { unlisted: 'open' });
    } catch (e) {
      if (!(e instanceof SchemaError)) throw e;
      throw new BadRequestError(p, `${e.message} (tool parameters are compiled to check and constrain the arguments)`, { cause: e });
    }
    if (args.kind !== 'object') fail(p, 'must describe an object (type: "object")');
    return { name: t.function.name, arguments: args, check, strict: t.function.strict === true };
  });
}

function toolChoice(v: unknown, defined: ToolDefinition[] | null): ToolChoiceNorm {
  if (!given(v)) return 'auto';
  const names = (defined ?? []).map((t) => t.function.name);
  if (v === 'none' || v === 'auto') return v;
  if (v === 'required') {
    if (names.length === 0) fail('tool_choice', '"required" needs at least one tool in tools');
    return v;
  }
  if (typeof v === 'string') return fail('tool_choice', `must be "none", "auto", "required" or {"type": "function", "function": {"name": ...}}, got ${describe(v)}`);
  if (!isObject(v) || v.type !== 'function' || !isObject(v.function) || typeof v.function.name !== 'string') {
    return fail('tool_choice', 'must be "none", "auto", "required" or {"type": "function", "function": {"name": ...}}');
  }
  const name = v.function.name as string;
  if (!names.includes(name)) {
    fail('tool_choice.function.name', names.length ? `"${name}" is not one of the tools (${names.join(', ')})` : `names "${name}", but no tools were given`);
  }
  return { name };
}

export function validateChatRequest(req: unknown, ctx: ValidationContext): NormalizedChatRequest {
  if (!isObject(req)) return fail(null, `the request must be an object with "messages", got ${describe(req)}`);
  checkKeys(req, CHAT_KEYS);
  const msgs = messages(req.messages, ctx);
  const common = checkCommon(req, ctx);
  const defined = tools(req.tools);
  const choice = toolChoice(req.tool_choice, defined);
  if (given(req.parallel_tool_calls)) bool(req, 'parallel_tool_calls');
  let enableThinking: boolean | undefined;
  if (given(req.reasoning_effort)) {
    const e = req.reasoning_effort;
    if (typeof e !== 'string' || !EFFORTS.includes(e)) fail('reasoning_effort', `must be one of ${EFFORTS.map((x) => `"${x}"`).join(', ')}, got ${describe(e)}`);
    // This model thinks or not; there are no degrees: "none"/"minimal" = off, the rest = on.
    enableThinking = e !== 'none' && e !== 'minimal';
  }
  if (given(req.chat_template_kwargs)) {
    const k = req.chat_template_kwargs;
    if (!isObject(k)) fail('chat_template_kwargs', `must be an object such as {"enable_thinking": true}, got ${describe(k)}`);
    for (const key of Object.keys(k as object)) if (key !== 'enable_thinking') fail(`chat_template_kwargs.${key}`, 'is not supported (only enable_thinking)');
    const v = (k as Record<string, unknown>).enable_thinking;
    if (given(v)) {
      if (typeof v !== 'boolean') fail('chat_template_kwargs.enable_thinking', `must be true or false, got ${describe(v)}`);
      enableThinking = v as boolean;
    }
  }
  if (given(req.enable_thinking)) enableThinking = bool(req, 'enable_thinking')!;
  const json = responseFormat(req.response_format);
  const forced = choice === 'required' || typeof choice === 'object';
  if (json && forced) fail('response_format', 'cannot be combined with a forced tool call (tool_choice "required" or a named function)');
  const toolSchemas = compileTools(defined ?? []);
  const forcedTools = forced ? toolSchemas.filter((t) => typeof choice !== 'object' || t.name === choice.name) : [];
  return {
    ...common,
    json,
    logprobs: chatLogprobs(req),
    messages: msgs,
    tools: choice === 'none' || !defined || defined.length === 0 ? null : defined,
    toolChoice: choice,
    toolSchemas: choice === 'none' ? [] : toolSchemas,
    forcedTools,
    enableThinking,
  };
}

export function validateCompletionRequest(req: unknown, ctx: ValidationContext): NormalizedCompletionRequest {
  if (!isObject(req)) return fail(null, `the request must be an object with "prompt", got ${describe(req)}`);
  checkKeys(req, COMPLETION_KEYS);
  let p = req.prompt;
  // A batch of one (["text"] or [[ids]]) is that prompt.
  if (Array.isArray(p) && p.length === 1 && (typeof p[0] === 'string' || Array.isArray(p[0]))) p = p[0];
  let prompt: string | number[];
  if (typeof p === 'string') {
    if (p === '') fail('prompt', 'must not be empty');
    wellFormed(p, 'prompt');
    prompt = p;
  } else if (Array.isArray(p)) {
    if (p.length === 0) fail('prompt', 'must not be empty');
    if (p.some((x) => typeof x === 'string' || Array.isArray(x))) fail('prompt', 'a batch of prompts is not supported; send one request per prompt');
    prompt = p.map((id, i) => {
      if (typeof id !== 'number' || !Number.isInteger(id)) fail(`prompt[${i}]`, `must be an integer token id, got ${describe(id)}`);
      if (id < 0 || id >= ctx.vocabSize) fail(`prompt[${i}]`, `token id ${id} is outside the vocabulary [0, ${ctx.vocabSize})`);
      return id as number;
    });
  } else {
    return fail('prompt', `must be a string or a list of token ids, got ${describe(p)}`);
  }
  if (given(req.suffix)) fail('suffix', 'insertion (suffix) is not supported');
  if (given(req.best_of) && req.best_of !== 1) fail('best_of', 'only best_of = 1 is supported');
  const common = checkCommon(req, ctx);
  const echo = bool(req, 'echo') ?? false;
  return { ...common, json: responseFormat(req.response_format), logprobs: completionLogprobs(req, echo), prompt, echo };
}
