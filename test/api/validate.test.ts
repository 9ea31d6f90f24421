import { describe, expect, it } from 'vitest';
import { BadRequestError } from '../../src/api/errors';
import { validateChatRequest, validateCompletionRequest, type ValidationContext } from '../../src/api/validate';
import { ErnieError } from '../../src/errors';

const ctx: ValidationContext = { modelName: 'tiny', vocabSize: 700, vision: false };
const user = [{ role: 'user', content: 'Hi' }];
const weather = { type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } };
const call = { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city": "Beijing"}' } };

/** [what, request, param, message fragment] */
const chatCases: [string, unknown, string | null, RegExp][] = [
  ['not an object', 'hello', null, /must be an object/],
  ['no messages', {}, 'messages', /list of messages/],
  ['empty messages', { messages: [] }, 'messages', /at least one/],
  ['messages not a list', { messages: { role: 'user' } }, 'messages', /list/],
  ['message not an object', { messages: ['Hi'] }, 'messages[0]', /must be an object/],
  ['unknown role', { messages: [{ role: 'robot', content: 'x' }] }, 'messages[0].role', /unknown role/],
  ['function role', { messages: [{ role: 'function', name: 'f', content: 'x' }] }, 'messages[0].role', /role "tool"/],
  ['missing content', { messages: [{ role: 'user' }] }, 'messages[0].content', /required/],
  ['content of wrong type', { messages: [{ role: 'user', content: 42 }] }, 'messages[0].content', /string or a list/],
  ['part without text', { messages: [{ role: 'user', content: [{ type: 'text', text: 5 }] }] }, 'messages[0].content[0].text', /string/],
  ['unknown part type', { messages: [{ role: 'user', content: [{ type: 'audio' }] }] }, 'messages[0].content[0].type', /unknown content part/],
  ['image to a text model', { messages: [{ role: 'user', content: [{ type: 'text', text: 'what is this' }, { type: 'image_url', image_url: { url: 'data:,' } }] }] }, 'messages[0].content[1]', /text-only model/],
  ['tool message without tool_call_id', { messages: [...user, { role: 'tool', content: '{}' }] }, 'messages[1].tool_call_id', /required/],
  ['tool message answering an unknown call', { messages: [...user, { role: 'assistant', tool_calls: [call] }, { role: 'tool', tool_call_id: 'call_9', content: '{}' }] }, 'messages[2].tool_call_id', /matches no tool call/],
  ['assistant without content or tool_calls', { messages: [{ role: 'assistant' }] }, 'messages[0].content', /content or tool_calls/],
  ['tool_calls not a list', { messages: [{ role: 'assistant', tool_calls: {} }] }, 'messages[0].tool_calls', /non-empty list/],
  ['tool call without a name', { messages: [{ role: 'assistant', tool_calls: [{ id: 'a', type: 'function', function: { arguments: '{}' } }] }] }, 'messages[0].tool_calls[0].function.name', /non-empty string/],
  ['tool call arguments a number', { messages: [{ role: 'assistant', tool_calls: [{ id: 'a', type: 'function', function: { name: 'f', arguments: 3 } }] }] }, 'messages[0].tool_calls[0].function.arguments', /JSON text/],
  ['model not loaded', { messages: user, model: 'gpt-4o' }, 'model', /not loaded.*"tiny"/],
  ['unknown field (typo)', { messages: user, max_token: 5 }, 'max_token', /did you mean "max_tokens"/],
  ['deprecated functions', { messages: user, functions: [] }, 'functions', /use tools/],
  ['max_tokens 0', { messages: user, max_tokens: 0 }, 'max_tokens', /\[1, inf\)/],
  ['max_tokens negative', { messages: user, max_tokens: -5 }, 'max_tokens', /\[1, inf\)/],
  ['max_tokens fractional', { messages: user, max_tokens: 2.5 }, 'max_tokens', /integer/],
  ['max_tokens a string', { messages: user, max_tokens: '10' }, 'max_tokens', /must be a number/],
  ['max_tokens and max_completion_tokens disagree', { messages: user, max_tokens: 5, max_completion_tokens: 6 }, 'max_completion_tokens', /only one/],
  ['temperature too high', { messages: user, temperature: 3 }, 'temperature', /\[0, 2\]/],
  ['temperature NaN', { messages: user, temperature: NaN }, 'temperature', /number/],
  ['top_p above 1', { messages: user, top_p: 1.5 }, 'top_p', /\[0, 1\]/],
  ['top_k negative', { messages: user, top_k: -3 }, 'top_k', /\[-1, inf\)/],
  ['min_p above 1', { messages: user, min_p: 2 }, 'min_p', /\[0, 1\]/],
  ['seed fractional', { messages: user, seed: 1.5 }, 'seed', /integer/],
  ['seed too large', { messages: user, seed: 2 ** 60 }, 'seed', /2\^53/],
  ['stop with 5 entries', { messages: user, stop: ['a', 'b', 'c', 'd', 'e'] }, 'stop', /at most 4/],
  ['empty stop string', { messages: user, stop: ['ok', ''] }, 'stop[1]', /must not be empty/],
  ['empty stop (string form)', { messages: user, stop: '' }, 'stop', /must not be empty/],
  ['stop not a string', { messages: user, stop: [1] }, 'stop[0]', /string/],
  ['stop_token_ids out of vocabulary', { messages: user, stop_token_ids: [2, 700] }, 'stop_token_ids[1]', /outside the vocabulary/],
  ['frequency_penalty out of range', { messages: user, frequency_penalty: 2.5 }, 'frequency_penalty', /\[-2, 2\]/],
  ['presence_penalty out of range', { messages: user, presence_penalty: -3 }, 'presence_penalty', /\[-2, 2\]/],
  ['repetition_penalty zero', { messages: user, repetition_penalty: 0 }, 'repetition_penalty', /\(0, inf\)/],
  ['logit_bias a list', { messages: user, logit_bias: [1, 2] }, 'logit_bias', /object mapping/],
  ['logit_bias key not an id', { messages: user, logit_bias: { hello: 5 } }, 'logit_bias.hello', /not a token id/],
  ['logit_bias key negative', { messages: user, logit_bias: { '-1': 5 } }, 'logit_bias.-1', /not a token id/],
  ['logit_bias key outside vocab', { messages: user, logit_bias: { '5000': 5 } }, 'logit_bias.5000', /outside the vocabulary/],
  ['logit_bias value too big', { messages: user, logit_bias: { '5': 500 } }, 'logit_bias.5', /\[-100, 100\]/],
  ['n > 16', { messages: user, n: 17 }, 'n', /must be in \[1, 16\]/],
  ['stream not a boolean', { messages: user, stream: 'yes' }, 'stream', /true or false/],
  ['stream_options without stream', { messages: user, stream_options: { include_usage: true } }, 'stream_options', /stream: true/],
  ['top_logprobs without logprobs', { messages: user, top_logprobs: 3 }, 'top_logprobs', /needs logprobs: true/],
  ['top_logprobs over 20', { messages: user, logprobs: true, top_logprobs: 21 }, 'top_logprobs', /\[0, 20\]/],
  ['signal not an AbortSignal', { messages: user, signal: {} }, 'signal', /AbortSignal/],
  ['tools not a list', { messages: user, tools: weather }, 'tools', /list/],
  ['tool of the wrong type', { messages: user, tools: [{ type: 'retrieval' }] }, 'tools[0].type', /"function"/],
  ['tool with a bad name', { messages: user, tools: [{ type: 'function', function: { name: 'get weather' } }] }, 'tools[0].function.name', /a-z/],
  ['duplicate tool names', { messages: user, tools: [weather, weather] }, 'tools[1].function.name', /defined twice/],
  ['tool_choice naming an unknown tool', { messages: user, tools: [weather], tool_choice: { type: 'function', function: { name: 'send_mail' } } }, 'tool_choice.function.name', /not one of the tools \(get_weather\)/],
  ['tool_choice required without tools', { messages: user, tool_choice: 'required' }, 'tool_choice', /at least one tool/],
  ['tool_choice an unknown word', { messages: user, tools: [weather], tool_choice: 'always' }, 'tool_choice', /"none", "auto", "required"/],
  ['forced tool with an unsupported schema', { messages: user, tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object', properties: { n: { type: 'integer', not: { multipleOf: 2 } } } } } }], tool_choice: 'required' }, 'tools[0].function.parameters', /"not" of "multipleOf" is not supported/],
  ['response_format a string', { messages: user, response_format: 'json' }, 'response_format', /must be an object/],
  ['response_format unknown type', { messages: user, response_format: { type: 'xml' } }, 'response_format.type', /"text", "json_object" or "json_schema"/],
  ['json_schema missing', { messages: user, response_format: { type: 'json_schema' } }, 'response_format.json_schema', /required/],
  ['json_schema without a name', { messages: user, response_format: { type: 'json_schema', json_schema: { schema: {} } } }, 'response_format.json_schema.name', /1-64/],
  ['json_schema with an unknown type', { messages: user, response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { type: 'date' } } } }, 'response_format.json_schema.schema', /unknown type "date"/],
  ['json_schema with $ref', { messages: user, response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { $ref: 'http://x/a' } } } }, 'response_format.json_schema.schema', /only local references/],
  ['json_schema required not in properties', { messages: user, response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { type: 'object', properties: { a: {} }, required: ['b'], additionalProperties: false } } } }, 'response_format.json_schema.schema', /accepts nothing/],
  ['json_schema allOf that cannot merge', { messages: user, response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { allOf: [{ type: 'string' }, { type: 'integer' }] } } } }, 'response_format.json_schema.schema', /accepts nothing/],
  ['json mode with a forced tool call', { messages: user, tools: [weather], tool_choice: 'required', response_format: { type: 'json_object' } }, 'response_format', /forced tool call/],
  ['enable_thinking not a boolean', { messages: user, enable_thinking: 'yes' }, 'enable_thinking', /true or false/],
];

const completionCases: [string, unknown, string | null, RegExp][] = [
  ['no prompt', {}, 'prompt', /string or a list of token ids/],
  ['empty prompt', { prompt: '' }, 'prompt', /empty/],
  ['batch of prompts', { prompt: ['a', 'b'] }, 'prompt', /batch/],
  ['prompt id outside vocab', { prompt: [1, 2, 9999] }, 'prompt[2]', /outside the vocabulary/],
  ['prompt id fractional', { prompt: [1.5] }, 'prompt[0]', /integer token id/],
  ['suffix', { prompt: 'a', suffix: 'b' }, 'suffix', /not supported/],
  ['messages on completions', { prompt: 'a', messages: [] }, 'messages', /not a known request field/],
];

function errorOf(fn: () => unknown): BadRequestError {
  try {
    fn();
  } catch (e) {
    return e as BadRequestError;
  }
  throw new Error('no error thrown');
}

describe('validateChatRequest rejects malformed requests', () => {
  it('has a table of at least 30 cases', () => {
    expect(chatCases.length + completionCases.length).toBeGreaterThanOrEqual(30);
  });
  it.each(chatCases)('%s', (_what, req, param, message) => {
    const e = errorOf(() => validateChatRequest(req, ctx));
    expect(e).toBeInstanceOf(BadRequestError);
    expect(e).toBeInstanceOf(ErnieError);
    expect(e.code).toBe('BAD_REQUEST');
    expect(e.param).toBe(param);
    expect(e.message).toMatch(message);
    if (param) expect(e.message.startsWith(param + ': ')).toBe(true);
  });
});

describe('validateCompletionRequest rejects malformed requests', () => {
  it.each(completionCases)('%s', (_what, req, param, message) => {
    const e = errorOf(() => validateCompletionRequest(req, ctx));
    expect(e).toBeInstanceOf(BadRequestError);
    expect(e.param).toBe(param);
    expect(e.message).toMatch(message);
  });
});

describe('validateChatRequest accepts and normalizes', () => {
  it('reads every sampling field', () => {
    const n = validateChatRequest(
      {
        messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: [{ type: 'text', text: 'Hi' }] }],
        model: 'tiny', max_completion_tokens: 7, temperature: 0.5, top_p: 0.9, top_k: -1, min_p: 0.05, seed: -12,
        stop: 'END', stop_token_ids: [5], frequency_penalty: 0.5, presence_penalty: -0.5, repetition_penalty: 1.1,
        logit_bias: { '7': -100, '8': 2 }, n: 1, stream: true, stream_options: { include_usage: true }, user: 'u1',
        temperature_unused: undefined,
      },
      ctx,
    );
    expect(n).toMatchObject({
      maxTokens: 7, seed: -12, stop: ['END'], stopTokenIds: [5], stream: true, includeUsage: true, json: null,
      tools: null, toolChoice: 'auto',
    });
    expect(n.sampling).toEqual({ temperature: 0.5, topP: 0.9, topK: 0, minP: 0.05, frequencyPenalty: 0.5, presencePenalty: -0.5, repetitionPenalty: 1.1 });
    expect([...n.logitBias]).toEqual([[7, -100], [8, 2]]);
  });

  it('leaves defaults to the engine and treats null as absent', () => {
    const n = validateChatRequest({ messages: user, temperature: null, max_tokens: null, stop: null, tools: null }, ctx);
    expect(n).toMatchObject({ maxTokens: null, seed: null, stop: [], stream: false });
    // absent and null sampling fields are unset (undefined), not "off": the model's defaults fill them
    expect(n.sampling).toEqual({});
    const off = validateChatRequest({ messages: user, repetition_penalty: 1, frequency_penalty: 0, presence_penalty: 0, top_k: -1, temperature: 1 }, ctx);
    expect(off.sampling).toEqual({ repetitionPenalty: 1, frequencyPenalty: 0, presencePenalty: 0, topK: 0, temperature: 1 });
  });

  it('keeps a tool conversation and drops tools under tool_choice none', () => {
    const messages = [...user, { role: 'assistant', content: null, tool_calls: [call] }, { role: 'tool', tool_call_id: 'call_1', content: '{"temp": 20}' }];
    const n = validateChatRequest({ messages, tools: [weather] }, ctx);
    expect(n.tools).toHaveLength(1);
    expect(n.messages[1]!.tool_calls![0]!.function.name).toBe('get_weather');
    expect(validateChatRequest({ messages, tools: [weather], tool_choice: 'none' }, ctx).tools).toBeNull();
  });

  it('compiles forced tools and json schemas', () => {
    const n = validateChatRequest({ messages: user, tools: [weather], tool_choice: { type: 'function', function: { name: 'get_weather' } } }, ctx);
    expect(n.forcedTools.map((t) => t.name)).toEqual(['get_weather']);
    const j = validateChatRequest({ messages: user, response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { type: 'object', properties: { a: { type: 'integer' } }, required: ['a'] } } } }, ctx);
    expect(j.json?.kind).toBe('object');
  });

  it('accepts images for a vision model', () => {
    const n = validateChatRequest({ messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:,' } }] }] }, { ...ctx, vision: true });
    expect(n.messages).toHaveLength(1);
  });
});
