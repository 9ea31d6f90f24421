// Keywords rewritten into others (src/sampling/json_schema_not.ts): not, if/then/else,
// dependencies, and oneOf options that may overlap. Each case: the grammar and the validator
// both accept the valid instances and both refuse the invalid ones.
import { describe, expect, it } from 'vitest';
import { JsonGrammar } from '../../src/sampling/json_grammar';
import { compileJsonSchema, SchemaError, validateJson } from '../../src/sampling/json_schema';
import { complementRegex, literalsSource } from '../../src/sampling/regex';
import { implies } from '../../src/sampling/json_schema_disjoint';

const utf8 = new TextEncoder();

function agree(schema: unknown, value: unknown, want: boolean): void {
  for (const unlisted of ['open', 'closed'] as const) {
    const node = compileJsonSchema(schema, 'schema', { unlisted });
    const g = JsonGrammar.schema(node);
    const text = JSON.stringify(value);
    const s = g.feedBytes(g.initial(), utf8.encode(text));
    // 'closed' generates only declared keys: it may refuse what 'open' accepts, never the reverse.
    if (unlisted === 'open' || !want) expect(s !== null && g.canEnd(s), `grammar (${unlisted}) ${text}`).toBe(want);
    if (unlisted === 'open') expect(validateJson(value, node) === null, `validator ${text}`).toBe(want);
  }
}

type Case = [string, unknown, unknown[], unknown[]];
const run = (cases: Case[]) => it.each(cases)('%s', (_name, schema, valid, invalid) => {
  for (const v of valid) agree(schema, v, true);
  for (const v of invalid) agree(schema, v, false);
});

describe('not', () => {
  run([
    ['not enum of strings (inside a string property)', { type: 'object', properties: { league: { type: 'string', not: { enum: ['intramural', 'a"b'] } } } },
      [{ league: 'youth' }, { league: 'intramurals' }, { league: '' }, {}], [{ league: 'intramural' }, { league: 'a"b' }, { league: 1 }]],
    ['not enum of numbers, booleans and null', { not: { enum: [1, 2.5, true, null] } }, [0, 1.5, 2, 3, -1, false, 'x', [], {}], [1, 1.0, 2.5, true, null]],
    ['not const', { type: 'integer', not: { const: 0 } }, [1, -1], [0]],
    ['not type', { not: { type: ['string', 'null'] } }, [1, 2.5, true, {}, []], ['a', null]],
    ['not integer: other types, and numbers with a fraction', { not: { type: 'integer' } }, [1.5, -0.25, 'x', null, []], [1, 0, -7]],
    ['oneOf integer / number: the numbers with a fraction', { type: 'object', properties: { p: { oneOf: [{ type: 'number' }, { type: 'integer' }] } } }, [{ p: 1.5 }], [{ p: 2 }]],
    ['not const array / object: another length or keys, or an item or value that differs', { not: { enum: [[1, 'a'], { k: [2] }] } },
      [[1], [1, 'b'], [2, 'a'], [1, 'a', 3], {}, { k: [3] }, { j: [2] }, { k: [2], j: 1 }, 'x'], [[1, 'a'], { k: [2] }]],
    ['not oneOf: none of the options, or two at once', { not: { oneOf: [{ type: 'string' }, { maxLength: 2 }] } }, ['a', 'ab'], ['abc', 1, null]],
    ['not not', { not: { not: { type: 'string', maxLength: 2 } } }, ['ab'], ['abc', 1]],
    ['not pattern', { type: 'string', not: { pattern: '^a' } }, ['ba', '', 'Ab'], ['a', 'abc']],
    ['not format', { not: { format: 'ipv4' } }, ['1.2.3', 'x'], ['10.0.0.1', 7]],
    ['not minLength / maxLength', { not: { minLength: 2, maxLength: 3 } }, ['a', 'abcd'], ['ab', 'abc', 5]],
    ['not minimum / exclusiveMaximum', { type: 'number', not: { minimum: 2, exclusiveMaximum: 5 } }, [1.5, 5, 6], [2, 4.9]],
    ['not draft-4 exclusiveMinimum', { type: 'number', not: { minimum: 2, exclusiveMinimum: true } }, [2, 1], [2.1]],
    ['not minItems / maxProperties', { anyOf: [{ type: 'array', not: { minItems: 2 } }, { type: 'object', not: { maxProperties: 1 } }] },
      [[], [1], { a: 1, b: 2 }], [[1, 2], {}, { a: 1 }]],
    ['not required (several keys: some missing)', { type: 'object', not: { required: ['a', 'b'] } }, [{}, { a: 1 }, { b: 1 }], [{ a: 1, b: 2 }, { b: 1, a: 2, c: 3 }]],
    ['not properties (a present key whose value fails)', { type: 'object', not: { properties: { a: { type: 'string' } } } }, [{ a: 1 }, { a: null, b: 's' }], [{}, { a: 's' }, { b: 1 }]],
    ['not tuple items', { type: 'array', not: { prefixItems: [{ type: 'string' }], items: false } }, [[1], ['x', 2]], [[], ['x']]],
    ['not allOf / anyOf', { not: { anyOf: [{ type: 'string' }, { allOf: [{ type: 'number' }, { minimum: 3 }] }] } }, [1, 2.5, null], ['s', 3, 10.5]],
    ['not $ref', { $defs: { s: { type: 'string' } }, type: ['string', 'integer'], not: { $ref: '#/$defs/s' } }, [1], ['x', true]],
    ['not {} / not true accept nothing (a forbidden property)', { type: 'object', properties: { a: { not: {} }, b: { not: true } } }, [{}, { c: 1 }], [{ a: 1 }, { b: null }]],
    ['not false accepts anything', { not: false }, [1, 'x', null, {}], []],
    ['nots of allOf parts: neither', { allOf: [{ not: { const: 'a' } }, { not: { const: 'b' } }], type: 'string' }, ['c'], ['a', 'b']],
  ]);

  it('names the keyword and path of a "not" with no exact rewrite', () => {
    const cases: [unknown, RegExp][] = [
      [{ not: { multipleOf: 3 } }, /^schema\.not\.multipleOf: "not" of "multipleOf" is not supported/],
      [{ not: { items: { type: 'string' } } }, /^schema\.not\.items: "not" of "items" as one schema/],
      [{ not: { patternProperties: { '^x': false } } }, /^schema\.not\.patternProperties:/],
      [{ not: { enum: [{ a: 1 }, { b: 1 }] } }, /^schema\.not\.enum: "not" of several array or object values/],
      [{ not: { propertyNames: { maxLength: 2 } } }, /^schema\.not\.propertyNames:/],
    ];
    for (const [schema, re] of cases) {
      expect(() => compileJsonSchema(schema)).toThrow(SchemaError);
      expect(() => compileJsonSchema(schema)).toThrow(re);
    }
  });

  it('complements a pattern: dead once the pattern surely matches, free once it cannot match', () => {
    const c = complementRegex('ab');
    const read = (t: string) => [...t].reduce((s, ch) => c.step(s, ch.codePointAt(0)!), c.start);
    expect(read('xxa')).toBeGreaterThan(0);
    expect(c.accepts(read('xxa'))).toBe(true);
    expect(read('xxab')).toBe(-1); // matched: nothing after it can undo that
    const lit = complementRegex(literalsSource(['ab', '']));
    const s = [...'b'].reduce((st, ch) => lit.step(st, ch.codePointAt(0)!), lit.start);
    expect(lit.immortal(s)).toBe(true); // "b..." can never be "ab" or ""
    expect([lit.test(''), lit.test('ab'), lit.test('abc'), lit.test('a')]).toEqual([false, false, true, true]);
  });
});

describe('if / then / else', () => {
  run([
    ['if then else', { if: { properties: { a: { const: 1 } } }, then: { required: ['b'] }, else: { required: ['c'] } },
      [{ a: 1, b: 1 }, { a: 2, c: 1 }, { b: 1 }, 'x'], [{ a: 1, c: 1 }, { a: 2, b: 1 }, { c: 1 }]],
    ['if then (no else)', { type: 'string', if: { maxLength: 2 }, then: { pattern: '^x' } }, ['xy', 'abc', 'x'], ['ab', '']],
    ['if else (no then)', { type: 'integer', if: { minimum: 10 }, else: { maximum: 0 } }, [11, 10, 0, -1], [3, 9]],
    ['then without if means nothing', { type: 'integer', then: { minimum: 10 } }, [1], ['x']],
    ['two ifs in allOf', { allOf: [{ if: { const: 1 }, then: false }, { if: { const: 2 }, then: false }] }, [3, 'x'], [1, 2]],
  ]);

  it('are annotations before draft 7', () => {
    const schema = { $schema: 'http://json-schema.org/draft-04/schema#', type: 'integer', if: { minimum: 10 }, then: false };
    agree(schema, 11, true);
  });
});

describe('dependencies', () => {
  run([
    ['dependentRequired', { type: 'object', dependentRequired: { a: ['b', 'c'] } }, [{}, { b: 1 }, { a: 1, b: 2, c: 3 }], [{ a: 1 }, { a: 1, b: 2 }]],
    ['dependentSchemas', { type: 'object', dependentSchemas: { a: { properties: { b: { type: 'string' } }, required: ['b'] } } },
      [{}, { b: 1 }, { a: 1, b: 'x' }], [{ a: 1 }, { a: 1, b: 2 }]],
    ['draft-4 dependencies, both forms', { dependencies: { a: ['b'], c: { maxProperties: 1 } } },
      [{}, { a: 1, b: 1 }, { c: 1 }, 'text', [1]], [{ a: 1 }, { c: 1, d: 2 }]],
    ['dependencies only constrain objects', { type: ['object', 'string'], dependentRequired: { a: ['b'] } }, ['x', { b: 1 }], [{ a: 1 }, 1]],
  ]);
});

describe('oneOf: exactly one option', () => {
  run([
    ['options that overlap: a value matching both is refused', { oneOf: [{ type: 'string' }, { type: 'string', maxLength: 2 }] }, ['abc'], ['a', '', 1]],
    ['ranges that overlap', { oneOf: [{ type: 'number', maximum: 5 }, { type: 'number', minimum: 2 }] }, [1, 6, 1.5], [2, 3.5, 5, 'x']],
    ['objects without a discriminator', { oneOf: [{ type: 'object', required: ['a'] }, { type: 'object', required: ['b'] }] }, [{ a: 1 }, { b: 1, c: 1 }], [{ a: 1, b: 2 }, {}]],
    ['patterns that can both match', { oneOf: [{ type: 'string', pattern: '^a' }, { type: 'string', pattern: 'b$' }] }, ['ax', 'xb'], ['ab', 'x']],
    ['with siblings', { type: 'object', required: ['k'], oneOf: [{ properties: { k: { type: 'string' } } }, { properties: { k: { maxLength: 1 } } }] },
      [{ k: 'ab' }, { k: 1 }], [{ k: 'a' }, {}]],
    ['an option that takes anything leaves nothing to the others', { type: 'object', properties: { p: { oneOf: [{}, { type: 'string' }, { type: 'array', maxItems: 3 }] } } },
      [{ p: 1 }, { p: null }, { p: [1, 2, 3, 4] }], [{ p: 'x' }, { p: [] }]],
    ['arrays told apart by their first item', { oneOf: [{ type: 'array', minItems: 1, items: { type: 'string' } }, { type: 'array', minItems: 1, items: { type: 'integer' } }] },
      [['a'], [1, 2]], [[], ['a', 1]]],
    ['number ranges that do not meet', { oneOf: [{ type: 'number', exclusiveMaximum: 0 }, { type: 'integer', minimum: 0 }] }, [-0.5, 0, 3], [0.5]],
    ['closed objects: a key the other does not declare tells them apart', { oneOf: [
      { type: 'object', properties: { d: { const: 'first' }, first: { type: 'boolean' } }, additionalProperties: false },
      { type: 'object', properties: { d: { const: 'second' }, second: { type: 'boolean' } }, additionalProperties: false }] },
    [{ d: 'first' }, { first: true }, { second: false, d: 'second' }], [{}, { d: 'first', second: true }, { third: 1 }]],
    ['arrays of items that exclude each other: only [] is both', { oneOf: [{ type: 'array', items: { type: 'string' } }, { type: 'array', items: { type: 'integer' } }, { type: 'null' }] },
      [['a'], [1, 2], null], [[], ['a', 1], 'x']],
    ['closed objects: a property the other cannot have needs no negation', { type: 'object', oneOf: [
      { additionalProperties: false, properties: { key: { type: 'string' } } },
      { additionalProperties: false, properties: { keys: { type: 'array', items: { type: 'string' } } } }] },
    [{ key: 'a' }, { keys: ['a'] }], [{}, { key: 'a', keys: [] }, { key: 1 }]],
    ['identical options accept nothing', { type: 'object', properties: { p: { oneOf: [{ const: 1 }, { enum: [1, 2] }] } } }, [{ p: 2 }, {}], [{ p: 1 }]],
  ]);
});

describe('const and enum numbers', () => {
  it('a number equals its other spellings (0.0 is 0), inside objects too', () => {
    for (const [schema, text, want] of [
      [{ const: { a: 0 } }, '{"a":0.0}', true], [{ enum: [1, 'x'] }, '1.0', true], [{ enum: [1, 'x'] }, '1.5', false],
      [{ const: { a: 0 } }, '{"a":false}', false], [{ const: 2.5 }, '2.50', true],
    ] as const) {
      const g = JsonGrammar.schema(compileJsonSchema(schema, 'schema', { unlisted: 'open' }));
      const st = g.feedBytes(g.initial(), utf8.encode(text));
      expect(st !== null && g.canEnd(st), `${JSON.stringify(schema)} ${text}`).toBe(want);
    }
  });
});

describe('merges that no value satisfies accept nothing (not a compile error)', () => {
  run([
    ['types with nothing in common', { anyOf: [{ allOf: [{ type: 'string' }, { type: 'integer' }] }, { type: 'null' }] }, [null], ['x', 1]],
    ['two consts', { type: 'object', properties: { a: { allOf: [{ const: 1 }, { const: 2 }] } } }, [{}], [{ a: 1 }, { a: 2 }]],
    ['enums with no common value', { anyOf: [{ allOf: [{ enum: [1, 2] }, { enum: [3] }] }, { type: 'string' }] }, ['s'], [1, 3]],
    ['a required key another part forbids', { anyOf: [{ allOf: [{ required: ['a'] }, { properties: { b: {} }, additionalProperties: false }], type: 'object' }, { type: 'string' }] },
      ['s'], [{ a: 1 }, { b: 1 }]],
    ['additionalProperties: false with patternProperties in one part, properties in another', { allOf: [
      { type: 'object', patternProperties: { '^x_': { type: 'integer' } }, additionalProperties: false }, { properties: { x_a: { minimum: 2 }, b: {} } }] },
      [{ x_a: 2 }, { x_z: 0 }, {}], [{ x_a: 1 }, { b: 1 }, { x_a: 'no' }, { c: 1 }]],
    ['two patterns: both must match', { allOf: [{ type: 'string', pattern: '^a' }, { pattern: 'z$' }] }, ['abz', 'az'], ['ab', 'bz']],
  ]);
});

describe('propertyNames', () => {
  run([
    ['a pattern, with additionalProperties as a schema', { type: 'object', propertyNames: { pattern: '^[a-z]+$' }, additionalProperties: { type: 'integer' } },
      [{}, { ab: 1, c: 2 }], [{ Ab: 1 }, { ab: 'x' }, { '': 1 }]],
    ['declared keys that fail it are forbidden', { type: 'object', properties: { ok: { type: 'string' }, long: {} }, propertyNames: { maxLength: 3 } },
      [{ ok: 'x' }, { abc: 1 }], [{ long: 1 }, { abcd: 1 }]],
    ['an enum of names ($ref)', { $defs: { n: { enum: ['x', 'y'] } }, type: 'object', propertyNames: { $ref: '#/$defs/n' } }, [{ x: 1, y: 2 }, {}], [{ z: 1 }]],
    ['anyOf of names', { type: 'object', propertyNames: { anyOf: [{ const: 'a' }, { pattern: '^n_' }] } }, [{ a: 1, n_1: 2 }], [{ b: 1 }]],
    ['type string: any name', { type: 'object', propertyNames: { type: 'string' } }, [{ any: 1 }], []],
    ['false: no key', { type: 'object', propertyNames: false }, [{}], [{ a: 1 }]],
  ]);

  it('names what it cannot enforce', () => {
    expect(() => compileJsonSchema({ propertyNames: { pattern: '^a', maxLength: 3 } })).toThrow(/^schema\.propertyNames: propertyNames with more than one/);
    expect(() => compileJsonSchema({ propertyNames: { not: { const: 'a' } } })).toThrow(/^schema\.propertyNames\.not: keyword "not" in propertyNames is not supported/);
    expect(() => compileJsonSchema({ propertyNames: { pattern: '^a' }, patternProperties: { x: {} } })).toThrow(/^schema\.propertyNames: is not supported next to patternProperties/);
    // A pattern regex.ts cannot compile (MaskBench JsonSchemaStore---gradle-enterprise-config-schema-7): a SchemaError, not a RegexError.
    expect(() => compileJsonSchema({ propertyNames: { pattern: '^(?=[^=]+$).+$' } })).toThrow(/^schema\.propertyNames: pattern "\^\(\?=.*lookaround/);
    expect(() => compileJsonSchema({ allOf: [{ patternProperties: { '^(?=a)': {} }, additionalProperties: false }, { properties: { b: {} } }] })).toThrow(SchemaError);
  });
});

describe('patternProperties', () => {
  run([
    ['a key several patterns match takes all their schemas', { type: 'object', patternProperties: { '.*': { type: 'object', required: ['on'] }, '^gh': { properties: { on: { type: 'boolean' } } } }, additionalProperties: false },
      [{ x: { on: 1 } }, { gh: { on: true } }, {}], [{ gh: { on: 1 } }, { x: {} }, { gh: {} }]],
    ['a key one of them forbids is refused', { type: 'object', patternProperties: { '.*': { type: 'string' }, '^(links)$': { not: {} } } }, [{ a: 'x' }], [{ links: 'x' }]],
  ]);
});

describe('readings followed at once', () => {
  it('follows 120 options that share a prefix (an overlapping oneOf compiles to many)', () => {
    const schema = { anyOf: Array.from({ length: 120 }, (_, i) => ({ type: 'object', properties: { k: { const: i }, [`x${i}`]: { type: 'string' } }, required: ['k'] })) };
    const g = JsonGrammar.schema(compileJsonSchema(schema, 'schema', { unlisted: 'open' }));
    for (const text of ['{"k":119}', '{"x100":"a","k":100}', '{"k":0}']) {
      const s = g.feedBytes(g.initial(), utf8.encode(text));
      expect(s !== null && g.canEnd(s), text).toBe(true);
    }
  });
});

describe('oneOf options without "type" (a validator reads them as any value of another type)', () => {
  // Reference: a value is valid when exactly one option, compiled alone, accepts it.
  const keys = ['value', 'currency_symbol', 'string', 'x', 'firstName', 'vehicle', 'tags', 'kind'];
  const leaves: unknown[] = ['s', 1, 1.5, null, true, [], ['a'], [1], ['a', 2], {}];
  const pairLeaves: unknown[] = ['s', 1, 1.5, null, ['a'], [null], ['ab']];
  const values: unknown[] = [...leaves, ['a', 'b'], [1, 2], [null]];
  for (const [i, k] of keys.entries()) {
    for (const v of leaves) values.push({ [k]: v });
    for (const k2 of keys.slice(i + 1)) for (const v of pairLeaves) for (const w of pairLeaves) values.push({ [k]: v, [k2]: w });
  }
  it.each([
    ['closed objects (MaskBench Github_hard---o23555)', [
      { properties: { value: { type: 'string' }, currency_symbol: { type: 'string' } }, additionalProperties: false },
      { properties: { string: { type: 'string' } }, additionalProperties: false }]],
    ['closed objects next to strings', [
      { type: ['object', 'string'], properties: { value: {} }, additionalProperties: false },
      { properties: { x: {}, value: { type: 'integer' } }, additionalProperties: false }]],
    ['an open object with a required key the closed one does not declare (MaskBench Github_trivial---o58627)', [
      { properties: { firstName: { type: 'string' }, x: { type: 'string' } }, required: ['firstName'] },
      { properties: { vehicle: { type: 'string' }, x: { type: 'integer' } }, additionalProperties: false }]],
    ['a property whose array items exclude the other option\'s', [
      { properties: { kind: { enum: [1, 's'] }, tags: { type: 'array', items: { type: 'string' } } }, additionalProperties: false },
      { properties: { kind: { enum: [1, null] }, tags: { type: 'array', items: { type: 'integer' } } }, additionalProperties: false }]],
    ['a property whose array items are the other option\'s (one definition), told apart by another', [
      { properties: { tags: { type: 'array', items: { $ref: '#/$defs/t' } }, kind: { type: 'string' } }, additionalProperties: false },
      { properties: { tags: { type: 'array', items: { $ref: '#/$defs/t' } }, kind: { type: 'integer' } }, additionalProperties: false }]],
    ['arrays of items that exclude each other', [{ items: { type: 'string' } }, { items: { type: 'integer' } }, { type: 'null' }]],
    ['arrays next to other types', [{ type: ['array', 'null'], items: { type: 'string' } }, { items: { type: 'number' } }]],
  ] as [string, unknown[]][])('%s: accepts exactly the values one option accepts', (_name, options) => {
    const defs = { t: { type: ['string', 'null'], maxLength: 1 } };
    const node = compileJsonSchema({ $defs: defs, oneOf: options }, 'schema', { unlisted: 'open' });
    const alone = options.map((o) => compileJsonSchema({ $defs: defs, allOf: [o] }, 'schema', { unlisted: 'open' }));
    const g = JsonGrammar.schema(node);
    let accepted = 0;
    for (const v of values) {
      const want = alone.filter((n) => validateJson(v, n) === null).length === 1;
      const s = g.feedBytes(g.initial(), utf8.encode(JSON.stringify(v)));
      expect(s !== null && g.canEnd(s), `grammar ${JSON.stringify(v)}`).toBe(want);
      expect(validateJson(v, node) === null, `validator ${JSON.stringify(v)}`).toBe(want);
      if (want) accepted++;
    }
    expect(accepted).toBeGreaterThan(1); // the options do accept something alone
  });
});

describe('listed values (enum / const among allOf parts) next to a negation with no compiled form: each value checked', () => {
  run([
    ['not multipleOf (MaskBench Synthesized ..._multipleOf_id2_..._not_2)', { allOf: [{ enum: [6, 7, 8, 9, 'x'] }, { not: { multipleOf: 2 } }] }, [7, 9], [6, 8, 10, 7.5, 'x']], // 'x' satisfies multipleOf (a number keyword)
    ['not patternProperties (MaskBench Synthesized ..._patternProperties_id3_..._not_2)', {
      allOf: [{ enum: [{ foo: 'bar', fooooo: 2 }, { fooooo: 2 }, { f1o: 1, x: 'y' }] }, { not: { patternProperties: { 'f.*o': { type: 'integer' } } } }] },
    [{ foo: 'bar', fooooo: 2 }, { fooooo: 2, foo: 'bar' }], [{ fooooo: 2 }, { f1o: 1, x: 'y' }, { foo: 'bar' }]],
    ['enum and not at one level, the negation an anyOf', { enum: [1, 2, 3, 4, 5, 6], not: { anyOf: [{ multipleOf: 2 }, { multipleOf: 3 }] } }, [1, 5], [2, 3, 4, 6, 7]],
    ['a $ref to the values, and oneOf / if-then-else read on each value', {
      $defs: { v: { enum: [1, 2, 3, 4, 5, 6, 'a'] } },
      allOf: [{ $ref: '#/$defs/v' }, { not: { oneOf: [{ multipleOf: 2 }, { multipleOf: 3 }] } }, { if: { type: 'string' }, then: { minLength: 2 }, else: true }] },
    [1, 5, 6], [2, 3, 4, 'a']],
  ]);

  it('a value that cannot be checked keeps the first problem', () => {
    expect(() => compileJsonSchema({ allOf: [{ enum: [1.5] }, { not: { multipleOf: 0.5 } }] })).toThrow(/^schema\.allOf\[1\]\.not\.multipleOf: "not" of "multipleOf" is not supported/);
    expect(() => compileJsonSchema({ $defs: { r: { allOf: [{ $ref: '#/$defs/r' }, { not: { multipleOf: 2 } }] } }, allOf: [{ enum: [1] }, { $ref: '#/$defs/r' }] })).toThrow(SchemaError);
  });
});

describe('implies (every value of one compiled schema satisfies another): never claimed wrongly', () => {
  const schemas: unknown[] = [
    { type: 'string' }, { type: 'string', maxLength: 1 }, { type: 'integer' }, { type: 'number' }, { type: 'number', minimum: 2 },
    { enum: [1, 2] }, { enum: [1, 'a'] }, { const: 2.5 }, { type: 'boolean' }, { type: 'null' }, { type: ['integer', 'string'] }, {},
  ];
  const values: unknown[] = ['', 'a', 'ab', 0, 1, 2, 2.5, -3, true, false, null, [], {}];
  it('over every pair of a list of schemas and values', () => {
    let proved = 0;
    for (const unlisted of ['open', 'closed'] as const) {
      const nodes = schemas.map((x) => compileJsonSchema(x, 'schema', { unlisted }));
      for (const [i, a] of nodes.entries()) for (const [j, b] of nodes.entries()) {
        if (!implies(a, b)) continue;
        proved++;
        for (const v of values) if (validateJson(v, a) === null) expect(validateJson(v, b), `${JSON.stringify(schemas[i])} => ${JSON.stringify(schemas[j])}: ${JSON.stringify(v)}`).toBeNull();
      }
    }
    expect(proved).toBeGreaterThan(40); // it does prove the easy cases (each schema itself, {}, enums, integer => number...)
  });
});
