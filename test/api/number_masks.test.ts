// The number fast path of the mask walk (number_walk.ts: a number's phases and bounded value
// followed without the recognizer, the container reading the byte that ends it) against the
// plain definition: a token is allowed when the recognizer reads all its bytes. A synthetic
// vocabulary with Llama 3's digit tokens (every 1- to 3-digit string) plus tokens where a
// number goes on or ends inside the token ("1,", "0}", "5 ", "12]", "3.14", "1e5", "-0", ".25").
import { describe, expect, it, vi } from 'vitest';
import { JsonGrammar, TokenTable, type GrammarState } from '../../src/sampling/json_grammar';
import { compileJsonSchema, type NumberRules } from '../../src/sampling/json_schema';
import { exponentFeasible, mantissaFeasible } from '../../src/sampling/json_number_exponent';
import { NumberWalk } from '../../src/sampling/number_walk';
import { Rng } from '../../src/sampling/rng';
import { maskVocabulary } from '../helpers/mask_vocabulary';

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
  // Prefixes only an exponent rescues, decided in the walk (mantissaFeasible): bounds below 1, tiny
  // minimums, exclusive bounds, negative numbers, exponents near 999 and the last fraction digits.
  ['rescued prefixes, maximum below 1', { type: 'array', items: { type: 'number', exclusiveMinimum: 0, maximum: 0.5 } }, ['[5e-1, 123.25e-3, 0.5, 4000e-4, 49.9E-2]']],
  ['rescued prefixes, tiny minimum', { type: 'array', items: { type: 'number', minimum: 1e-6, exclusiveMaximum: 2e-6 } }, ['[1e-6, 15e-7, 0.0000019, 1999.5e-9]']],
  ['rescued prefixes, negative', { type: 'array', items: { type: 'number', minimum: -10, exclusiveMaximum: -0.001 } }, ['[-60e-1, -0.0011, -1000e-2, -99.5E-1, -5]']],
  ['rescued prefixes, huge and subnormal values', { type: 'array', items: { anyOf: [{ type: 'number', minimum: 5e-324, maximum: 1e-310 }, { type: 'number', minimum: 1e300, maximum: 1e305 }] } }, ['[1e-315, 25e-312, 1e300, 12.5e303, 99999e300, 9.5e304]']],
  ['rescued prefixes, near the largest double', { type: 'array', items: { type: 'number', minimum: 1e308, exclusiveMaximum: 1.7976931348623157e308 } }, ['[1e308, 17.5e307, 1797e305]']],
  ['rescued prefixes, last fraction digits', { type: 'array', items: { type: 'number', multipleOf: 0.01, minimum: 1, maximum: 99.99 } }, ['[32.50, 7.5, 500.5e-1, 0.25e2, 99.99, 9999e-2]']],
  ['steps with trailing zeros', { type: 'array', items: { anyOf: [{ type: 'number', multipleOf: 1, minimum: 0 }, { type: 'number', multipleOf: 0.01, maximum: 5 }] } }, ['[6000.0, 0.250, 3.1400, 7.00e2]']],
];

describe('number masks: the number walk agrees with reading every token', () => {
  const bytes = vocabulary();
  const { stops, table, bruteForce } = maskVocabulary(bytes); // a stop id past the table's tokens
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

describe('mantissaFeasible: the walk\'s exponent rescue against exponentFeasible (parsing)', () => {
  const rules = (o: Partial<NumberRules>): NumberRules => ({ min: -Infinity, max: Infinity, minExcl: false, maxExcl: false, multipleOf: 0, maxFrac: Infinity, fraction: false, ...o });
  const bounds = [0, 1, 10, 0.5, 1e-6, 2e-6, 99.99, 1e300, 1e305, 1e-300, 5e-324, 1.7976931348623157e308, 123456, 1e21, 1e22, 0.001];
  const all: NumberRules[] = [rules({}), rules({ maxFrac: 2 }), rules({ fraction: true }), rules({ multipleOf: 1 })];
  for (const a of bounds) {
    for (const b of bounds) {
      for (const [lo, hi] of [[a, b], [-b, a], [-b, -a]] as const) {
        if (lo > hi) continue;
        all.push(rules({ min: lo, max: hi }), rules({ min: lo, max: hi, minExcl: true, maxExcl: true }), rules({ min: lo, max: hi, maxFrac: 3 }), rules({ min: lo, max: hi, fraction: true }));
      }
    }
    all.push(rules({ max: a }), rules({ min: a, minExcl: true }), rules({ max: -a, maxExcl: true }), rules({ min: -a }));
  }
  /** A mantissa's text from its digits' value m and k digits after the point (k = 0: a plain integer). */
  const text = (neg: boolean, m: number, k: number) => {
    const d = String(m).padStart(k + 1, '0');
    return (neg ? '-' : '') + (k === 0 ? d : d.slice(0, d.length - k) + '.' + d.slice(d.length - k));
  };

  it('agrees wherever it decides, and decides most', () => {
    const r = new Rng(11);
    const mantissas: [number, number][] = [[1, 0], [10, 0], [100, 1], [5, 0], [60, 0], [9999, 2], [1, 22], [2 ** 53, 0], [2 ** 53, 22], [123456789, 5], [5, 1], [25, 2], [1000, 3]];
    for (let i = 0; i < 60; i++) mantissas.push([1 + (r.nextU32() % 100000), r.nextU32() % 12]);
    let decided = 0, asked = 0, rescued = 0;
    for (const rule of all) {
      for (const [m, k] of mantissas) {
        for (const neg of [false, true]) {
          const txt = text(neg, m, k);
          const want = exponentFeasible(txt + 'e', rule);
          const got = mantissaFeasible(neg, m, k, rule);
          asked++;
          if (got === null) continue;
          decided++;
          if (want) rescued++;
          expect(got, `${txt} under ${JSON.stringify(rule)}`).toBe(want);
        }
      }
    }
    expect(rescued).toBeGreaterThan(asked / 10);
    expect(decided).toBeGreaterThan(asked * 0.8);
  });

  it('a point with no digit after it yet ("60." stands for "60.0")', () => {
    for (const rule of all) {
      for (const m of [6, 60, 600, 1, 12345]) {
        const got = mantissaFeasible(false, m, 0, rule);
        if (got !== null) expect(got, `${m}. under ${JSON.stringify(rule)}`).toBe(exponentFeasible(`${m}.0e`, rule));
      }
    }
  });
});

describe('number masks: rescued prefixes are decided by the walk', () => {
  it('a number under maximum 10 reads its digit tokens without the recognizer', () => {
    const bytes = vocabulary();
    const table = new TokenTable([...bytes, null]);
    const g = JsonGrammar.schema(compileJsonSchema({ type: 'number', minimum: 0, maximum: 10 }, 'schema'), { whitespace: 'compact' });
    let s: GrammarState | null = g.initial();
    for (const b of utf8.encode('6')) s = g.feed(s!, b);
    const feeds = vi.spyOn(JsonGrammar.prototype, 'feed');
    const rescues = vi.spyOn(NumberWalk.prototype as unknown as { byRecognizer: () => void }, 'byRecognizer');
    const ids = [...table.allowedTokens(s!, [bytes.length])];
    const allowed = ids.filter((id) => id < bytes.length).map((id) => new TextDecoder().decode(bytes[id]!));
    // "60", "600", "123" (all rescued by an exponent: 6123e-3) and "5." are allowed, as the recognizer says.
    for (const t of ['0', '00', '123', '.', '.5', 'e', 'e-', 'e+']) expect(allowed, t).toContain(t);
    // Only the bytes after 'e' are read by the recognizer: none of the digit tokens.
    expect(rescues.mock.calls.every((c) => (c as unknown as number[])[3] === 0x65 || (c as unknown as number[])[3] === 0x45)).toBe(true);
    expect(feeds.mock.calls.length).toBeLessThan(150); // the vocabulary has over 1,000 digit tokens
    feeds.mockRestore();
    rescues.mockRestore();
  });

  it('a number in its exponent is walked too, and its masks agree with reading every token', () => {
    const bytes = vocabulary();
    const table = new TokenTable([...bytes, null]);
    const g = JsonGrammar.schema(compileJsonSchema({ type: 'array', items: { type: 'number', minimum: -10, maximum: 0.5 } }, 'schema'), { whitespace: 'any' });
    for (const text of ['[60e-1', '[-6E+0', '[5e-', '[5e', '[1.5e-0']) {
      let s: GrammarState | null = g.initial();
      for (const b of utf8.encode(text)) s = g.feed(s!, b);
      const walks = vi.spyOn(NumberWalk.prototype, 'walk');
      const got = [...table.allowedTokens(s!, [bytes.length])];
      expect(walks.mock.results.some((x) => x.value === true), text).toBe(true);
      walks.mockRestore();
      const want = bytes.flatMap((b, id) => (s!.grammar.feedBytes(s!, b) ? [id] : []));
      expect(got, text).toEqual(want);
    }
  });
});
