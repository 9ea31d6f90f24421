import { describe, expect, it } from 'vitest';
import { ErnieError } from '../../src/errors';
import { ChatTemplate, compileTemplate, ERNIE_45_DEFAULT_TEMPLATE, renderChat, type ChatMessage, type ToolDefinition } from '../../src/text/chat_template';
import { ErnieTokenizer } from '../../src/text/tokenizer';
import { fixture, rng } from './helpers';

const cfg = fixture.config(); // has cls/sep tokens, no chat_template

// ERNIE45.md §2.4: the template transformers installs on the baidu PT repos, verbatim.
const PT_TEMPLATE = `{%- if not add_generation_prompt is defined -%}
    {%- set add_generation_prompt = true -%}
{%- endif -%}
{%- if not cls_token is defined -%}
    {%- set cls_token = "<|begin_of_sentence|>" -%}
{%- endif -%}
{%- if not sep_token is defined -%}
    {%- set sep_token = "<|end_of_sentence|>" -%}
{%- endif -%}
{{- cls_token -}}
{%- for message in messages -%}
    {%- if message["role"] == "user" -%}
        {{- "User: " + message["content"] + "
" -}}
    {%- elif message["role"] == "assistant" -%}
        {{- "Assistant: " + message["content"] + sep_token -}}
    {%- elif message["role"] == "system" -%}
        {{- message["content"] + "
" -}}
    {%- endif -%}
{%- endfor -%}
{%- if add_generation_prompt -%}
    {{- "Assistant: " -}}
{%- endif -%}`;

// ERNIE45.md §3.9: the VL template (newline literals normalised to '\n'; the text-joining macro,
// elided there, written out).
const VL_TEMPLATE = `{%- set image_count = namespace(value=0) -%}
{%- set video_count = namespace(value=0) -%}
{{- '<|begin_of_sentence|>' }}
{%- for message in messages -%}
    {%- if message.role in ['system', 'user'] -%}
        {%- if message.role == 'user' -%}
            {{- 'User: ' -}}
        {%- endif -%}
        {%- if message.content is string -%}
            {{- message.content -}}
        {%- else -%}
            {%- for content_item in message.content -%}
                {%- if content_item.type == 'text' -%}
                    {{- content_item.text -}}
                {%- elif content_item.type in ['image_url', 'image'] -%}
                    {%- set image_count.value = image_count.value + 1 -%}
                    Picture {{ image_count.value }}:<|IMAGE_START|><|IMAGE_PLACEHOLDER|><|IMAGE_END|>
                {%- elif content_item.type in ['video_url', 'video'] -%}
                    {%- set video_count.value = video_count.value + 1 -%}
                    Video {{ video_count.value }}:<|VIDEO_START|><|VIDEO_PLACEHOLDER|><|VIDEO_END|>
                {%- endif -%}
            {%- endfor -%}
        {%- endif -%}
        {%- if message.role == 'system' -%}
            {{- '\\n' -}}
        {%- endif -%}
    {%- elif message.role == 'assistant' -%}
        {%- macro extract_text_content(content_field) -%}
            {%- if content_field is string -%}
                {{- content_field -}}
            {%- elif content_field -%}
                {%- for item in content_field -%}
                    {%- if item.type == 'text' -%}{{- item.text -}}{%- endif -%}
                {%- endfor -%}
            {%- endif -%}
        {%- endmacro -%}
        {%- set reasoning_content = extract_text_content(message.reasoning_content) -%}
        {%- set content = extract_text_content(message.content) -%}
        {%- if '</think>' in content %}
            {%- set reasoning_content = content.split('</think>')[0].rstrip('\\n').split('<think>')[-1].lstrip('\\n') %}
            {%- set content = content.split('</think>')[-1].lstrip('\\n') %}
        {%- endif %}
        {%- if reasoning_content %}
            {{- '\\n' + 'Assistant: ' + '<think>\\n' + reasoning_content.strip('\\n') + '\\n</think>\\n' + content.lstrip('\\n') }}
        {%- else %}
            {{- '\\n' + 'Assistant: ' + content }}
        {%- endif %}
        {{- '<|end_of_sentence|>' }}
    {%- endif -%}
{%- endfor -%}
{%- if add_generation_prompt is not defined or add_generation_prompt is true %}
    {{- '\\nAssistant: ' -}}
    {%- if (enable_thinking is defined and enable_thinking is false) or enable_thinking is not defined %}
        {{- '<think>\\n\\n</think>\\n\\n' }}
    {%- endif %}
    {%- if enable_thinking is defined and enable_thinking is true %}{{- '<think>' }}{%- endif %}
{%- endif %}`;

const weatherTool: ToolDefinition = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: '查询天气',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
};

const INSTRUCTION = 'To call a function from <tool_list>, reply with <tool_call>\n{"name": "function name", "arguments": {...}}\n</tool_call> (one block per call); results come back in <tool_response> blocks.\n';

describe('default ERNIE 4.5 template (no chat_template in the config)', () => {
  it('renders system + user', () => {
    expect(renderChat(cfg, { messages: [{ role: 'system', content: 'You are helpful.' }, { role: 'user', content: 'Hi' }] }))
      .toBe('<|begin_of_sentence|>You are helpful.\nUser: Hi\nAssistant: ');
  });

  it('renders a multi-turn conversation, array content included', () => {
    const messages: ChatMessage[] = [
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: 'Hello!' },
      { role: 'user', content: [{ type: 'text', text: 'How' }, { type: 'image_url', image_url: { url: 'x' } }, { type: 'text', text: ' are you?' }] },
    ];
    expect(renderChat(cfg, { messages })).toBe('<|begin_of_sentence|>User: Hi\nAssistant: Hello!<|end_of_sentence|>User: How are you?\nAssistant: ');
    expect(renderChat(cfg, { messages: messages.slice(0, 2), addGenerationPrompt: false }))
      .toBe('<|begin_of_sentence|>User: Hi\nAssistant: Hello!<|end_of_sentence|>');
  });

  it('renders system + tools + a parallel tool call + tool results', () => {
    const out = renderChat(cfg, {
      tools: [weatherTool],
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Weather in Beijing and Shanghai?' },
        {
          role: 'assistant', content: '',
          tool_calls: [
            { id: 'c1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"北京"}' } },
            { id: 'c2', type: 'function', function: { name: 'get_weather', arguments: { city: 'Shanghai' } } },
          ],
        },
        { role: 'tool', tool_call_id: 'c1', content: '{"temp": 20}' },
        { role: 'tool', tool_call_id: 'c2', content: '{"temp": 25}' },
      ],
    });
    expect(out).toBe(
      '<|begin_of_sentence|>Be brief.\n' +
      '<tool_list>\n[{"type": "function", "function": {"name": "get_weather", "description": "查询天气", ' +
      '"parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]\n</tool_list>\n' +
      INSTRUCTION +
      'User: Weather in Beijing and Shanghai?\n' +
      'Assistant: <tool_call>\n{"name": "get_weather", "arguments": {"city": "北京"}}\n</tool_call>\n' +
      '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Shanghai"}}\n</tool_call>\n<|end_of_sentence|>' +
      'User: <tool_response>\n{"temp": 20}\n</tool_response>\n<tool_response>\n{"temp": 25}\n</tool_response>\n' +
      'Assistant: ',
    );
  });

  it('puts tools first when there is no system message, keeps content before calls, and can drop the instruction', () => {
    const out = renderChat(cfg, {
      tools: [{ type: 'function', function: { name: 'f' } }],
      messages: [
        { role: 'user', content: 'x' },
        { role: 'assistant', content: 'Let me check.', tool_calls: [{ function: { name: 'f', arguments: 'not json' } }] },
      ],
      extraContext: { tool_instruction: '' },
      addGenerationPrompt: false,
    });
    expect(out).toBe(
      '<|begin_of_sentence|><tool_list>\n[{"type": "function", "function": {"name": "f"}}]\n</tool_list>\n' +
      'User: x\nAssistant: Let me check.\n<tool_call>\n{"name": "f", "arguments": not json}\n</tool_call>\n<|end_of_sentence|>',
    );
  });

  it('renders exactly like the verbatim PT template for plain conversations', () => {
    const r = rng(4);
    const words = ['Hi', '你好', 'a\nb', '  spaced ', '{{ not jinja }}', '<think>', ''];
    for (let i = 0; i < 200; i++) {
      const messages: ChatMessage[] = [];
      if (r() < 0.5) messages.push({ role: 'system', content: words[Math.floor(r() * words.length)]! });
      const turns = 1 + Math.floor(r() * 4);
      for (let t = 0; t < turns; t++) {
        messages.push({ role: 'user', content: words[Math.floor(r() * words.length)]! });
        if (t < turns - 1 || r() < 0.3) messages.push({ role: 'assistant', content: words[Math.floor(r() * words.length)]! });
      }
      const addGenerationPrompt = r() < 0.8;
      const ours = renderChat(cfg, { messages, addGenerationPrompt });
      expect(ours).toBe(renderChat({ ...cfg, chat_template: PT_TEMPLATE }, { messages, addGenerationPrompt }));
      expect(ours).toBe(new ChatTemplate({}, PT_TEMPLATE).render({ messages, addGenerationPrompt })); // template defaults
    }
  });

  it('the rendered prompt tokenizes with the cls token first and no <s>', () => {
    const tok = ErnieTokenizer.fromFiles({ tokenizerModel: fixture.model(), tokenizerConfig: cfg });
    const ids = tok.encode(renderChat(cfg, { messages: [{ role: 'user', content: 'hi' }] }));
    expect(ids[0]).toBe(tok.specialTokens.cls!.id);
    expect(ids).toEqual(fixture.reference().cases[6]!.ids_with_special);
  });
});

describe('a chat_template carried by tokenizer_config.json', () => {
  it('is used instead of the default, with the config special tokens', () => {
    const own = { ...cfg, chat_template: '{{ bos_token }}{% for m in messages %}[{{ m.role }}|{{ m.content }}]{% endfor %}{% if add_generation_prompt %}{{ cls_token }}{% endif %}' };
    expect(renderChat(own, { messages: [{ role: 'user', content: 'Hi' }] })).toBe('<s>[user|Hi]<|begin_of_sentence|>');
    expect(renderChat(own, { messages: [{ role: 'user', content: 'Hi' }], addGenerationPrompt: false })).toBe('<s>[user|Hi]');
  });

  it('picks the tool_use template from a named list when tools are given', () => {
    const own = { ...cfg, chat_template: [{ name: 'default', template: 'D' }, { name: 'tool_use', template: 'T{{ tools | length }}' }] };
    expect(renderChat(own, { messages: [] })).toBe('D');
    expect(renderChat(own, { messages: [], tools: [weatherTool] })).toBe('T1');
  });

  it('reports template errors as ErnieErrors', () => {
    expect(() => renderChat({ chat_template: '{% if %}' }, { messages: [] })).toThrow(/does not compile/);
    const e = (() => { try { renderChat({ chat_template: "{{ raise_exception('roles must alternate') }}" }, { messages: [] }); } catch (x) { return x; } })();
    expect(e).toBeInstanceOf(ErnieError);
    expect((e as ErnieError).code).toBe('BAD_REQUEST');
    expect((e as Error).message).toMatch(/roles must alternate/);
    expect(() => renderChat(cfg, { messages: [{ content: 'x' }] as unknown as ChatMessage[] })).toThrow(/role/);
    expect(() => renderChat(cfg, { messages: [{ role: 'user', content: 5 }] as unknown as ChatMessage[] })).toThrow(/content/);
  });
});

describe('the VL template (thinking switch)', () => {
  const vl = { ...cfg, chat_template: VL_TEMPLATE };
  const messages: ChatMessage[] = [
    { role: 'system', content: 'Sys.' },
    { role: 'user', content: [{ type: 'image_url', image_url: { url: 'a.png' } }, { type: 'text', text: 'Describe it.' }] },
  ];
  const base = '<|begin_of_sentence|>Sys.\nUser: Picture 1:<|IMAGE_START|><|IMAGE_PLACEHOLDER|><|IMAGE_END|>Describe it.\nAssistant: ';

  it('is off unless enable_thinking is true', () => {
    expect(renderChat(vl, { messages })).toBe(base + '<think>\n\n</think>\n\n');
    expect(renderChat(vl, { messages, enableThinking: false })).toBe(base + '<think>\n\n</think>\n\n');
    expect(renderChat(vl, { messages, enableThinking: true })).toBe(base + '<think>');
  });

  it('writes past reasoning back into the assistant turn', () => {
    const turns: ChatMessage[] = [
      { role: 'user', content: 'Q1' },
      { role: 'assistant', content: '<think>\nplan\n</think>\n\nA1' },
      { role: 'user', content: 'Q2' },
      { role: 'assistant', content: 'A2', reasoning_content: 'why' },
    ];
    expect(renderChat(vl, { messages: turns, addGenerationPrompt: false })).toBe(
      '<|begin_of_sentence|>User: Q1\nAssistant: <think>\nplan\n</think>\nA1<|end_of_sentence|>' +
      'User: Q2\nAssistant: <think>\nwhy\n</think>\nA2<|end_of_sentence|>',
    );
  });
});

describe('template cache', () => {
  it('compiles each template source once', () => {
    expect(compileTemplate(ERNIE_45_DEFAULT_TEMPLATE)).toBe(compileTemplate(ERNIE_45_DEFAULT_TEMPLATE));
    expect(compileTemplate(PT_TEMPLATE)).not.toBe(compileTemplate(ERNIE_45_DEFAULT_TEMPLATE));
    expect(new ChatTemplate(cfg).templateFor()).toBe(ERNIE_45_DEFAULT_TEMPLATE);
  });
});
