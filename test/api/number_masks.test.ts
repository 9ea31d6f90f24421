// The number fast path of the mask walk (number_walk.ts: a number's phases and bounded value
// followed without the recognizer, the container reading the byte that ends it) against the
// plain definition: a token is allowed when the recognizer reads all its bytes. A synthetic
// vocabulary with Llama 3's digit tokens (every 1- to 3-digit string) plus tokens where a
// number goes on or ends inside the token ("1,", "0}", "5 ", "12]", "3.14", "1e5", "-0", ".25").
import { describe, expect, it, vi } from 'vitest';
import { JsonGrammar, TokenTable, type GrammarState } from '../../src/sampling/json_grammar';
import { compileJsonSchema } from '../../src/sampling/json_schema';
import { NumberWalk } from '../../src/sampling/number_walk';
import { Rng } from '../../src/sampling/rng';

const utf8 = new TextEncoder();

function vocabulary(): Uint8Array[] {
  const texts = new Set<string>();
  for (let b = 0x20; b < 0x7f; b++) texts.add(String.fromCharCode(b));
  for (const t of ['\n', '\t', '\r', '  ', '\n  ', ' \n']) texts.add(t);
  for (let n = 0; n < 1000; n++) {
    texts.add(String(n).padStart(2, '0'));
    texts.add(String(n).padStart(3, '0'));
    if (n < 10) texts.add(String(n));
  }
  for (let d = 0; d < 10; d++) for (const p of [',', '}', ']', ' ', '\n', '.', 'e', ', ', '},', '"']) texts.add(d + p);
  for (const t of ['12,', '50}', '99]', '3.14', '0.5', '0.25,', '.5', '.25', '.0', '1.', '10.', '0.0', '00.', '1e5', '2E-3', 'e+', 'E-', 'e1', 'e-', '5e', '5e+1',
    '-1', '-0', '-12', '-5.', '-0.5', '1, ', '0},', '5]}', '3 }', '2\n}', '7 ,', '1.5e', '9999', '12345', '100000', '0000', '.', '-.', '+1'])
    texts.add(t);
  for (const t of ['{"', '"}', '["', '":', '": ', ', "', ',"', ', ', ':', '{}', '[]', '"a"', '"b":', '"c": ', '"x', 'true', 'null', 'abc', ' "', ' {', ' [']) texts.add(t);
  return [...texts].map((t) => utf8.encode(t));
}

const schemas: [string, unknown][] = [
  ['root number', { type: 'number' }],
  ['root integer, bounded', { type: 'integer', minimum: -50, maximum: 1234 }],
  ['root number, exclusive bounds, step 0.01', { type: 'number', exclusiveMinimum: -2.5, exclusiveMaximum: 99.75, multipleOf: 0.01 }],
  ['object of numbers', {
    type: 'object',
    properties: {
      a: { type: 'integer', minimum: 10, maximum: 99 },
      b: { type: 'number', minimum: 0.5 },
      c: { type: 'number', maximum: -3 },
      x: { type: 'integer', exclusiveMinimum: 0 },
      e: { type: 'number' },
    },
  }],
  ['array of bounded numbers', { type: 'array', items: { type: 'number', minimum: -1, maximum: 1, multipleOf: 0.001 }, maxItems: 5 }],
  ['array of large integers', { type: 'array', items: { type: 'integer', minimum: 1000, maximum: 100000 } }],
  ['anyOf of numbers (several readings)', { anyOf: [{ type: 'integer', minimum: 0, maximum: 9 }, { type: 'number', minimum: 100, maximum: 200.5 }, { type: 'integer', minimum: -7, maximum: -3 }] }],
  ['anyOf of a number and an enum', { type: 'array', items: { anyOf: [{ type: 'integer', minimum: 5, maximum: 60 }, { enum: [12, 7.5, 'x'] }] } }],
  ['any values', { type: 'object' }],
];

/** Prefixes worth a mask at every byte (numbers near their bounds, past exact doubles, ending inside a token). */
const documents: [string, unknown, string[]][] = [
  ['root number', { type: 'number' }, ['-0.25e+10', '123.5E-2', '0']],
  ['root integer, bounded', { type: 'integer', minimum: -50, maximum: 1234 }, ['-49', '1234', '-0', '123']],
  ['root number, exclusive bounds, step 0.01', { type: 'number', exclusiveMinimum: -2.5, exclusiveMaximum: 99.75, multipleOf: 0.01 }, ['-2.49', '99.74', '0.05']],
  ['object of numbers', schemas[3]![1], ['{"a": 42, "b": 0.75, "c": -3.5, "x": 7, "e": 1e3}']],
  ['array of bounded numbers', schemas[4]![1], ['[-1, 0.125, 1, -0.999]']],
  ['integers past 2^53', { type: 'integer', minimum: 9007199254740000, maximum: 9007199254750000 }, ['9007199254740993']],
  // 9007199254740993 is no double: the bound parses to ...992, and the text ...993 is past it (compared exactly).
  ['integers past 2^53 at their bound', { type: 'array', items: { type: 'integer', maximum: 9007199254740993 } }, ['[9007199254740992, 9007199254740991, -9007199254740993]']],
  ['numbers past 2^53', { type: 'array', items: { type: 'number', minimum: 1e20, maximum: 1e21 } }, ['[100000000000000000000.5, 999999999999999999999]']],
  ['fractions past 22 digits', { type: 'number', minimum: 0, maximum: 1 }, ['0.00000000000000000000000125']],
  ['negative, below zero only', { type: 'array', items: { type: 'number', exclusiveMaximum: 0 } }, ['[-0.0001, -12]']],
  // Bounded numbers with an exponent, and prefixes only an exponent brings inside (canStillEnd: the walk hands those bytes to the recognizer).
  ['bounded, with exponents', { type: 'array', items: { type: 'number', minimum: 0, maximum: 10 } }, ['[1e-6, 60e-1, 600.5e-2, 0.5E+1, 1000e-3]']],
  // Digits past a step's last place, when zeros (6000.0 under multipleOf 1; 0.250 under 0.01).
  ['steps with trailing zeros', { type: 'array', items: { anyOf: [{ type: 'number', multipleOf: 1, minimum: 0 }, { type: 'number', multipleOf: 0.01, maximum: 5 }] } }, ['[6000.0, 0.250, 3.1400, 7.00e2]']],
];

describe('number masks: the number walk agrees with reading every token', () => {
  const bytes = vocabulary();
  const stops = [bytes.length];
  const table = new TokenTable([...bytes, null]);

  function bruteForce(s: GrammarState): number[] {
    const out: number[] = [];
    bytes.forEach((b, id) => {
      if (s.grammar.feedBytes(s, b)) out.push(id);
    });
    if (s.grammar.canEnd(s)) out.push(...stops);
    return out;
  }
  const inNumber = (s: GrammarState) => s.stacks.length > 0 && s.stacks.every((st) => st[st.length - 1]?.k === 'N');

  it.each(schemas)('%s: every state of random documents', (_name, schema) => {
    const walks = vi.spyOn(NumberWalk.prototype, 'walk');
    let states = 0, numbers = 0;
    for (const whitespace of ['any', 'compact'] as const) {
      const g = JsonGrammar.schema(compileJsonSchema(schema, 'schema', { unlisted: 'open' }), { whitespace, maxWhitespace: 4 });
      const r = new Rng(states + 5);
      for (let doc = 0; doc < 8; doc++) {
        let s = g.initial();
        for (let step = 0; step < 16; step++) {
          const want = bruteForce(s);
          expect([...table.allowedTokens(s, stops)], `${whitespace} doc ${doc} step ${step}`).toEqual(want);
          states++;
          if (inNumber(s)) numbers++;
          const choices = want.filter((id) => id < bytes.length);
          if (choices.length === 0) break;
          // Lean towards digits and punctuation, so documents hold many numbers.
          const moving = choices.filter((id) => /[0-9"{}[\],:]/.test(String.fromCharCode(...bytes[id]!)));
          const pool = moving.length && r.uniform() < 0.8 ? moving : choices;
          s = table.advance(s, pool[r.nextU32() % pool.length]!)!;
        }
      }
    }
    expect(states).toBeGreaterThan(20);
    expect(numbers).toBeGreaterThan(5);
    expect(walks).toHaveBeenCalled();
    walks.mockRestore();
  });

  it.each(documents)('%s: the state after every byte of chosen documents', (_name, schema, texts) => {
    const walks = vi.spyOn(NumberWalk.prototype, 'walk');
    for (const whitespace of ['any', 'compact'] as const) {
      const g = JsonGrammar.schema(compileJsonSchema(schema, 'schema', { unlisted: 'open' }), { whitespace, maxWhitespace: 4 });
      for (const text of texts) {
        const doc = utf8.encode(whitespace === 'compact' ? text.replace(/ /g, '') : text);
        let s: GrammarState | null = g.initial();
        for (let i = 0; i <= doc.length && s; i++) {
          expect([...table.allowedTokens(s, stops)], `${whitespace} ${JSON.stringify(text.slice(0, i))}`).toEqual(bruteForce(s));
          if (i < doc.length) s = g.feed(s, doc[i]!);
        }
        expect(s, `${text} is valid`).not.toBeNull();
      }
    }
    expect(walks).toHaveBeenCalled();
    walks.mockRestore();
  });
});
