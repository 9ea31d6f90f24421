// MaskBench (github.com/guidance-ai/jsonschemabench, maskbench/): each file holds a schema and
// instances marked valid or invalid. A schema passes when it compiles, every valid instance's
// tokens are allowed one by one and end where the document may end, and every invalid instance
// is refused (a token not allowed, or the end not allowed). Instances are written as Python's
// json.dumps writes them (", " and ": " separators, numbers as in the file), as MaskBench does.
import { compileJsonSchema, SchemaError, validateJson } from '../src/sampling/json_schema';
import { JsonGrammar, type GrammarOptions } from '../src/sampling/json_grammar';
import type { TokenTable } from '../src/sampling/token_table';

export interface BenchTokenizer {
  name: string;
  table: TokenTable;
  stops: readonly number[];
  encode(text: string): number[];
}

export type Outcome = 'passing' | 'compile_error' | 'validation_error' | 'invalidation_error' | 'timeout';

export interface FileResult {
  file: string;
  outcome: Outcome;
  detail?: string;
  ttfmUs: number;
  masksUs: number[];
}

/** A JSON value whose numbers keep their text. */
type Raw = null | boolean | string | { num: string } | Raw[] | { obj: [string, Raw][] };

function parseRaw(text: string): Raw {
  let i = 0;
  const ws = () => { while (/\s/.test(text[i] ?? '')) i++; };
  const value = (): Raw => {
    ws();
    const c = text[i]!;
    if (c === '{') {
      i++;
      const obj: [string, Raw][] = [];
      ws();
      if (text[i] === '}') { i++; return { obj }; }
      for (;;) {
        ws();
        const k = value() as string;
        ws(); i++; // ':'
        obj.push([k, value()]);
        ws();
        if (text[i++] === '}') return { obj };
      }
    }
    if (c === '[') {
      i++;
      const arr: Raw[] = [];
      ws();
      if (text[i] === ']') { i++; return arr; }
      for (;;) {
        arr.push(value());
        ws();
        if (text[i++] === ']') return arr;
      }
    }
    if (c === '"') {
      let j = i + 1;
      for (;;) {
        const ch = text[j]!;
        if (ch === '\\') j += 2;
        else if (ch === '"') break;
        else j++;
      }
      const s = JSON.parse(text.slice(i, j + 1)) as string;
      i = j + 1;
      return s;
    }
    const lit = /^(true|false|null|-?\d+(\.\d+)?([eE][+-]?\d+)?|NaN|-?Infinity)/.exec(text.slice(i, i + 400))![0];
    i += lit.length;
    if (lit === 'true') return true;
    if (lit === 'false') return false;
    if (lit === 'null') return null;
    return { num: lit };
  };
  return value();
}

/** Python's json.dumps(value, ensure_ascii=False). */
function pyDumps(v: Raw): string {
  if (v === null) return 'null';
  if (typeof v === 'boolean') return String(v);
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return '[' + v.map(pyDumps).join(', ') + ']';
  if ('num' in v) return v.num;
  return '{' + v.obj.map(([k, x]) => JSON.stringify(k) + ': ' + pyDumps(x)).join(', ') + '}';
}

/** Each instance of a MaskBench file: whether it is valid and its text as MaskBench writes it. */
export function instanceTexts(fileText: string): { valid: boolean; text: string }[] {
  const tests = (get(parseRaw(fileText), 'tests') ?? []) as Raw[];
  return tests.map((t) => ({ valid: get(t, 'valid') === true, text: pyDumps(get(t, 'data') ?? null) }));
}

const get = (o: Raw, k: string): Raw | undefined => (o && typeof o === 'object' && 'obj' in o ? o.obj.find(([n]) => n === k)?.[1] : undefined);

/** One file; past `budgetMs` of mask time the schema counts as a timeout. */
export function runFile(file: string, text: string, tok: BenchTokenizer, options: GrammarOptions, budgetMs = 10000): FileResult {
  const doc = JSON.parse(text) as { schema: unknown };
  const raw = parseRaw(text);
  const tests = (get(raw, 'tests') ?? []) as Raw[];
  const masksUs: number[] = [];
  const t0 = performance.now();
  let g: JsonGrammar;
  try {
    g = JsonGrammar.schema(compileJsonSchema(doc.schema, 'schema', { unlisted: 'open' }), options);
  } catch (e) {
    if (e instanceof SchemaError) return { file, outcome: 'compile_error', detail: e.message, ttfmUs: 0, masksUs };
    return { file, outcome: 'compile_error', detail: `CRASH ${(e as Error).stack}`, ttfmUs: 0, masksUs };
  }
  const ttfmUs = (performance.now() - t0) * 1000;
  let outcome: Outcome = 'passing';
  let detail: string | undefined;
  tests.forEach((t, i) => {
    if (outcome !== 'passing') return;
    const valid = get(t, 'valid') === true;
    const ids = tok.encode(pyDumps(get(t, 'data') ?? null));
    let s = g.initial();
    let accepted = true;
    for (const id of ids) {
      if (performance.now() - t0 > budgetMs) { outcome = 'timeout'; detail = `test #${i}: over ${budgetMs} ms`; return; }
      const a = performance.now();
      tok.table.allowedMask(s, tok.stops);
      const next = tok.table.advance(s, id);
      masksUs.push((performance.now() - a) * 1000);
      if (!next) { accepted = false; break; }
      s = next;
    }
    if (accepted) {
      const a = performance.now();
      tok.table.allowedMask(s, tok.stops);
      masksUs.push((performance.now() - a) * 1000);
      accepted = g.canEnd(s);
    }
    if (valid && !accepted) { outcome = 'validation_error'; detail = `test #${i}: should accept but didn't`; }
    if (!valid && accepted) { outcome = 'invalidation_error'; detail = `test #${i}: should reject but didn't`; }
  });
  return { file, outcome, detail, ttfmUs, masksUs };
}

export interface CompileResult {
  file: string;
  /** The compile error's cause (bucketOf), null when the schema compiled. */
  bucket: string | null;
  detail?: string;
  /** Instances the compiled schema's validator (validateJson) judges otherwise than MaskBench. */
  validatorDisagrees: { test: number; valid: boolean }[];
}

/** Compiles one file's schema (as runFile does) and checks its instances with the validator: no tokenizer. */
export function compileFile(file: string, text: string): CompileResult {
  const doc = JSON.parse(text) as { schema: unknown; tests?: { data: unknown; valid: boolean }[] };
  let node;
  try {
    node = compileJsonSchema(doc.schema, 'schema', { unlisted: 'open' });
    JsonGrammar.schema(node);
  } catch (e) {
    if (e instanceof SchemaError) return { file, bucket: bucketOf(e), detail: e.message, validatorDisagrees: [] };
    return { file, bucket: 'CRASH', detail: (e as Error).stack, validatorDisagrees: [] };
  }
  const validatorDisagrees: { test: number; valid: boolean }[] = [];
  (doc.tests ?? []).forEach((t, i) => {
    if ((validateJson(t.data, node) === null) !== (t.valid === true)) validatorDisagrees.push({ test: i, valid: t.valid === true });
  });
  return { file, bucket: null, validatorDisagrees };
}

/** A compile error's cause, without the path and the names in it, to group errors by. */
export function bucketOf(e: SchemaError): string {
  return classify(e.path, e.message.slice(e.path.length + 2));
}

function classify(path: string, msg: string): string {
  const kw = /^keyword "(\w+)" is not supported/.exec(msg);
  if (kw) return kw[1]!;
  const not = /^"not" of (.*?) is not supported/.exec(msg);
  if (not) return `not: ${not[1]!.replace(/"(?:[^"\\]|\\.)*"(?=[^:]|$)/g, (q) => (/^"\w+"$/.test(q) ? q : '"…"'))}`;
  const inner = / could not be compiled: ([^:]*): ([\s\S]*)$/.exec(msg);
  if (/may both match one value/.test(msg)) return `oneOf may overlap${inner ? ' / ' + classify(inner[1]!, inner[2]!) : ''}`;
  const allOf = /^allOf parts (?:give different|both have) "(\w+)"/.exec(msg);
  if (allOf) return `allOf: "${allOf[1]}" cannot be merged`;
  const last = /\.([A-Za-z$]+)(?:\[\d+\])?$/.exec(path)?.[1] ?? '';
  const core = msg.replace(/ at offset [\s\S]*$/, '').replace(/^pattern "(?:[^"\\]|\\.)*": /, 'pattern: ').replace(/ \(supported: .*$/, '');
  return `${last ? last + ': ' : ''}${core.replace(/"(?:[^"\\]|\\.)*"/g, '"…"').replace(/\d+/g, 'N').slice(0, 90)}`;
}

/** Compile errors by cause, most common first. */
export function bucketTable(results: CompileResult[]): [string, number][] {
  const m = new Map<string, number>();
  for (const r of results) if (r.bucket !== null) m.set(r.bucket, (m.get(r.bucket) ?? 0) + 1);
  return [...m].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
}

export interface Summary {
  schemas: number;
  passing: number;
  compile_error: number;
  validation_error: number;
  invalidation_error: number;
  timeout: number;
  tbm_us: Percentiles;
  ttfm_us: Percentiles;
}
export interface Percentiles { p50: number; p90: number; p99: number; max: number }

function percentiles(xs: number[]): Percentiles {
  const s = Float64Array.from(xs).sort();
  const at = (q: number) => (s.length ? Math.round(s[Math.min(s.length - 1, Math.floor(q * s.length))]! * 10) / 10 : 0);
  return { p50: at(0.5), p90: at(0.9), p99: at(0.99), max: at(1) };
}

export function summarize(results: FileResult[]): Summary {
  const n = (o: Outcome) => results.filter((r) => r.outcome === o).length;
  return {
    schemas: results.length,
    passing: n('passing'),
    compile_error: n('compile_error'),
    validation_error: n('validation_error'),
    invalidation_error: n('invalidation_error'),
    timeout: n('timeout'),
    tbm_us: percentiles(results.flatMap((r) => r.masksUs)),
    ttfm_us: percentiles(results.filter((r) => r.outcome !== 'compile_error').map((r) => r.ttfmUs)),
  };
}
