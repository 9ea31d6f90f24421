import { describe, expect, it } from 'vitest';
import { JsonGrammar, TokenTable, allowedTokens, type GrammarState } from '../../src/sampling/json_grammar';
import { compileJsonSchema, SchemaError, validateJson, type SchemaNode } from '../../src/sampling/json_schema';
import { Rng } from '../../src/sampling/rng';
import { tinyTokenizer } from './helpers';

const utf8 = new TextEncoder();

function check(g: JsonGrammar, text: string): 'complete' | 'prefix' | 'reject' {
  const s = g.feedBytes(g.initial(), utf8.encode(text));
  return s === null ? 'reject' : g.canEnd(s) ? 'complete' : 'prefix';
}

const person = {
  type: 'object',
  properties: {
    name: { type: 'string' },
    age: { type: 'integer' },
    score: { type: 'number', nullable: true },
    color: { enum: ['red', 'green', 7, 75, null] },
    tags: { type: 'array', items: { type: 'string' } },
    ok: { type: 'boolean' },
  },
  required: ['name', 'age'],
  additionalProperties: false,
};

describe('JSON recognizer', () => {
  it.each([
    ['{}', 'complete'],
    [' { "a" : [ 1 , -2.5e+3 , 0 , true , false , null , "x\\n\\u00e9" ] }', 'complete'],
    ['{"a": {"b": [[], {}]}}', 'complete'],
    ['{"ü🙂": "中文"}', 'complete'],
    ['{', 'prefix'],
    ['{"a": 1.', 'prefix'],
    ['{"a": "\\u00', 'prefix'],
    ['[1]', 'reject'], // json_object: the top value is an object
    ['"x"', 'reject'],
    ['{"a": 01}', 'reject'],
    ['{"a": 1,}', 'reject'],
    ['{"a" 1}', 'reject'],
    ['{"a": tru}', 'reject'],
    ['{"a": "\\x"}', 'reject'],
    ['{"a": "line\nbreak"}', 'reject'], // control characters must be escaped
    ['{}{}', 'reject'],
    ['{} ', 'reject'], // nothing after the document: only a stop token
  ])('json_object %j -> %s', (text, want) => {
    expect(check(JsonGrammar.jsonObject({ whitespace: 'any' }), text)).toBe(want);
  });

  it.each([
    ['{"name": "Ann", "age": 31}', 'complete'],
    ['{"name":"Ann","age":31,"score":null,"color":75,"tags":["a","b"],"ok":true}', 'complete'],
    ['{"name":"Ann","age":31,"color":7}', 'complete'],
    ['{"name":"Ann","age":31,"tags":[]}', 'complete'],
    ['{"age": 31}', 'reject'], // required name missing (and order is the schema's)
    ['{"name": "Ann"}', 'reject'], // age is required
    ['{"name": "Ann", "age": 31.5}', 'reject'],
    ['{"name": "Ann", "age": 1e3}', 'reject'],
    ['{"name": "Ann", "age": 3, "color": "blue"}', 'reject'],
    ['{"name": "Ann", "age": 3, "extra": 1}', 'reject'],
    ['{"name": "Ann", "age": 3, "tags": [1]}', 'reject'],
    ['{"name": "Ann", "age": 3, "ok": null}', 'reject'],
  ])('schema %j -> %s', (text, want) => {
    expect(check(JsonGrammar.schema(compileJsonSchema(person), { whitespace: 'any' }), text)).toBe(want);
  });

  it('ends a root number only where a number can end', () => {
    const g = JsonGrammar.schema(compileJsonSchema({ type: 'integer' }));
    expect(check(g, '-')).toBe('prefix');
    expect(check(g, '-12')).toBe('complete');
    expect(check(g, '1.5')).toBe('reject');
  });

  it('checks UTF-8 inside strings (byte-fallback tokens build characters)', () => {
    const g = JsonGrammar.jsonObject();
    const open = g.feedBytes(g.initial(), utf8.encode('{"a":"'))!;
    expect(g.feedBytes(open, [0xe4, 0xb8, 0xad, 0x22])).not.toBeNull(); // 中"
    expect(g.feedBytes(open, [0xe4, 0x22])).toBeNull(); // a quote inside a character
    expect(g.feedBytes(open, [0xc0, 0x80])).toBeNull(); // overlong
    expect(g.feedBytes(open, [0xed, 0xa0, 0x80])).toBeNull(); // surrogate
    expect(g.feedBytes(open, [0x80])).toBeNull(); // stray continuation
  });

  it('limits whitespace runs and nesting', () => {
    const g = JsonGrammar.jsonObject({ whitespace: 'any', maxWhitespace: 3, maxDepth: 3 });
    expect(check(g, '{   }')).toBe('complete');
    expect(check(g, '{    }')).toBe('reject');
    expect(check(g, '{"a": [[1]]}')).toBe('complete');
    expect(check(g, '{"a": [[[1]]]}')).toBe('reject');
  });

  it('follows a literal choice into the chosen continuation', () => {
    const g = new JsonGrammar([
      {
        choice: [
          { literal: '<c>{"name": "f", "arguments": ', then: [{ json: compileJsonSchema({ type: 'object' }) }, { literal: '}</c>' }] },
          { literal: '<c>{"name": "g", "arguments": ', then: [{ json: compileJsonSchema({ type: 'object', properties: { x: { type: 'number' } }, required: ['x'] }) }, { literal: '}</c>' }] },
        ],
      },
    ], { whitespace: 'pretty' });
    expect(check(g, '<c>{"name": "f", "arguments": {"q": [1]}}</c>')).toBe('complete');
    expect(check(g, '<c>{"name": "g", "arguments": {"x": 2}}</c>')).toBe('complete');
    expect(check(g, '<c>{"name": "g", "arguments": {"q": 2}}</c>')).toBe('reject');
    expect(check(g, '<c>{"name": "h"')).toBe('reject');
    expect(check(g, '<c>{"name": "g", "arguments": {"x": 2}}')).toBe('prefix');
  });
});

describe('JSON schema compiler', () => {
  it.each([
    [{ type: 'string', not: { const: 'a' } }, null],
    [{ type: 'string', not: { multipleOf: 2 } }, /schema.not.multipleOf: "not" of "multipleOf" is not supported/],
    [{ type: 'object', properties: { a: { pattern: '(?=x)' } } }, /schema.properties.a.pattern: pattern "\(\?=x\)": lookaround/],
    [{ type: ['string', 'integer', 'number', 'object', 'object'] }, null],
    [{ enum: [] }, /non-empty list/],
    [{ type: 'string', enum: ['a', 1] }, null], // 1 is not a string: dropped
    [{ type: 'string', enum: [1] }, /schema: accepts nothing/],
    [{ type: 'array', uniqueItems: true }, /schema.uniqueItems: keyword "uniqueItems"/],
    [{ type: 'string', format: 'idn-email' }, /schema.format: format "idn-email" is not supported/],
    [{ $ref: 'other.json#/a' }, /schema.\$ref: only local references/],
    [{ allOf: [{ pattern: 'a' }, { pattern: 'b' }] }, null],
    [{ type: 'integer', minimum: 5, maximum: 4 }, /^schema: accepts nothing/],
    [{ type: 'string', properties: {} }, null], // object keywords do not apply to strings
    [{ anyOf: [{ type: 'integer' }, { enum: [1] }] }, null],
  ])('%j', (schema, error) => {
    if (error === null) expect(() => compileJsonSchema(schema)).not.toThrow();
    else expect(() => compileJsonSchema(schema)).toThrow(error);
    if (error) expect(() => compileJsonSchema(schema)).toThrow(SchemaError);
  });

  it('validates values like the grammar', () => {
    const node = compileJsonSchema(person);
    expect(validateJson({ name: 'a', age: 1, color: null }, node)).toBeNull();
    expect(validateJson({ name: 'a' }, node)).toMatch(/missing required property "age"/);
    expect(validateJson({ name: 'a', age: 1, tags: [2] }, node)).toMatch(/\$.tags\[0\]: expected string/);
  });
});

describe('allowedTokens over the tiny vocabulary', () => {
  const tok = tinyTokenizer();
  const table = TokenTable.of(tok);
  const stops = tok.stopTokenIds;

  /** Every id whose bytes the recognizer accepts from `state`, one by one. */
  function bruteForce(state: GrammarState): number[] {
    const out: number[] = [];
    table.bytes.forEach((b, id) => {
      if (b && state.grammar.feedBytes(state, b)) out.push(id);
    });
    if (state.grammar.canEnd(state)) out.push(...stops);
    return out.sort((a, b) => a - b);
  }

  /** Random documents: pick allowed tokens, leaning towards closing ones, until a stop. */
  function randomDocs(g: JsonGrammar, seed: number, count: number, visit: (s: GrammarState) => void): number[][] {
    const r = new Rng(seed);
    const docs: number[][] = [];
    for (let d = 0; d < count; d++) {
      let s = g.initial();
      const ids: number[] = [];
      for (let step = 0; step < 400; step++) {
        visit(s);
        const allowed = [...allowedTokens(s, tok)].sort((a, b) => a - b); // a set: the walk must not hang on its order
        expect(allowed.length).toBeGreaterThan(0);
        const stop = allowed.find((id) => stops.includes(id));
        if (stop !== undefined) break;
        const closing = allowed.filter((id) => /["}\]\d]|true|null/.test(tok.decode([id])));
        const pool = closing.length && r.uniform() < 0.6 ? closing : allowed;
        const id = pool[r.nextU32() % pool.length]!;
        ids.push(id);
        s = table.advance(s, id)!;
        expect(s).not.toBeNull();
      }
      docs.push(ids);
    }
    return docs;
  }

  it('equals the brute-force set in every state a random walk reaches', () => {
    const g = JsonGrammar.schema(compileJsonSchema(person));
    let states = 0;
    randomDocs(g, 11, 6, (s) => {
      if (states++ % 3 === 0) expect([...table.allowedTokens(s, stops)].sort((a, b) => a - b)).toEqual(bruteForce(s));
    });
    expect(states).toBeGreaterThan(30);
  });

  it('equals the brute-force set in every state of unique arrays (an item equal to an earlier one is refused)', () => {
    const g = JsonGrammar.schema(compileJsonSchema({ type: 'object', properties: {
      tags: { type: 'array', uniqueItems: true, items: { type: 'string' } },
      short: { type: 'array', uniqueItems: true, items: { type: 'string', pattern: '^[^x]*$' } },
      ids: { type: 'array', uniqueItems: true, items: { enum: ['a', 'ab', 1, 12, true, null] } },
    }, required: ['tags', 'short', 'ids'] }));
    let states = 0;
    const docs = randomDocs(g, 3, 12, (s) => {
      if (states++ % 2 === 0) expect([...table.allowedTokens(s, stops)].sort((a, b) => a - b)).toEqual(bruteForce(s));
    });
    expect(states).toBeGreaterThan(60);
    for (const ids of docs) {
      const text = tok.decode(ids);
      const s = g.feedBytes(g.initial(), utf8.encode(text));
      if (!s || !g.canEnd(s)) continue;
      const v = JSON.parse(text) as { tags: string[]; short: string[]; ids: unknown[] };
      expect(new Set(v.tags).size, text).toBe(v.tags.length);
      expect(new Set(v.short).size, text).toBe(v.short.length);
      expect(new Set(v.ids.map((x) => JSON.stringify(x))).size, text).toBe(v.ids.length);
    }
  });

  it.each([
    ['json_object', { type: 'object' }],
    ['person schema', person],
    ['array of enums', { type: 'array', items: { enum: ['中文', 'a"b', 12] } }],
  ])('random %s documents decode (tokenizer.decode) to JSON that validates', (_name, schema) => {
    const node: SchemaNode = compileJsonSchema(schema);
    const g = JsonGrammar.schema(node);
    const docs = randomDocs(g, 5, 25, () => {});
    let complete = 0;
    for (const ids of docs) {
      const text = tok.decode(ids);
      const state = g.feedBytes(g.initial(), utf8.encode(text));
      expect(state, text).not.toBeNull();
      if (!g.canEnd(state!)) continue;
      // JSON allows numbers past the double range (1e400); JSON.parse turns them into Infinity,
      // which the validator cannot judge: such documents are not checked here.
      let huge = false;
      const value = JSON.parse(text, (_k, v: unknown) => {
        if (typeof v === 'number' && !Number.isFinite(v)) huge = true;
        return v;
      });
      if (huge) continue;
      complete++;
      expect(validateJson(value, node), text).toBeNull();
    }
    expect(complete).toBeGreaterThan(15);
  });
});
