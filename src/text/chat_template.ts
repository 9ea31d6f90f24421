// Chat prompts through Jinja (@huggingface/jinja), the way transformers' apply_chat_template
// renders them: the model's own `chat_template` from tokenizer_config.json when it has one,
// else ERNIE_45_DEFAULT_TEMPLATE. Compiled templates are cached by source text.

import { Interpreter, Template } from '@huggingface/jinja';
import { ErnieError } from '../errors';
import { tokenContent, type TokenizerConfig } from './convert';

export { parseAssistantOutput } from './assistant_output';
export type { AssistantOutput, ParseOptions, ToolCallError } from './assistant_output';

export type ContentPart =
  | { type: 'text'; text: string }
  | { type: 'image_url'; image_url: { url: string } }
  | { type: 'image' | 'video' | 'video_url'; [key: string]: unknown };

export interface ToolCall {
  id?: string;
  type?: 'function';
  /** OpenAI gives `arguments` as a JSON string; an object is accepted too. */
  function: { name: string; arguments: string | Record<string, unknown> };
}

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant' | 'tool' | (string & {});
  content?: string | ContentPart[] | null;
  reasoning_content?: string | null;
  tool_calls?: ToolCall[];
  tool_call_id?: string;
  name?: string;
}

/** An OpenAI function tool. */
export interface ToolDefinition {
  type: 'function';
  function: { name: string; description?: string; parameters?: Record<string, unknown>; [key: string]: unknown };
}

export interface RenderOptions {
  messages: ChatMessage[];
  tools?: ToolDefinition[] | null;
  /** Ends the prompt with the assistant prefix. Default true. */
  addGenerationPrompt?: boolean;
  /** Passed only when set, as transformers does (templates test `enable_thinking is defined`). */
  enableThinking?: boolean;
  /** More template variables (they override nothing set above). */
  extraContext?: Record<string, unknown>;
}

/*
 * ERNIE-4.5-21B-A3B-PT / 0.3B-PT default template (ERNIE45.md §2.4), rewritten: without tools
 * it renders exactly what that template renders, for string content:
 *   <|begin_of_sentence|>{system}\nUser: {user}\nAssistant: {answer}<|end_of_sentence|>...Assistant: 
 * Array content is reduced to its text parts (the original would fail on it).
 *
 * Tools, which the PT template lacks, use the formats ERNIE's tool-trained releases learned
 * (ERNIE45.md §2.5), placed in the PT turn structure:
 *  - the tool list goes at the end of the system text (after the first system message, or right
 *    after the cls token when there is none):
 *      <tool_list>\n[{tool json}, {tool json}]\n</tool_list>\n{tool_instruction}\n
 *    each tool being the OpenAI {"type": "function", "function": {...}} object as JSON, non-ASCII
 *    kept, joined with ", ". `tool_instruction` is one plain sentence telling the model the call
 *    format (a PT model was not trained on it); pass tool_instruction='' to leave it out;
 *  - a past assistant turn with tool calls: "Assistant: " + content (+ "\n" if any), then one
 *      <tool_call>\n{"name": ..., "arguments": {...}}\n</tool_call>\n
 *    block per call, then the sep token, as for any finished turn;
 *  - tool results come back as a user turn; consecutive tool messages share one turn:
 *      User: <tool_response>\n{result}\n</tool_response>\n<tool_response>\n...\n</tool_response>\n
 * `enable_thinking` is ignored: the PT models have no thinking mode.
 */
export const ERNIE_45_DEFAULT_TEMPLATE = `
{%- if not add_generation_prompt is defined -%}{%- set add_generation_prompt = true -%}{%- endif -%}
{%- if not cls_token is defined -%}{%- set cls_token = "<|begin_of_sentence|>" -%}{%- endif -%}
{%- if not sep_token is defined -%}{%- set sep_token = "<|end_of_sentence|>" -%}{%- endif -%}
{%- if not tool_instruction is defined -%}
  {%- set tool_instruction = "To call a function from <tool_list>, reply with <tool_call>\\n{\\"name\\": \\"function name\\", \\"arguments\\": {...}}\\n</tool_call> (one block per call); results come back in <tool_response> blocks." -%}
{%- endif -%}
{%- macro text(content) -%}
  {%- if content is string -%}{{- content -}}
  {%- elif content -%}{%- for part in content -%}{%- if part.type == "text" -%}{{- part.text -}}{%- endif -%}{%- endfor -%}
  {%- endif -%}
{%- endmacro -%}
{%- macro tool_list() -%}
  {{- "<tool_list>\\n[" -}}
  {%- for tool in tools -%}{{- tool | tojson -}}{%- if not loop.last -%}{{- ", " -}}{%- endif -%}{%- endfor -%}
  {{- "]\\n</tool_list>\\n" -}}
  {%- if tool_instruction -%}{{- tool_instruction + "\\n" -}}{%- endif -%}
{%- endmacro -%}
{{- cls_token -}}
{%- set ns = namespace(tools_pending=(tools is defined and tools is not none and tools | length > 0)) -%}
{%- if ns.tools_pending and (messages | length == 0 or messages[0].role != "system") -%}
  {{- tool_list() -}}{%- set ns.tools_pending = false -%}
{%- endif -%}
{%- for message in messages -%}
  {%- if message.role == "system" -%}
    {{- text(message.content) + "\\n" -}}
    {%- if ns.tools_pending -%}{{- tool_list() -}}{%- set ns.tools_pending = false -%}{%- endif -%}
  {%- elif message.role == "user" -%}
    {{- "User: " + text(message.content) + "\\n" -}}
  {%- elif message.role == "assistant" -%}
    {{- "Assistant: " + text(message.content) -}}
    {%- if message.tool_calls -%}
      {%- if text(message.content) -%}{{- "\\n" -}}{%- endif -%}
      {%- for call in message.tool_calls -%}
        {%- set f = call.function if call.function is defined else call -%}
        {%- set args = f.arguments if f.arguments is string else (f.arguments | tojson) -%}
        {{- "<tool_call>\\n{\\"name\\": " + (f.name | tojson) + ", \\"arguments\\": " + args + "}\\n</tool_call>\\n" -}}
      {%- endfor -%}
    {%- endif -%}
    {{- sep_token -}}
  {%- elif message.role == "tool" -%}
    {%- if loop.first or messages[loop.index0 - 1].role != "tool" -%}{{- "User: " -}}{%- endif -%}
    {{- "<tool_response>\\n" + text(message.content) + "\\n</tool_response>\\n" -}}
  {%- endif -%}
{%- endfor -%}
{%- if add_generation_prompt -%}{{- "Assistant: " -}}{%- endif -%}
`;

const cache = new Map<string, Template>();
const CACHE_SIZE = 16;

/** Compiles a template once; `file` names its origin in errors. */
export function compileTemplate(source: string, file = 'tokenizer_config.json'): Template {
  const hit = cache.get(source);
  if (hit) {
    cache.delete(source); // refresh its place: the map is kept in least-recently-used order
    cache.set(source, hit);
    return hit;
  }
  let t: Template;
  try {
    t = new Template(source);
  } catch (cause) {
    throw new ErnieError('BAD_CONFIG', `${file}: chat_template does not compile: ${(cause as Error).message}`, { cause });
  }
  cache.set(source, t);
  if (cache.size > CACHE_SIZE) cache.delete(cache.keys().next().value!);
  return t;
}

// ---- bounded rendering ----
// Templates come from model files, so they are untrusted: `range(100000000)` or two nested loops
// of 10^4 would run out of memory or time. Every render runs under a budget of interpreter steps
// (each evaluated node; each element range() makes counts as one, checked before it allocates),
// wall time, and characters and list items produced; past any of them it stops with a
// TEMPLATE_LIMIT error naming the file.

export interface TemplateLimits {
  /** Evaluated template nodes, blocks and range() elements, for a request without messages... */
  maxSteps: number;
  /** ...and this many more per message and per tool, so long conversations get room in proportion. */
  stepsPerMessage: number;
  /** Milliseconds of rendering. */
  maxMs: number;
  /** Characters of any one string, the output included. */
  maxChars: number;
  /** Characters of all strings produced, together (bounds the memory of loops that build text). */
  maxTotalChars: number;
  /** Elements of any one list (range() included). */
  maxItems: number;
}

/** Generous for any real chat template: the built-in one takes about 50 steps per message. */
export const DEFAULT_TEMPLATE_LIMITS: Readonly<TemplateLimits> = Object.freeze({
  maxSteps: 100_000,
  stepsPerMessage: 500,
  // A backstop for work no step counts (a huge regex, a slow filter); steps are the deterministic bound.
  maxMs: 5_000,
  maxChars: 8 << 20,
  maxTotalChars: 256 << 20,
  maxItems: 1_000_000,
});

/**
 * Steps a block costs (a loop iteration's body, a branch, a macro body): the interpreter builds
 * a scope and a loop object for each, several times the work of an ordinary node.
 */
const BLOCK_STEPS = 4;

class RenderBudget {
  private steps = 0;
  private chars = 0;
  private readonly deadline: number;
  constructor(
    readonly limits: TemplateLimits,
    readonly file: string,
    private readonly maxSteps: number,
  ) {
    this.deadline = performance.now() + limits.maxMs;
  }

  private stop(what: string): never {
    throw new ErnieError('TEMPLATE_LIMIT', `${this.file}: chat_template rendering stopped: ${what}. Templates come from model files, so rendering is bounded; fix or replace the template`);
  }

  step(n = 1): void {
    this.steps += n;
    if (this.steps > this.maxSteps) this.stop(`more than ${this.maxSteps} steps`);
    if ((this.steps & 1023) < n && performance.now() > this.deadline) this.stop(`more than ${this.limits.maxMs} ms`);
  }

  /** Checks one evaluated value's size. */
  produced(value: unknown): void {
    if (typeof value === 'string') {
      if (value.length > this.limits.maxChars) this.stop(`a string of ${value.length} characters exceeds ${this.limits.maxChars}`);
      this.chars += value.length;
      if (this.chars > this.limits.maxTotalChars) this.stop(`more than ${this.limits.maxTotalChars} characters produced`);
    } else if (Array.isArray(value) && value.length > this.limits.maxItems) this.stop(`a list of ${value.length} items exceeds ${this.limits.maxItems}`);
  }

  /**
   * Puts this budget in front of the render's range(), which would otherwise allocate its whole
   * list first. The interpreter's global scope is new for each render, so the change stays in it.
   */
  boundRange(interpreter: unknown): void {
    const fn = (interpreter as { global?: { variables?: Map<string, { value?: unknown }> } }).global?.variables?.get('range');
    if (!fn || typeof fn.value !== 'function') return;
    const inner = fn.value as (args: { value?: unknown }[], scope: unknown) => unknown;
    fn.value = (args: { value?: unknown }[], scope: unknown) => {
      const nums = args.map((a) => a.value);
      if (nums.length > 0 && nums.every((v) => typeof v === 'number')) {
        let [start, stop, by = 1] = nums as number[];
        if (stop === undefined) [start, stop] = [0, start!];
        if (![start, stop, by].every(Number.isFinite)) this.stop(`range() of non-finite bounds`);
        const n = by === 0 ? 0 : Math.max(0, Math.ceil((stop! - start!) / by!));
        if (n > this.limits.maxItems) this.stop(`range() of ${n} items exceeds ${this.limits.maxItems}`);
        this.step(n);
      }
      return inner(args, scope);
    };
  }

  /** The first node of a render: the interpreter it runs in is known from here on. */
  fresh = true;
}

/** The budget of the render in progress (rendering is synchronous, so there is at most one). */
let active: RenderBudget | null = null;

type Evaluate = ((this: unknown, node: unknown, env: unknown) => { value?: unknown }) & { bounded?: true };
/**
 * Counts steps and checks sizes at every node and block the interpreter evaluates.
 * @huggingface/jinja has no hook for it, so its (private) evaluate and evaluateBlock methods are
 * wrapped once; outside our renders the wrappers only check `active` and pass through.
 */
function installStepHook(): boolean {
  const proto = Interpreter.prototype as unknown as Record<'evaluate' | 'evaluateBlock', Evaluate | undefined>;
  const node = proto.evaluate, block = proto.evaluateBlock;
  if (typeof node !== 'function' || typeof block !== 'function') return false;
  if (node.bounded) return true;
  const wrap = (inner: Evaluate, cost: number): Evaluate => {
    const bounded: Evaluate = function (this: unknown, n: unknown, env: unknown) {
      const budget = active;
      if (!budget) return inner.call(this, n, env);
      if (budget.fresh) {
        budget.fresh = false;
        budget.boundRange(this);
      }
      budget.step(cost);
      const v = inner.call(this, n, env);
      budget.produced(v?.value);
      return v;
    };
    bounded.bounded = true;
    return bounded;
  };
  proto.evaluate = wrap(node, 1);
  proto.evaluateBlock = wrap(block, BLOCK_STEPS);
  return true;
}
const stepHook = installStepHook();

/**
 * Renders `template` under `limits`: a TEMPLATE_LIMIT ErnieError naming `file` when it runs past
 * them, a BAD_REQUEST one when the template itself fails (raise_exception, a type error).
 */
export function renderBounded(template: Template, context: Record<string, unknown>, file: string, limits: TemplateLimits = DEFAULT_TEMPLATE_LIMITS): string {
  const items = (Array.isArray(context.messages) ? context.messages.length : 0) + (Array.isArray(context.tools) ? context.tools.length : 0);
  const budget = new RenderBudget(limits, file, limits.maxSteps + limits.stepsPerMessage * items);
  const outer = active;
  active = budget;
  let out: string;
  try {
    out = template.render(context);
  } catch (cause) {
    if (cause instanceof ErnieError) throw cause;
    // A deep macro recursion ends here too, as a RangeError from the JS stack.
    throw new ErnieError('BAD_REQUEST', `${file}: chat template failed: ${(cause as Error).message}`, { cause });
  } finally {
    active = outer;
  }
  // Without the hook (a jinja version that renamed evaluate) the output size still holds.
  if (!stepHook) budget.produced(out);
  return out;
}

/** The config's template (by name when it has several), or null. */
export function configChatTemplate(config: TokenizerConfig, wantTools = false): string | null {
  const ct = config.chat_template;
  if (typeof ct === 'string') return ct;
  if (Array.isArray(ct)) {
    const byName = new Map(ct.map((t) => [t.name, t.template]));
    return (wantTools ? byName.get('tool_use') : undefined) ?? byName.get('default') ?? null;
  }
  return null;
}

const SPECIAL_KEYS = ['bos_token', 'eos_token', 'unk_token', 'pad_token', 'cls_token', 'sep_token', 'mask_token'] as const;

export class ChatTemplate {
  /** The special tokens the template sees (cls_token, sep_token, bos_token, eos_token...). */
  readonly specialTokens: Readonly<Record<string, string>>;

  /**
   * `source` null = the config's template if any, else ERNIE_45_DEFAULT_TEMPLATE. `file` names an
   * explicit `source` in errors (default: tokenizer_config.json, where templates usually live).
   */
  constructor(
    readonly config: TokenizerConfig = {},
    private readonly source: string | null = null,
    private readonly file = 'tokenizer_config.json',
    private readonly limits: TemplateLimits = DEFAULT_TEMPLATE_LIMITS,
  ) {
    const tokens: Record<string, string> = {};
    for (const k of SPECIAL_KEYS) {
      const c = tokenContent(config[k] as never);
      if (c !== undefined) tokens[k] = c;
    }
    this.specialTokens = Object.freeze(tokens);
    if (source !== null) compileTemplate(source, file);
  }

  /** Where the template for these options comes from, for error messages. */
  templateFile(options: Pick<RenderOptions, 'tools'> = {}): string {
    if (this.source !== null) return this.file;
    return configChatTemplate(this.config, !!options.tools?.length) !== null ? 'tokenizer_config.json' : 'the built-in ERNIE 4.5 chat template';
  }

  /** The template text render() will use for these options. */
  templateFor(options: Pick<RenderOptions, 'tools'> = {}): string {
    return this.source ?? configChatTemplate(this.config, !!options.tools?.length) ?? ERNIE_45_DEFAULT_TEMPLATE;
  }

  render(options: RenderOptions): string {
    const messages = validateMessages(options.messages);
    const tools = options.tools ?? null;
    if (tools !== null && !Array.isArray(tools)) throw new ErnieError('BAD_REQUEST', 'tools must be a list');
    const context: Record<string, unknown> = {
      ...options.extraContext,
      ...this.specialTokens,
      messages,
      tools,
      add_generation_prompt: options.addGenerationPrompt ?? true,
    };
    if (options.enableThinking !== undefined) context.enable_thinking = options.enableThinking;
    const file = this.templateFile(options);
    const out = renderBounded(compileTemplate(this.templateFor(options), file), context, file, this.limits);
    if (out === '') throw new ErnieError('BAD_CONFIG', `${file}: the chat template rendered an empty prompt for these ${messages.length} message(s)`);
    return out;
  }
}

/** One-shot render with the config's (or the default) template. */
export function renderChat(config: TokenizerConfig, options: RenderOptions): string {
  return new ChatTemplate(config).render(options);
}

/**
 * Checks the request's shape and turns OpenAI tool-call arguments given as JSON strings into
 * objects (what transformers asks for), so templates write them as JSON, not as a quoted string.
 */
function validateMessages(messages: unknown): ChatMessage[] {
  if (!Array.isArray(messages)) throw new ErnieError('BAD_REQUEST', 'messages must be a list');
  return messages.map((m, i) => {
    if (typeof m !== 'object' || m === null || typeof (m as ChatMessage).role !== 'string') {
      throw new ErnieError('BAD_REQUEST', `messages[${i}] needs a string role`);
    }
    const msg = m as ChatMessage;
    const c = msg.content;
    if (c !== undefined && c !== null && typeof c !== 'string' && !Array.isArray(c)) {
      throw new ErnieError('BAD_REQUEST', `messages[${i}].content must be a string or a list of parts`);
    }
    if (msg.tool_calls === undefined) return msg;
    if (!Array.isArray(msg.tool_calls)) throw new ErnieError('BAD_REQUEST', `messages[${i}].tool_calls must be a list`);
    const tool_calls = msg.tool_calls.map((call, j) => {
      const f = call?.function;
      if (!f || typeof f.name !== 'string') throw new ErnieError('BAD_REQUEST', `messages[${i}].tool_calls[${j}] needs function.name`);
      if (typeof f.arguments !== 'string') return call;
      try {
        const parsed: unknown = JSON.parse(f.arguments);
        if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) {
          return { ...call, function: { ...f, arguments: parsed as Record<string, unknown> } };
        }
      } catch {
        // not JSON: the template writes the string as it is
      }
      return call;
    });
    return { ...msg, tool_calls };
  });
}
