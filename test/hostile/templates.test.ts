// Chat templates from model files are untrusted: rendering runs under a budget of steps, time and
// output size, and stops with a TEMPLATE_LIMIT error naming the file. Issue 20's reproductions
// (range(100000000) ran out of heap after 18.7 s; 10^4 x 10^4 nested loops still ran at 60 s).
import { describe, expect, test } from 'vitest';
import { ErnieError } from '../../src/errors';
import { ChatTemplate, DEFAULT_TEMPLATE_LIMITS, renderChat } from '../../src/text/chat_template';
import { createEngine } from '../../src/api/engine';
import { tinyTokenizer } from '../api/helpers';
import { ScriptedModel } from '../api/scripted_model';
import { expectTyped } from './helpers';

const user = [{ role: 'user' as const, content: 'Hello' }];

/** Renders a tokenizer_config.json template; returns the error and how long it took. */
function timedRender(template: string): { error: unknown; ms: number } {
  const t0 = performance.now();
  try {
    renderChat({ chat_template: template }, { messages: user });
    return { error: undefined, ms: performance.now() - t0 };
  } catch (error) {
    return { error, ms: performance.now() - t0 };
  }
}

describe('hostile templates stop with TEMPLATE_LIMIT naming the file', () => {
  test.each([
    ['range(100000000)', '{% for i in range(100000000) %}x{% endfor %}', /range\(\) of 100000000 items exceeds/, 500],
    ['10^4 x 10^4 nested loops', '{% for i in range(10000) %}{% for j in range(10000) %}{{ j }}{% endfor %}{% endfor %}', /more than 100500 steps/, 8000],
    ['nested loops over a list', '{% set l = range(5000) | list %}{% for i in l %}{% for j in l %}.{% endfor %}{% endfor %}', /more than \d+ steps/, 8000],
    ['a string doubled 40 times', '{% set ns = namespace(s="x") %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s }}', /a string of \d+ characters exceeds/, 2000],
    ['range(10^24)', '{{ range(100000000 * 100000000 * 100000000) | length }}', /range\(\) of 1e\+24 items/, 500],
  ])('%s', (_, template, message, ms) => {
    const r = timedRender(template);
    expect(r.error).toBeInstanceOf(ErnieError);
    const e = r.error as ErnieError;
    expect(e.code).toBe('TEMPLATE_LIMIT');
    expect(e.message).toMatch(/^tokenizer_config\.json: /);
    expect(e.message).toMatch(message);
    // generous for a loaded CI machine; unbounded, these ran out of memory or past 60 s
    expect(r.ms).toBeLessThan(ms);
  });

  test('a template passed in names its own file', async () => {
    const t = new ChatTemplate({}, '{% for i in range(100000000) %}x{% endfor %}', 'chat_template.jinja');
    await expectTyped(() => t.render({ messages: user }), { code: 'TEMPLATE_LIMIT', file: 'chat_template.jinja' });
  });

  test('the step budget grows with the conversation: 5,000 messages render with the built-in template', () => {
    const messages = Array.from({ length: 5000 }, (_, i) => ({ role: i % 2 ? 'assistant' : 'user', content: `message ${i}` }));
    const out = renderChat({}, { messages });
    expect(out.endsWith('Assistant: ')).toBe(true);
    expect(out.split('User: ').length - 1).toBe(2500);
    // and the same template, budget shrunk below its need, stops instead
    const tight = new ChatTemplate({}, null, 'x', { ...DEFAULT_TEMPLATE_LIMITS, maxSteps: 1000, stepsPerMessage: 1 });
    expect(() => tight.render({ messages })).toThrow(/more than 6000 steps/);
  });

  test('limits apply per render: a hostile render does not poison the next one', () => {
    timedRender('{% for i in range(100000000) %}x{% endfor %}');
    expect(renderChat({}, { messages: user })).toBe('<|begin_of_sentence|>User: Hello\nAssistant: ');
  });
});

describe('a template that renders nothing says so', () => {
  test('empty output is BAD_CONFIG naming the file, not "forward: no tokens"', async () => {
    await expectTyped(() => renderChat({ chat_template: '{% if false %}x{% endif %}' }, { messages: user }), {
      code: 'BAD_CONFIG', file: 'tokenizer_config.json', message: /the chat template rendered an empty prompt/,
    });
  });

  test('through the engine too: a chat request gets BAD_CONFIG before any model work', async () => {
    const tok = tinyTokenizer();
    const model = new ScriptedModel([5], tok.eosTokenId!, tok.vocabSize);
    const engine = createEngine({ model, tokenizer: tok, modelName: 'tiny', kind: 'chat', chatTemplate: '{% if false %}x{% endif %}' });
    await expectTyped(engine.chat.completions.create({ messages: user }), { code: 'BAD_CONFIG', file: 'tokenizer_config.json', message: /rendered an empty prompt/ });
    expect(model.cachedTokens()).toEqual([]);
  });

  test('a template error names the file and stays BAD_REQUEST', async () => {
    await expectTyped(() => renderChat({ chat_template: "{{ raise_exception('roles must alternate') }}" }, { messages: user }), {
      code: 'BAD_REQUEST', file: 'tokenizer_config.json', message: /roles must alternate/,
    });
  });
});
