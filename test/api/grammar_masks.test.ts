// The mask fast paths (token_table.ts: body tables per trie node, string_masks.ts,
// string_tails.ts, remembered subtrees; json_grammar.ts: remembered container stacks, the
// whitespace shortcut) against the plain definition: a token is allowed when the recognizer
// reads all its bytes. A synthetic ~1,200-id vocabulary, built so that every fast path is taken:
// hundreds of tokens below `"`, ` "` and ` ` (body tables and remembered subtrees), quotes
// with tails (`", "`, `":`), escapes, partial UTF-8 characters, whitespace runs, digits.
// And next_bytes.ts (the bytes the walk does not feed) against feeding every byte.
import { describe, expect, it } from 'vitest';
import { JsonGrammar } from '../../src/sampling/json_grammar';
import { compileJsonSchema } from '../../src/sampling/json_schema';
import { inByteSet, nextBytes } from '../../src/sampling/next_bytes';
import { Rng } from '../../src/sampling/rng';
import { maskVocabulary } from '../helpers/mask_vocabulary';

const utf8 = new TextEncoder();

function vocabulary(): Uint8Array[] {
  const r = new Rng(7);
  const pick = (xs: readonly string[]) => xs[r.nextU32() % xs.length]!;
  const words = ['name', 'age', 'id', 'tags', 'ok', 'x', 'abc', 'zip', 'city', 'é', '中文', 'ü🙂', 'a b', 'A-1', '2024-01-02', '12', '0', 'true', 'null', 'red'];
  const before = ['"', ' "', '{"', ',"', ', "', '["', ':"', ': "', ' ', '  ', '\n', '\n  ', '\t'];
  const after = ['', '"', '",', '", "', '":', '": ', '":"', '"}', '"]', '"},', '\\n', '\\"', '\\u00e9', '\\u00', '\\', ' ', '.'];
  const texts = new Set<string>();
  for (let b = 0x20; b < 0x7f; b++) texts.add(String.fromCharCode(b));
  for (const t of ['\n', '\t', '\r', '  ', '    ', '\n\n', '\n    ', ' \n', '\t\t', '{\n', '},\n', '[]', '{}', '-1', '1.5', 'e+', 'E-', '00', '123', '.5', 'true', 'false', 'null', 'tr', 'ue', 'nu', 'fa', 'lse', '\\', '\\u', '\\n', '\\"', '\\\\', 'é', '中', '🙂']) texts.add(t);
  while (texts.size < 1150) texts.add(pick(before) + pick(words) + pick(after));
  const out = [...texts].map((t) => utf8.encode(t));
  // Byte-fallback style pieces: UTF-8 lead and continuation bytes alone, and a character split in two.
  for (const b of [0xc3, 0xa9, 0xe4, 0xb8, 0xad, 0xf0, 0x9f, 0x99, 0x82, 0xff]) out.push(Uint8Array.of(b));
  out.push(Uint8Array.of(0xe4, 0xb8), Uint8Array.of(0xad, 0x22), Uint8Array.of(0x22, 0xc3), Uint8Array.of(0xa9, 0x22, 0x2c));
  return out;
}

const schemas: [string, unknown][] = [
  ['any object', { type: 'object' }],
  ['declared keys, open', { type: 'object', properties: { name: { type: 'string', maxLength: 12 }, age: { type: 'integer', minimum: 0, maximum: 150 }, tags: { type: 'array', items: { type: 'string' } } }, required: ['name'] }],
  ['closed, any order', { type: 'object', properties: { id: { type: 'string', pattern: '^[a-z0-9]{2,8}$' }, ok: { type: 'boolean' }, city: { enum: ['red', 'é', 12, null] } }, additionalProperties: false }],
  ['patternProperties', { type: 'object', patternProperties: { '^x': { type: 'number' } }, additionalProperties: { type: 'string', minLength: 2 } }],
  ['anyOf of objects', { anyOf: [{ type: 'object', properties: { name: { type: 'string' } }, required: ['name'] }, { type: 'object', properties: { name: { type: 'integer' }, zip: { type: 'string', format: 'date' } } }] }],
  ['array of strings', { type: 'array', items: { type: 'string', maxLength: 6 }, maxItems: 4 }],
];

describe('mask fast paths agree with reading every token', () => {
  const bytes = vocabulary();
  const { stops, table, bruteForce } = maskVocabulary(bytes); // a stop id past the table's tokens

  it.each(schemas)('%s: every state of random documents', (_name, schema) => {
    let states = 0;
    for (const whitespace of ['any', 'compact'] as const) {
      const g = JsonGrammar.schema(compileJsonSchema(schema, 'schema', { unlisted: 'open' }), { whitespace, maxWhitespace: 6 });
      const r = new Rng(states + 11);
      // Documents until ~16 states per whitespace mode (short documents end early).
      for (let doc = 0, until = states + 16; doc < 8 && states < until; doc++) {
        let s = g.initial();
        for (let step = 0; step < 16; step++) {
          const want = bruteForce(s);
          const got = [...table.allowedTokens(s, stops)];
          expect(got, `${whitespace} doc ${doc} step ${step}`).toEqual(want);
          const mask = table.allowedMask(s, stops);
          expect(got.filter((id) => id < bytes.length + 1 && (mask[id >>> 5]! & (1 << (id & 31))) === 0)).toEqual([]);
          states++;
          const choices = want.filter((id) => id < bytes.length);
          if (choices.length === 0) break;
          // Lean towards tokens that move on (quotes, punctuation) so documents get deep.
          const moving = choices.filter((id) => /["{}[\],:]/.test(String.fromCharCode(...bytes[id]!)));
          const pool = moving.length && r.uniform() < 0.5 ? moving : choices;
          s = table.advance(s, pool[r.nextU32() % pool.length]!)!;
        }
      }
    }
    expect(states).toBeGreaterThan(25);
  });

  it.each(schemas)('%s: a byte outside nextBytes() ends every reading', (_name, schema) => {
    let checked = 0;
    for (const whitespace of ['any', 'compact'] as const) {
      const g = JsonGrammar.schema(compileJsonSchema(schema, 'schema', { unlisted: 'open' }), { whitespace, maxWhitespace: 6 });
      const r = new Rng(29);
      for (let doc = 0; doc < 8; doc++) {
        let s = g.initial();
        for (let step = 0; step < 16; step++) {
          const may = nextBytes(s);
          if (may) {
            checked++;
            for (let b = 0; b < 256; b++) if (!inByteSet(may, b) && ![0x20, 0x0a, 0x09, 0x0d].includes(b)) expect(g.feed(s, b), `byte ${b}`).toBeNull();
          }
          const choices = [...table.allowedTokens(s, stops)].filter((id) => id < bytes.length);
          if (choices.length === 0) break;
          const moving = choices.filter((id) => /["{}[\],:]/.test(String.fromCharCode(...bytes[id]!)));
          const pool = moving.length && r.uniform() < 0.6 ? moving : choices;
          s = table.advance(s, pool[r.nextU32() % pool.length]!)!;
        }
      }
    }
    expect(checked).toBeGreaterThan(10);
  });
});
