import { describe, expect, it } from 'vitest';
import { parseAssistantOutput } from '../../src/text/chat_template';

const ids = { makeId: (i: number) => `call_${i}` };

describe('parseAssistantOutput', () => {
  it('returns a plain answer as content', () => {
    expect(parseAssistantOutput('  Beijing is sunny today.\n', { thinking: false, ...ids })).toEqual({
      content: 'Beijing is sunny today.', reasoning_content: null, tool_calls: [], toolCallErrors: [],
    });
  });

  it('splits reasoning from a <response> answer', () => {
    const out = parseAssistantOutput('The user greets me.\nI should greet back.\n</think>\n\n\n<response>\nHello!\n</response>\n', { thinking: true, ...ids });
    expect(out).toEqual({ content: 'Hello!', reasoning_content: 'The user greets me.\nI should greet back.', tool_calls: [], toolCallErrors: [] });
  });

  it('treats everything as reasoning while </think> has not come', () => {
    expect(parseAssistantOutput('<think>\nstill thinking', { thinking: true })).toMatchObject({ content: '', reasoning_content: 'still thinking' });
  });

  it('does not split at </think> when thinking was off', () => {
    expect(parseAssistantOutput('a</think>b', { thinking: false })).toMatchObject({ content: 'a</think>b', reasoning_content: null });
  });

  it('accepts a response without its closing tag', () => {
    expect(parseAssistantOutput('r</think>\n<response>\npartial answer', { thinking: true }).content).toBe('partial answer');
  });

  it('parses parallel tool calls after reasoning', () => {
    const text = 'Need weather for two cities.\n</think>\n\n\n' +
      '<tool_call>\n{"name": "get_weather", "arguments": {"city": "北京"}}\n</tool_call>\n' +
      '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Shanghai", "unit": "celsius"}}\n</tool_call>\n';
    expect(parseAssistantOutput(text, { thinking: true, ...ids })).toEqual({
      content: '',
      reasoning_content: 'Need weather for two cities.',
      tool_calls: [
        { id: 'call_0', type: 'function', function: { name: 'get_weather', arguments: '{"city":"北京"}' } },
        { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Shanghai","unit":"celsius"}' } },
      ],
      toolCallErrors: [],
    });
  });

  it('keeps text before a tool call as content (PT style) and tolerates an unclosed last block', () => {
    const out = parseAssistantOutput('Let me check.\n<tool_call>\n{"name": "a", "arguments": {}}\n</tool_call>\n<tool_call>\n{"name": "b", "arguments": {"x": [1, 2]}}\n', { thinking: false, ...ids });
    expect(out.content).toBe('Let me check.');
    expect(out.tool_calls.map((c) => [c.function.name, c.function.arguments])).toEqual([['a', '{}'], ['b', '{"x":[1,2]}']]);
    expect(out.toolCallErrors).toEqual([]);
  });

  it('reports malformed tool calls with their raw text and keeps the good ones', () => {
    const bad1 = '\n{"name": "get_weather", "arguments": {"city": "Beijing"}\n';
    const bad2 = '\n{"arguments": {}}\n';
    const bad3 = '\n{"name": "f", "arguments": [1]}\n';
    const text = `<tool_call>${bad1}</tool_call>\n<tool_call>\n{"name": "ok", "arguments": "{\\"a\\": 1}"}\n</tool_call>\n` +
      `<tool_call>${bad2}</tool_call><tool_call>${bad3}</tool_call>`;
    const out = parseAssistantOutput(text, { thinking: false, ...ids });
    expect(out.tool_calls).toEqual([{ id: 'call_0', type: 'function', function: { name: 'ok', arguments: '{"a":1}' } }]);
    expect(out.toolCallErrors.map((e) => e.raw)).toEqual([bad1, bad2, bad3]);
    expect(out.toolCallErrors[0]!.error).toMatch(/not valid JSON/);
    expect(out.toolCallErrors[1]!.error).toMatch(/name/);
    expect(out.toolCallErrors[2]!.error).toMatch(/arguments/);
    expect(out.content).toBe('');
  });

  it('gives calls unique random ids by default', () => {
    const out = parseAssistantOutput('<tool_call>{"name": "a", "arguments": {}}</tool_call><tool_call>{"name": "a"}</tool_call>', { thinking: false });
    expect(out.tool_calls).toHaveLength(2);
    expect(out.tool_calls[0]!.id).toMatch(/^call_[0-9a-f]{24}$/);
    expect(out.tool_calls[0]!.id).not.toBe(out.tool_calls[1]!.id);
    expect(out.tool_calls[1]!.function.arguments).toBe('{}');
  });
});
