// Masks inside the item strings of unique arrays (string_tails.ts keptCloses: the tails after
// the closing quote read once after a stand-in item, nodes spelling an earlier item or one a
// tail compares with closed one by one) against the plain definition: a token is allowed when
// the recognizer reads all its bytes. The synthetic vocabulary has tokens that close an item
// and open or close the next one (`", "a"`, `"a", "b"`, `"]`), escapes spelling earlier items
// (`\u0061`), and enough tokens below `"` and at the root that the body tables are used.
import { describe, expect, it } from 'vitest';
import { JsonGrammar, type GrammarState } from '../../src/sampling/json_grammar';
import { compileJsonSchema } from '../../src/sampling/json_schema';
import { Rng } from '../../src/sampling/rng';
import { keptCloseCounts } from '../../src/sampling/string_tails';
import { maskVocabulary } from '../helpers/mask_vocabulary';

const utf8 = new TextEncoder();

function vocabulary(): Uint8Array[] {
  const r = new Rng(7);
  const pick = (xs: readonly string[]) => xs[r.nextU32() % xs.length]!;
  const pieces = ['a', 'b', 'c', 'ab', 'ba', 'abc', 'x', 'é', '中', '1', '12', ' ', '\\u0061', '\\u0062', '\\u00e9', '\\n', '\\"', '\\\\', 'true', 'null'];
  const after = ['', '', '', '"', '",', '", ', '", "', '","', '"]', '"],', '"}', '", "a', '", "a"', '", "a",', '", "a"]', '","b"', '", "ab", "', '", "\\u0061"', '", true', '", 1', '",1]', '", null]', '", ""', '","",'];
  const texts = new Set<string>();
  for (let b = 0x20; b < 0x7f; b++) texts.add(String.fromCharCode(b));
  for (const t of ['{"', '": ', '":', '": ["', '":["', '[', ']', '["', '[""]', '"a", "b"', '"a","a"', ', "', ',"', '"', '""', '"",', '"a"', '"a",', '"b"]', '1', '12', 'true', 'null', '"ab"', ', ', '"\\u0061"', '\\u0061"', '\\u']) texts.add(t);
  while (texts.size < 1200) {
    const n = 1 + (r.nextU32() % 2);
    let t = r.uniform() < 0.2 ? pick(['"', ' "', ', "', ',"']) : '';
    for (let i = 0; i < n; i++) t += pick(pieces);
    texts.add(t + pick(after));
  }
  const out = [...texts].map((t) => utf8.encode(t));
  out.push(Uint8Array.of(0xc3), Uint8Array.of(0xa9, 0x22, 0x2c), Uint8Array.of(0x61, 0xc3));
  return out;
}

const schemas: [string, unknown][] = [
  ['strings', { type: 'array', uniqueItems: true, items: { type: 'string' } }],
  ['short strings', { type: 'array', uniqueItems: true, maxItems: 5, items: { type: 'string', maxLength: 3 } }],
  ['patterned strings', { type: 'array', uniqueItems: true, items: { type: 'string', pattern: '^[abc\\u00e9]*$' } }],
  ['strings or literals', { type: 'array', uniqueItems: true, items: { anyOf: [{ type: 'string', maxLength: 2 }, { type: 'boolean' }, { type: 'null' }] } }],
  ['strings or an enum', { type: 'array', uniqueItems: true, items: { anyOf: [{ type: 'string', pattern: '^[^b]*$' }, { enum: ['a', 'ab', 'b', true, null] }] } }],
  ['in an object', { type: 'object', properties: { tags: { type: 'array', uniqueItems: true, items: { type: 'string' } }, n: { type: 'integer' } }, required: ['tags'], additionalProperties: false }],
];

describe('masks inside the items of unique arrays agree with reading every token', () => {
  const bytes = vocabulary();
  const { stops, table, bruteForce } = maskVocabulary(bytes); // a stop id past the table's tokens

  const inKept = (s: GrammarState) => s.stacks.some((st) => { const f = st[st.length - 1]; return f?.k === 'S' && f.keep && f.esc === 0 && f.need === 0; });

  it.each(schemas)('%s: every state of random documents', (_name, schema) => {
    const before = { ...keptCloseCounts };
    let states = 0, kept = 0, refusals = 0;
    for (const whitespace of ['any', 'compact'] as const) {
      const g = JsonGrammar.schema(compileJsonSchema(schema, 'schema', { unlisted: 'open' }), { whitespace, maxWhitespace: 3 });
      const r = new Rng(states + 11);
      for (let doc = 0; doc < 6; doc++) {
        let s = g.initial();
        for (let step = 0; step < 30; step++) {
          const want = bruteForce(s);
          expect([...table.allowedTokens(s, stops)], `${whitespace} doc ${doc} step ${step}`).toEqual(want);
          states++;
          if (inKept(s)) {
            kept++;
            // A token whose characters the item may add but not then close: they spell an earlier item (no schema here refuses a quote otherwise).
            if (bytes.some((b) => b.includes(0x22) && s.grammar.feedBytes(s, b.subarray(0, b.indexOf(0x22))) && !s.grammar.feedBytes(s, b.subarray(0, b.indexOf(0x22) + 1)))) refusals++;
          }
          const choices = want.filter((id) => id < bytes.length);
          if (choices.length === 0) break;
          // Lean towards short items and tokens with quotes, so that arrays hold several items and repeat some.
          const quoted = choices.filter((id) => bytes[id]!.includes(0x22) && !bytes[id]!.includes(0x5d) && bytes[id]!.length <= 6);
          const pool = quoted.length && r.uniform() < 0.6 ? quoted : choices;
          s = table.advance(s, pool[r.nextU32() % pool.length]!)!;
        }
      }
    }
    expect(kept).toBeGreaterThan(30);
    expect(refusals).toBeGreaterThan(0);
    // The fast path was taken, and some nodes (earlier items, items a tail compares with) were closed one by one.
    expect(keptCloseCounts.shared - before.shared).toBeGreaterThan(10);
    expect(keptCloseCounts.oneByOne - before.oneByOne).toBeGreaterThan(0);
  });
});
