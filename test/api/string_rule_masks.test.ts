// Masks inside strings under length and pattern rules (string_masks.ts walking the code-point
// trie by character class with whole-subtree shortcuts, string_tails.ts, rules_automaton.ts,
// regex.ts's classes) against the plain definition: a token is allowed when the recognizer
// reads all its bytes. A synthetic vocabulary of ~1,500 ids with hundreds of tokens below `"`
// and at the root (so the body tables are used), of characters every format treats differently:
// letters, digits, URI and e-mail punctuation, ASCII and Unicode white space, multibyte
// characters, escapes, closing quotes with tails, partial UTF-8 characters.
import { describe, expect, it } from 'vitest';
import { JsonGrammar } from '../../src/sampling/json_grammar';
import { compileJsonSchema } from '../../src/sampling/json_schema';
import { compileRegex, complementRegex } from '../../src/sampling/regex';
import { Rng } from '../../src/sampling/rng';
import { maskVocabulary } from '../helpers/mask_vocabulary';

const utf8 = new TextEncoder();

function vocabulary(): Uint8Array[] {
  const r = new Rng(3);
  const pick = (xs: readonly string[]) => xs[r.nextU32() % xs.length]!;
  const pieces = ['http', 's', '://', 'www', '.', 'example', 'com', '/', 'path', '?q=', '#', 'mailto', ':', 'john', '@', 'a-b', '_x', '+', '%20', '~', '2024', '-', '01', '12', '31', '29', 'T', 't', '10', ':00', '59', '.5', 'Z', 'z', '+01', '00', 'ab', 'CDEF', '0123', 'f', '9', 'é', 'ü', '中文', '中', '🙂', '\u00a0', '\u3000', '\u2028', ' ', 'a b', '<', '|', '{', '^', '`', 'P', '1Y', 'W', 'M', 'urn', 'x'];
  const after = ['', '', '', '"', '",', '", "', '":', '"}', '"]', '\\n', '\\/', '\\"', '\\u00e9', '\\u4e2d', '\\u00', '\\', '\\t'];
  const texts = new Set<string>();
  for (let b = 0x20; b < 0x7f; b++) texts.add(String.fromCharCode(b));
  for (const t of ['{', '}', '[', ']', '{"', '":', '":"', '": "', ', "', ',"', '["', '"', ' "', '\\', '\\u', 'é', '中', '🙂', '\u00a0', 'true', 'null', '12', '-1']) texts.add(t);
  while (texts.size < 1500) {
    const n = 1 + (r.nextU32() % 3);
    let t = r.uniform() < 0.3 ? pick(['"', ' "', ':"', ',"']) : '';
    for (let i = 0; i < n; i++) t += pick(pieces);
    texts.add(t + pick(after));
  }
  const out = [...texts].map((t) => utf8.encode(t));
  // Partial characters: lead and continuation bytes alone, split characters with a quote after.
  for (const b of [0xc3, 0xa9, 0xe4, 0xb8, 0xad, 0xf0, 0x9f, 0x99, 0x82, 0xe3, 0x80]) out.push(Uint8Array.of(b));
  out.push(Uint8Array.of(0xe4, 0xb8), Uint8Array.of(0xad, 0x22), Uint8Array.of(0xa9, 0x22, 0x2c), Uint8Array.of(0x61, 0xc3));
  return out;
}

const str = (extra: object) => ({ type: 'string', ...extra });
const schemas: [string, unknown][] = [
  ['uri', str({ format: 'uri' })],
  ['email, maxLength', str({ format: 'email', maxLength: 14 })],
  ['date-time', str({ format: 'date-time' })],
  ['uuid', str({ format: 'uuid' })],
  ['array of dates, hostnames, ipv4', { type: 'array', items: { anyOf: [str({ format: 'date' }), str({ format: 'hostname', maxLength: 9 }), str({ format: 'ipv4' })] } }],
  ['uri-reference and duration keys', { type: 'object', properties: { a: str({ format: 'uri-reference' }), b: str({ format: 'duration' }), c: str({ format: 'json-pointer' }) }, additionalProperties: false }],
  ['CJK pattern, lengths', str({ pattern: '^[\\u4e00-\\u9fff a-z]+$', minLength: 2, maxLength: 7 })],
  ['unanchored pattern with a format', str({ pattern: '[0-9]{2}', format: 'uri', minLength: 3 })],
  ['no white space, not a pattern', str({ pattern: '^\\S*$', not: { pattern: 'ab' } })],
  ['several patterns, multibyte', str({ allOf: [{ pattern: '^[^<>]*$' }, { pattern: '(é|中|🙂)' }, { pattern: '^.{0,12}$' }] })],
  ['undeclared keys with patterned values', { type: 'object', patternProperties: { '^x': str({ format: 'ipv6' }) }, additionalProperties: str({ pattern: '^[a-f0-9:]*$', maxLength: 6 }) }],
];

describe('string masks under length and pattern rules agree with reading every token', () => {
  const bytes = vocabulary();
  const { stops, table, bruteForce } = maskVocabulary(bytes); // a stop id past the table's tokens

  it.each(schemas)('%s: every state of random documents', (_name, schema) => {
    let states = 0, inRules = 0;
    for (const whitespace of ['any', 'compact'] as const) {
      const g = JsonGrammar.schema(compileJsonSchema(schema, 'schema', { unlisted: 'open' }), { whitespace, maxWhitespace: 4 });
      const r = new Rng(states + 5);
      for (let doc = 0; doc < 8; doc++) {
        let s = g.initial();
        for (let step = 0; step < 24; step++) {
          const want = bruteForce(s);
          expect([...table.allowedTokens(s, stops)], `${whitespace} doc ${doc} step ${step}`).toEqual(want);
          states++;
          if (s.stacks.some((st) => { const f = st[st.length - 1]; return f?.k === 'S' && f.r !== null; })) inRules++;
          const choices = want.filter((id) => id < bytes.length);
          if (choices.length === 0) break;
          // Mostly stay inside strings (tokens without a quote) so that the rules' deep states are reached.
          const top = s.stacks[0]![s.stacks[0]!.length - 1];
          const inRulesString = top?.k === 'S' && top.r !== null;
          const staying = inRulesString ? choices.filter((id) => !bytes[id]!.includes(0x22)) : [];
          // Outside them, lean towards tokens that open or close something, so that a string value is reached.
          const moving = inRulesString ? [] : choices.filter((id) => bytes[id]!.includes(0x22) || bytes[id]!.includes(0x3a));
          const pool = staying.length && r.uniform() < 0.85 ? staying : moving.length && r.uniform() < 0.7 ? moving : choices;
          s = table.advance(s, pool[r.nextU32() % pool.length]!)!;
        }
      }
    }
    expect(inRules).toBeGreaterThan(20);
  });
});

describe('character classes', () => {
  const sources = ['^[A-Za-z][A-Za-z0-9+.-]*:[^\\s"<>\\\\^`{|}]*$', '^[\\u4e00-\\u9fff a-z]+$', '(é|中|🙂)', '^\\S*$', '[0-9]{2}', '^.{0,3}$', '^(a|b)c[^c]?$'];
  // Code points on and next to the classes' edges.
  const probe = [0, 9, 10, 13, 0x20, 0x22, 0x2b, 0x2d, 0x2e, 0x30, 0x39, 0x3a, 0x40, 0x41, 0x5a, 0x5c, 0x5e, 0x60, 0x61, 0x62, 0x63, 0x7a, 0x7b, 0x7c, 0x7d, 0x7f, 0x85, 0xa0, 0xe9, 0x2028, 0x3000, 0x4dff, 0x4e00, 0x4e2d, 0x9fff, 0xa000, 0xfeff, 0x1f642, 0x10ffff].map((cp) => String.fromCodePoint(cp));

  it.each(sources)('%s: matching by class agrees with RegExp', (src) => {
    const re = compileRegex(src), not = complementRegex(src), js = new RegExp(src, 'u');
    const r = new Rng(1);
    const texts: string[] = [''];
    for (const a of probe) for (const b of probe) texts.push(a, a + b);
    for (let i = 0; i < 3000; i++) texts.push(Array.from({ length: 3 + (r.nextU32() % 4) }, () => probe[r.nextU32() % probe.length]!).join(''));
    for (const t of texts) {
      expect(re.test(t), JSON.stringify(t)).toBe(js.test(t));
      expect(not.test(t)).toBe(!js.test(t));
    }
    for (const p of [re, not]) {
      for (const ch of probe) {
        const c = p.classOf(ch.codePointAt(0)!);
        expect(c >= 0 && c < p.classCount).toBe(true);
        expect(p.stepClass(p.start, c)).toBe(p.step(p.start, ch.codePointAt(0)!));
      }
    }
  });
});
