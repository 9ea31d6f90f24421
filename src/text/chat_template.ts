// Chat prompts through Jinja (@huggingface/jinja), the way transformers' apply_chat_template
// renders them: the model's own `chat_template` from tokenizer_config.json when it has one,
// else ERNIE_45_DEFAULT_TEMPLATE. Compiled templates are cached by source text.

import { Template } from '@huggingface/jinja';
import { ErnieError } from '../errors';
import { tokenContent, type TokenizerConfig } from './convert';
import { DEFAULT_TEMPLATE_LIMITS, type TemplateLimits, renderBounded } from './template_budget';

export { DEFAULT_TEMPLATE_LIMITS, type TemplateLimits } from './template_budget';

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

/** A compiled chat template (declared here so the published types need no @huggingface/jinja types). */
export interface CompiledTemplate {
  render(items?: Record<string, unknown>): string;
}

const cache = new Map<string, CompiledTemplate>();
const CACHE_SIZE = 16;

/** Compiles a template once; `file` names its origin in errors. */
export function compileTemplate(source: string, file = 'tokenizer_config.json'): CompiledTemplate {
  const hit = cache.get(source);
  if (hit) {
    cache.delete(source); // refresh its place: the map is kept in least-recently-used order
    cache.set(source, hit);
    return hit;
  }
  let t: CompiledTemplate;
  try {
    t = new Template(source);
  } catch (cause) {
    throw new ErnieError('BAD_CONFIG', `${file}: chat_template does not compile: ${(cause as Error).message}`, { cause });
  }
  cache.set(source, t);
  if (cache.size > CACHE_SIZE) cache.delete(cache.keys().next().value!);
  return t;
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
