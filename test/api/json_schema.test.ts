import { describe, expect, it } from 'vitest';
import { JsonGrammar } from '../../src/sampling/json_grammar';
import { compileJsonSchema, MAX_SCHEMA_DEPTH, SchemaError, validateJson } from '../../src/sampling/json_schema';
import { compileRegex, RegexError } from '../../src/sampling/regex';
import { FORMATS } from '../../src/sampling/json_formats';

const utf8 = new TextEncoder();

/** 'complete' | 'prefix' | 'reject' of a text against a schema, compact whitespace. */
function check(schema: unknown, text: string, ws: 'compact' | 'pretty' | 'any' = 'compact'): string {
  const g = JsonGrammar.schema(compileJsonSchema(schema), { whitespace: ws });
  const s = g.feedBytes(g.initial(), utf8.encode(text));
  return s === null ? 'reject' : g.canEnd(s) ? 'complete' : 'prefix';
}

/** The grammar and the validator agree, and both give `want` (true: accepted). */
function agree(schema: unknown, value: unknown, want: boolean): void {
  const text = JSON.stringify(value);
  expect(check(schema, text) === 'complete', `grammar ${text}`).toBe(want);
  expect(validateJson(value, compileJsonSchema(schema)) === null, `validator ${text}`).toBe(want);
}

describe('JSON schema keywords', () => {
  const cases: [string, unknown, unknown[], unknown[]][] = [
    ['$ref / $defs, recursive', { $defs: { node: { type: 'object', properties: { v: { type: 'integer' }, kids: { type: 'array', items: { $ref: '#/$defs/node' } } }, required: ['v'], additionalProperties: false } }, $ref: '#/$defs/node' },
      [{ v: 1 }, { v: 1, kids: [{ v: 2, kids: [{ v: 3 }] }] }], [{ v: 1, kids: [{}] }, { v: 1, kids: [{ v: 'x' }] }]],
    ['definitions (draft 7)', { definitions: { s: { type: 'string', maxLength: 2 } }, type: 'array', items: { $ref: '#/definitions/s' } }, [['ab', '']], [['abc'], [1]]],
    ['anyOf sharing a prefix', { anyOf: [{ type: 'object', properties: { a: { type: 'integer' } }, required: ['a'], additionalProperties: false }, { type: 'object', properties: { a: { type: 'string' } }, required: ['a'], additionalProperties: false }] },
      [{ a: 1 }, { a: 'x' }], [{ a: true }, {}]],
    ['const object: keys in any order, nothing more or less', { const: { a: [1, { b: null }], c: 'x' } }, [{ c: 'x', a: [1, { b: null }] }, { a: [1, { b: null }], c: 'x' }],
      [{ a: [1, { b: null }] }, { a: [1, { b: null }], c: 'x', d: 1 }, { a: [1], c: 'x' }, { a: [1, { b: null }, 2], c: 'x' }]],
    ['not with a type: the other types', { not: { type: ['string', 'null'] } }, [1, 2.5, true, {}, []], ['a', null]],
    ['not required: an object without that key', { type: 'object', properties: { a: { type: 'integer' }, b: { type: 'string' } }, not: { required: ['b'] } }, [{ a: 1 }, {}], [{ a: 1, b: 'x' }, { b: 'x' }]],
    ['oneOf of a string and an integer', { oneOf: [{ type: 'string', pattern: '^a+$' }, { type: 'integer' }] }, ['aaa', 3], ['ab', 1.5]],
    ['oneOf of objects told apart by a required const', { oneOf: [
      { type: 'object', properties: { kind: { const: 'a' }, x: { type: 'integer' } }, required: ['kind'] },
      { type: 'object', properties: { kind: { enum: ['b', 'c'] }, y: { type: 'string' } }, required: ['kind'] }] },
    [{ kind: 'a', x: 1 }, { kind: 'b', y: 'z' }, { kind: 'c' }], [{ kind: 'd' }, { kind: 'a', x: 's' }, {}]],
    ['a declared property that accepts nothing is refused, not read as an extra key', { type: 'object', properties: { a: { enum: ['x'], type: 'integer' }, b: { type: 'string' } } },
      [{ b: 'y' }, {}], [{ a: 'x' }, { a: 1 }, { c: 1 }]],
    ['allOf merged (with additionalProperties: false in one part)', { allOf: [{ type: 'object', properties: { a: { type: 'integer' } }, required: ['a'] }, { properties: { a: { minimum: 2 }, b: { type: 'string' } }, additionalProperties: false }] },
      [{ a: 2 }, { a: 3, b: 'x' }], [{ a: 1 }, { b: 'x' }, { a: 2, c: 1 }]],
    ['const / enum', { type: 'object', properties: { k: { const: 'x' }, e: { enum: [1, 'two', null, [3]] } }, required: ['k'], additionalProperties: false }, [{ k: 'x', e: [3] }, { k: 'x', e: null }], [{ k: 'y' }, { k: 'x', e: 2 }]],
    ['type list', { type: ['string', 'null'] }, ['a', null], [1, {}]],
    ['additionalProperties as a schema', { type: 'object', properties: { a: { type: 'string' } }, additionalProperties: { type: 'integer' } }, [{ a: 'x', n: 1 }, { n: 2, a: 'y' }], [{ a: 1 }, { n: 'x' }]],
    ['patternProperties', { type: 'object', patternProperties: { '^x-': { type: 'boolean' } }, additionalProperties: false }, [{ 'x-a': true }, {}], [{ 'x-a': 1 }, { y: true }]],
    ['min/maxProperties', { type: 'object', minProperties: 1, maxProperties: 2 }, [{ a: 1 }, { a: 1, b: 2 }], [{}, { a: 1, b: 2, c: 3 }]],
    ['prefixItems / items / min/maxItems', { type: 'array', prefixItems: [{ type: 'string' }, { type: 'integer' }], items: { type: 'boolean' }, minItems: 1, maxItems: 3 },
      [['a'], ['a', 1, true]], [[], [1], ['a', 1, true, false], ['a', 1, 2]]],
    ['draft-4 tuple items / additionalItems false', { type: 'array', items: [{ type: 'integer' }], additionalItems: false }, [[1], []], [[1, 2]]],
    ['min/maxLength in characters', { type: 'string', minLength: 2, maxLength: 3 }, ['ab', '中文字', 'a\u00e9'], ['a', 'abcd']],
    ['pattern (unanchored search)', { type: 'string', pattern: '\\d{3}' }, ['ab123', '999'], ['ab12', '']],
    ['integer bounds', { type: 'integer', minimum: -5, exclusiveMaximum: 100 }, [-5, 0, 99], [-6, 100, 1000, 1.5]],
    ['number bounds', { type: 'number', exclusiveMinimum: 0, maximum: 1.5 }, [0.25, 1.5, 1], [0, -0.1, 1.51, 2]],
    ['draft-4 exclusiveMinimum', { type: 'number', minimum: 0, exclusiveMinimum: true }, [0.5], [0]],
    ['integer multipleOf', { type: 'integer', multipleOf: 5 }, [0, 15, -10], [7]],
    ['nullable', { type: 'string', nullable: true }, ['a', null], [1]],
    ['uniqueItems on strings (MaskBench JsonSchemaStore---grunt-task: src)', { type: 'array', minItems: 1, uniqueItems: true, items: { type: 'string' } },
      [['path/to/file1.txt', 'path/to/file2.txt'], ['a', 'ab', 'b'], ['x']], [['a', 'a'], ['a', 'b', 'a'], []]],
    ['uniqueItems on enums, booleans and null', { type: 'array', uniqueItems: true, items: { anyOf: [{ enum: ['x', 1, 7, true] }, { type: 'boolean' }, { type: 'null' }, { type: 'string', maxLength: 2 }] } },
      [['x', 1, 7, true, false, null], ['1', 1], [null, 'nu']], [[7, 7], [true, true], [null, null], ['x', 'x'], [1, 'x', 1]]],
  ];
  it.each(cases)('%s', (_name, schema, valid, invalid) => {
    for (const v of valid) agree(schema, v, true);
    for (const v of invalid) agree(schema, v, false);
  });

  it.each([
    ['date', ['2024-02-29', '2000-02-29', '2023-04-30', '2023-12-31'], ['2024-13-01', '2024-1-01', '2023-02-29', '1900-02-29', '2023-02-31', '2023-04-31']],
    ['time', ['23:59:60Z', '08:30:00.5+02:00'], ['24:00:00Z', '08:30:00']],
    ['date-time', ['2024-05-01T08:30:00Z', '2024-05-01t08:30:00.5+01:00'], ['2024-05-01 08:30', '2024-05-01 08:30:00Z']],
    ['uri-reference', ['Web', '//host/x', '/a:b', '?q=a:b', '#f', '', 'https://ex.com/a?b#c'], ['://', ':x', 'a b']],
    ['email', ['ann.lee+x@mail.example.org'], ['ann@', 'a b@c.de']],
    ['uuid', ['123e4567-e89b-12d3-a456-426614174000'], ['123e4567e89b12d3a456426614174000']],
    ['uri', ['https://example.com/a?b=c#d', 'urn:isbn:123'], ['example.com', 'http://a b']],
    ['ipv4', ['192.168.0.1'], ['256.1.1.1', '1.2.3']],
    ['ipv6', ['::1', '2001:db8::8a2e:370:7334', '::ffff:10.0.0.1'], ['2001:db8:::1', '1:2:3:4:5:6:7:8:9']],
    ['hostname', ['a-b.example.com'], ['-a.com', 'a..b']],
  ])('format %s', (format, good, bad) => {
    expect(FORMATS[format]).toBeDefined();
    for (const v of good) agree({ type: 'string', format }, v, true);
    for (const v of bad) agree({ type: 'string', format }, v, false);
  });

  it('uniqueItems compares decoded strings (an escape spells the same item) and names what it cannot compare', () => {
    const s = { type: 'array', uniqueItems: true, items: { type: 'string' } };
    expect(check(s, '["a","\\u0061"]')).toBe('reject');
    expect(check(s, '["\\n","\\u000a"]')).toBe('reject');
    expect(check(s, '["a","\\u0062"]')).toBe('complete');
    expect(check(s, '["\u00e9","\\u00e9"]')).toBe('reject');
    expect(() => compileJsonSchema({ type: 'array', uniqueItems: true, items: { type: 'integer' } })).toThrow(/^schema\.uniqueItems: keyword "uniqueItems" is not supported .* items of kind integer/);
    expect(() => compileJsonSchema({ type: 'array', uniqueItems: true })).toThrow(/items of kind any/);
    expect(() => compileJsonSchema({ properties: { a: { uniqueItems: true } } }, 'schema', { unlisted: 'open' })).toThrow(/uniqueItems/);
    expect(check({ type: 'array', uniqueItems: true, maxItems: 1 }, '[{}]')).toBe('complete'); // one item is always unique
  });

  it('reads escapes and UTF-8 as characters for length and pattern rules', () => {
    expect(check({ type: 'string', maxLength: 1, pattern: '^é$' }, '"\\u00e9"')).toBe('complete');
    expect(check({ type: 'string', maxLength: 1, pattern: '^é$' }, '"é"')).toBe('complete');
    expect(check({ type: 'string', maxLength: 1 }, '"\\n\\n"')).toBe('reject');
  });

  it('refuses bounded-number prefixes that can no longer fit', () => {
    expect(check({ type: 'integer', minimum: 10, maximum: 20 }, '2')).toBe('prefix'); // 20
    expect(check({ type: 'integer', minimum: 10, maximum: 20 }, '3')).toBe('reject');
    expect(check({ type: 'integer', minimum: 1 }, '-')).toBe('reject');
    expect(check({ type: 'integer', minimum: 0 }, '-0')).toBe('complete');
    expect(check({ type: 'number', maximum: 1 }, '0.')).toBe('prefix');
  });

  it.each([
    ['a step of 1 on numbers (MaskBench Github_ultra---o46322: 6000.0)', { type: 'number', minimum: 0, maximum: 99, multipleOf: 1 }],
    ['a step of 0.1', { type: 'number', maximum: 10, multipleOf: 0.1 }],
    ['bounds reached only with an exponent (MaskBench Github_hard---o57716: 1e-6)', { type: 'number', minimum: 0.01, maximum: 0.05 }],
    ['bounds past the digits written', { type: 'number', minimum: 50, exclusiveMaximum: 90 }],
    ['not an integer, bounded', { type: 'number', minimum: -5, maximum: 5, not: { type: 'integer' } }],
  ])('bounded numbers, %s: every number text up to 6 bytes is accepted as the validator judges it, and no prefix is a dead end', (_name, schema) => {
    const node = compileJsonSchema(schema);
    const g = JsonGrammar.schema(node);
    const plain = JsonGrammar.schema(compileJsonSchema({ type: 'number' }));
    const bytes = [...utf8.encode('-0159.eE+')];
    // Every JSON number text (the plain grammar's prefixes) up to 6 bytes.
    let texts = 0, accepted = 0;
    const walk = (text: string, p: ReturnType<typeof plain.initial>, s: ReturnType<typeof g.initial> | null): void => {
      if (text) {
        // The grammar refuses exponents past 999 (MAX_EXPONENT) and values a double cannot hold
        // (1e-500 is not 0 and not a multiple of 1).
        const x = Number(text);
        const held = Number.isFinite(x) && (x !== 0 || !/[1-9]/.test(text.split(/[eE]/)[0]!)) && !/[eE][+-]?0*[1-9]\d{3}/.test(text);
        const valid = plain.canEnd(p) && held && validateJson(x, node) === null;
        expect(s !== null && g.canEnd(s), text).toBe(valid);
        texts++;
        if (valid) accepted++;
      }
      if (text.length === 6) return;
      for (const b of bytes) {
        const p2 = plain.feed(p, b);
        if (p2) walk(text + String.fromCharCode(b), p2, s && g.feed(s, b));
      }
    };
    walk('', plain.initial(), g.initial());
    expect(texts).toBeGreaterThan(5000);
    expect(accepted).toBeGreaterThan(10);
    // Every prefix the grammar keeps (up to 4 bytes) ends somewhere within 4 more bytes (of enough
    // kinds to meet these bounds).
    const all = [...utf8.encode('0123456.e-')];
    const endsIn = (s: ReturnType<typeof g.initial>, left: number): boolean =>
      left === 0 ? g.canEnd(s) : all.some((b) => { const n = g.feed(s, b); return n !== null && endsIn(n, left - 1); });
    const ends = (s: ReturnType<typeof g.initial>) => [0, 1, 2, 3, 4].some((d) => endsIn(s, d)); // the shortest ending first
    const alive = (text: string, s: ReturnType<typeof g.initial>): void => {
      if (text) expect(ends(s), text).toBe(true);
      if (text.length === 4) return;
      for (const b of bytes) {
        const n = g.feed(s, b);
        if (n) alive(text + String.fromCharCode(b), n);
      }
    };
    alive('', g.initial());
  });

  it('reads a bounded number with an exponent as its value', () => {
    expect(check({ type: 'number', minimum: 0 }, '1e-6')).toBe('complete');
    expect(check({ type: 'number', minimum: 0 }, '-1e-6')).toBe('reject');
    expect(check({ type: 'number', maximum: 10 }, '60e-1')).toBe('complete');
    expect(check({ type: 'number', maximum: 10 }, '60e1')).toBe('reject');
    expect(check({ type: 'number', multipleOf: 0.01 }, '1.2345e1')).not.toBe('complete');
    expect(check({ type: 'number', multipleOf: 0.01 }, '1.2345e2')).toBe('complete');
    expect(check({ type: 'number', exclusiveMaximum: 0 }, '1e-400')).toBe('reject'); // a double rounds it to 0
    expect(check({ type: 'number', minimum: 0 }, '1e1000')).toBe('reject'); // exponents past 999 are refused
  });

  it('an undeclared key never stands in for a declared one', () => {
    const s = { type: 'object', properties: { a: { type: 'integer' } }, additionalProperties: true };
    expect(check(s, '{"a":"x"}')).toBe('reject');
    expect(check(s, '{"\\u0061":"x"}')).toBe('reject'); // "a" written with an escape
    expect(check(s, '{"b":"x","a":1}')).toBe('complete');
    // Without additionalProperties only declared keys are generated, unless unlisted: 'open'.
    const closed = { type: 'object', properties: { a: { type: 'integer' } } };
    expect(check(closed, '{"b":1}')).toBe('reject');
    const open = JsonGrammar.schema(compileJsonSchema(closed, 'schema', { unlisted: 'open' }));
    expect(open.canEnd(open.feedBytes(open.initial(), utf8.encode('{"b":1}'))!)).toBe(true);
  });

  it('names the keyword and path of what it cannot enforce, never ignoring it', () => {
    const cases: [unknown, RegExp][] = [
      [{ properties: { a: { contains: { type: 'string' } } } }, /^schema\.properties\.a\.contains: keyword "contains" is not supported/],
      [{ properties: { a: { not: { multipleOf: 3 } } } }, /^schema\.properties\.a\.not\.multipleOf: "not" of "multipleOf" is not supported/],
      [{ type: 'array', items: { uniqueItems: true } }, /^schema\.items\.uniqueItems:/],
      [{ type: 'string', pattern: '(a)\\1' }, /^schema\.pattern: .*backreferences/],
      [{ type: 'number', multipleOf: 0.5 }, /^schema\.multipleOf: is supported as an integer step on integers/],
      [{ $ref: '#/$defs/missing' }, /^schema\.\$ref: "#\/\$defs\/missing" points at nothing/],
      [{ allOf: [{ type: 'string' }, { type: 'integer' }] }, /^schema: accepts nothing/],
    ];
    for (const [schema, re] of cases) {
      expect(() => compileJsonSchema(schema)).toThrow(SchemaError);
      expect(() => compileJsonSchema(schema)).toThrow(re);
    }
  });

  it('an open object refuses a declared key whose schema accepts nothing (never reads it as an extra key)', () => {
    const node = compileJsonSchema({ type: 'object', properties: { a: { enum: ['x'], type: 'integer' } } }, 'schema', { unlisted: 'open' });
    const g = JsonGrammar.schema(node);
    expect(g.feedBytes(g.initial(), utf8.encode('{"a":"x"}'))).toBeNull();
    expect(validateJson({ a: 'x' }, node)).toMatch(/unexpected property "a"/);
    const ok = g.feedBytes(g.initial(), utf8.encode('{"b":"x"}'));
    expect(ok && g.canEnd(ok)).toBe(true);
  });

  it("'open' reads objects as a validator does: declared keys in any order, once each; keywords without a type constrain only their type", () => {
    const read = (schema: unknown, text: string) => {
      const g = JsonGrammar.schema(compileJsonSchema(schema, 'schema', { unlisted: 'open' }));
      const s = g.feedBytes(g.initial(), utf8.encode(text));
      return s !== null && g.canEnd(s);
    };
    const obj = { type: 'object', properties: { a: { type: 'integer' }, b: { type: 'string' }, c: { type: 'boolean' } }, required: ['a', 'c'] };
    expect(read(obj, '{"c":true,"b":"x","a":1}')).toBe(true);
    expect(read(obj, '{"b":"x","a":1}')).toBe(false); // c is required
    expect(read(obj, '{"a":1,"c":true,"a":2}')).toBe(false); // a twice
    expect(read(obj, '{"c":true,"a":1,"z":null}')).toBe(true);
    // The default ('closed') keeps schema order.
    const g = JsonGrammar.schema(compileJsonSchema(obj));
    expect(g.feedBytes(g.initial(), utf8.encode('{"c":true,"a":1}'))).toBeNull();
    expect(read({ minLength: 3 }, '5')).toBe(true);
    expect(read({ minLength: 3 }, '"abc"')).toBe(true);
    expect(read({ minLength: 3 }, '"ab"')).toBe(false);
    expect(validateJson(5, compileJsonSchema({ minLength: 3 }, 'schema', { unlisted: 'open' }))).toBeNull();
  });

  it('a $ref replaces its siblings under drafts 3-7, and joins them from 2019-09 on', () => {
    const defs = { d: { type: 'object' } };
    expect(check({ $schema: 'http://json-schema.org/draft-04/schema#', definitions: defs, $ref: '#/definitions/d', type: 'string' }, '{}')).toBe('complete');
    expect(() => compileJsonSchema({ $schema: 'https://json-schema.org/draft/2020-12/schema', $defs: defs, $ref: '#/$defs/d', type: 'string' })).toThrow(SchemaError);
  });

  it('compares integers past 2^53 with their bounds exactly', () => {
    const schema = { type: 'integer', minimum: 0, maximum: 9223372036854776000 };
    expect(check(schema, '9223372036854776001')).not.toBe('complete');
    expect(check(schema, '9223372036854775807')).toBe('complete');
    expect(check({ type: 'integer', exclusiveMinimum: -9007199254740994 }, '-9007199254740994')).not.toBe('complete');
    expect(check({ type: 'object', properties: { n: schema } }, '{"n":9223372036854776001}')).toBe('reject');
  });

  it('reads object and array enum values with whitespace between their tokens', () => {
    expect(check({ enum: [{ a: [1, 2] }, 'x'] }, '{ "a" : [ 1, 2 ] }', 'any')).toBe('complete');
    expect(check({ enum: [{ a: [1, 2] }, 'x'] }, '{ "a" : [ 1 ] }', 'any')).toBe('reject');
  });

  it('refuses a oneOf whose options may both match a value when an option without the others has no exact form, naming it', () => {
    for (const schema of [
      { oneOf: [{ type: 'array', items: { type: 'string' } }, { type: 'array', items: { maxLength: 2 } }] }, // ["a"] matches both
      { type: 'object', properties: { p: { oneOf: [{ type: 'object', additionalProperties: false }, { type: 'object', properties: { a: {} }, additionalProperties: true }] } } }, // {} is both; "some key" in an open object has no keyword
    ]) expect(() => compileJsonSchema(schema)).toThrow(/oneOf: options [01] and [01] may both match one value .* could not be compiled: .*"not" of/);
  });

  it(`stops at ${MAX_SCHEMA_DEPTH} levels with a SchemaError, even 1,000 deep or circular`, () => {
    let deep: unknown = { type: 'string' };
    for (let i = 0; i < 1000; i++) deep = { type: 'array', items: deep };
    expect(() => compileJsonSchema(deep)).toThrow(new RegExp(`nested deeper than ${MAX_SCHEMA_DEPTH} levels`));
    let ok: unknown = { type: 'string' };
    for (let i = 0; i < MAX_SCHEMA_DEPTH - 1; i++) ok = { type: 'array', items: ok };
    expect(() => compileJsonSchema(ok)).not.toThrow();
    expect(() => compileJsonSchema({ $defs: { a: { allOf: [{ $ref: '#/$defs/a' }] } }, $ref: '#/$defs/a' })).toThrow(SchemaError);
    expect(() => compileJsonSchema({ $defs: { a: { $ref: '#/$defs/b' }, b: { $ref: '#/$defs/a' } }, $ref: '#/$defs/a' })).toThrow(SchemaError);
  });
});

describe('whitespace', () => {
  it('is compact by default; pretty allows indentation but no \\r or \\t; any allows all four', () => {
    const s = { type: 'object', properties: { a: { type: 'array', items: { type: 'integer' } } } };
    expect(check(s, '{"a":[1,2]}')).toBe('complete');
    expect(check(s, '{"a": [1]}')).toBe('reject');
    expect(check(s, '{\n  "a": [\n    1\n  ]\n}', 'pretty')).toBe('complete');
    expect(check(s, '{\r\n"a":[1]}', 'pretty')).toBe('reject');
    expect(check(s, '{\t"a":[1]}', 'pretty')).toBe('reject');
    expect(check(s, '{\n\n"a":[1]}', 'pretty')).toBe('reject'); // one newline per run
    expect(check(s, '{\r\n\t"a" :[1]}', 'any')).toBe('complete');
  });
});

describe('regex automaton', () => {
  it.each([
    ['^[a-z]+(-[a-z]+)*$', ['ab', 'a-b-c'], ['a-', '-a', 'A']],
    ['^(?:\\+?1[-. ]?)?\\(?\\d{3}\\)?$', ['+1 (555)', '555'], ['55']],
    ['^[^\\s@]{2,}$', ['ab'], ['a', 'a b']],
    ['colou?r', ['my color', 'colour'], ['colr']],
    ['^.$', ['x'], ['\n', 'xy']],
    ['^a{2}b{1,}c{0,1}$', ['aab', 'aabbc'], ['ab', 'aabcc']],
    ['^(?<y>\\d{4})-\\w+$', ['2024-ab_1'], ['2024-']],
    ['^[\\d.-]+$', ['1.-2'], ['1a']],
    ['a|^b$', ['xa', 'b'], ['xb']],
  ])('/%s/ agrees with RegExp', (src, yes, no) => {
    const re = compileRegex(src);
    for (const s of yes) expect(re.test(s) && new RegExp(src, 'u').test(s), s).toBe(true);
    for (const s of no) expect(re.test(s) || new RegExp(src, 'u').test(s), s).toBe(false);
  });

  it.each(['(?=a)', '(?!a)', '(?<=a)', '\\bword', '(a)\\1', '\\p{L}', 'a{1,100000}', '(', 'a)', '*a'])('refuses /%s/', (src) => {
    expect(() => compileRegex(src)).toThrow(RegexError);
  });
});
