// A MaskBench sample (test/fixtures/maskbench/NOTICE.md) run as the bench runs it
// (bench/maskbench.ts), over the tiny ERNIE vocabulary.
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { bucketOf, bucketTable, compileFile, runFile, summarize, type BenchTokenizer, type FileResult } from '../../bench/maskbench';
import { TokenTable } from '../../src/sampling/token_table';
import { compileJsonSchema, SchemaError, validateJson } from '../../src/sampling/json_schema';
import { tinyTokenizer } from './helpers';
import { JsonGrammar } from '../../src/sampling/json_grammar';

const dir = fileURLToPath(new URL('../fixtures/maskbench/', import.meta.url));
const files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();

describe('MaskBench sample', () => {
  const t = tinyTokenizer();
  const tok: BenchTokenizer = { name: 'tiny', table: TokenTable.of(t), stops: t.stopTokenIds, encode: (s) => t.encode(s, { addSpecialTokens: false }) };

  it(`${files.length} schemas: no invalid instance accepted, no valid one refused, unsupported ones refused by name`, () => {
    const results: FileResult[] = files.map((f) => runFile(f, readFileSync(dir + f, 'utf8'), tok, { whitespace: 'any' }, 20000));
    const bad = results.filter((r) => r.outcome === 'invalidation_error' || r.outcome === 'validation_error' || r.outcome === 'timeout');
    expect(bad.map((r) => `${r.file}: ${r.outcome} ${r.detail}`)).toEqual([]);
    for (const r of results.filter((x) => x.outcome === 'compile_error')) expect(r.detail, r.file).not.toMatch(/^CRASH/);
    const s = summarize(results);
    expect(s.schemas).toBe(files.length);
    expect(s.passing).toBeGreaterThan(files.length * 0.8);
    expect(s.tbm_us.p50).toBeGreaterThan(0);
  }, 60000);

  it('every mask is exactly the set of tokens the recognizer accepts (string fast paths included)', () => {
    let states = 0;
    let stringStates = 0;
    for (const f of files.filter((_, i) => i % 30 === 0)) {
      const doc = JSON.parse(readFileSync(dir + f, 'utf8')) as { schema: unknown; tests: { data: unknown; valid: boolean }[] };
      let node;
      try { node = compileJsonSchema(doc.schema, 'schema', { unlisted: 'open' }); } catch { continue; }
      const g = JsonGrammar.schema(node, { whitespace: 'any' });
      const inst = doc.tests.find((x) => x.valid);
      if (!inst) continue;
      let s = g.initial();
      for (const id of tok.encode(JSON.stringify(inst.data, null, 1)).slice(0, 12)) {
        const want: number[] = [];
        for (let j = 0; j < tok.table.bytes.length; j++) if (tok.table.advance(s, j)) want.push(j);
        if (g.canEnd(s)) want.push(...tok.stops);
        const got = [...tok.table.allowedTokens(s, tok.stops)].sort((a, b) => a - b);
        expect(got, `${f} at state ${states}`).toEqual(want.sort((a, b) => a - b));
        states++;
        if (s.stacks.some((st) => st[st.length - 1]?.k === 'S')) stringStates++;
        const next = tok.table.advance(s, id);
        if (!next) break;
        s = next;
      }
    }
    expect(states).toBeGreaterThan(90);
    expect(stringStates).toBeGreaterThan(20);
  });

  it('the validator agrees with the instances of the schemas that compile', () => {
    let checked = 0;
    for (const f of files) {
      const doc = JSON.parse(readFileSync(dir + f, 'utf8')) as { schema: unknown; tests: { data: unknown; valid: boolean }[] };
      let node;
      try { node = compileJsonSchema(doc.schema, 'schema', { unlisted: 'open' }); } catch { continue; }
      for (const t of doc.tests) {
        expect(validateJson(t.data, node) === null, `${f}: ${JSON.stringify(t.data).slice(0, 200)}`).toBe(t.valid);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(400);
  });

  it('--compile-only: errors grouped by cause, without paths or names', () => {
    const results = files.map((f) => compileFile(f, readFileSync(dir + f, 'utf8')));
    const errors = results.filter((r) => r.bucket !== null);
    expect(errors.every((r) => r.bucket !== 'CRASH')).toBe(true);
    expect(bucketTable(results).reduce((n, [, c]) => n + c, 0)).toBe(errors.length);
    expect(results.filter((r) => r.validatorDisagrees.length > 0).map((r) => r.file)).toEqual([]);
    const grab = (schema: unknown) => { try { compileJsonSchema(schema); } catch (e) { return bucketOf(e as SchemaError); } return null; };
    expect(grab({ properties: { a: { uniqueItems: true } } })).toBe('uniqueItems');
    expect(grab({ properties: { b: { not: { multipleOf: 3 } } } })).toBe('not: "multipleOf"');
    expect(grab({ oneOf: [{ type: 'array', items: { type: 'string' } }, { type: 'array', items: { maxLength: 1 } }] })).toBe('oneOf may overlap / not: "items" as one schema (an array with some item that fails it)');
  });
});
