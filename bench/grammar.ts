// `npm run bench:grammar -- --data <folder of MaskBench files> --tokenizer <folder>|llama3
//   [--json out.json] [--limit N] [--every K] [--sample N --seed S] [--whitespace any|pretty|compact] [--budget-ms 10000]`
// `--compile-only` (no --tokenizer needed): compiles every schema, checks the compiled schema's
// validator against each instance, and prints the compile errors grouped by cause (bucketOf).
// (--json is also written every 100 files, so a run cut short still reports what it did.)
// Runs MaskBench (bench/maskbench.ts) and prints passing / compile / validation / invalidation
// errors and the time to first mask (TTFM: schema compile) and between masks (TBM: one
// allowedMask over the whole vocabulary, what the engine samples with). `--tokenizer llama3`: Llama 3's 128K vocabulary
// from the llama3-tokenizer-js package (the tokenizer MaskBench's published numbers use).
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ErnieTokenizer } from '../src/text/tokenizer';
import { TokenTable } from '../src/sampling/token_table';
import { Rng } from '../src/sampling/rng';
import { runFile, summarize, compileFile, bucketTable, type BenchTokenizer, type FileResult, type CompileResult } from './maskbench';

const args = new Map<string, string>();
process.argv.slice(2).forEach((a, i, all) => a.startsWith('--') && args.set(a.slice(2), all[i + 1]?.startsWith('--') ? '1' : (all[i + 1] ?? '1')));
const data = args.get('data');
const tokArg = args.get('tokenizer');
const compileOnly = args.has('compile-only');
if (!data || (!tokArg && !compileOnly)) {
  console.error('usage: npm run bench:grammar -- --data <folder> --tokenizer <folder>|llama3 [--json out.json] [--limit N] [--whitespace any|pretty|compact]');
  process.exit(2);
}

async function loadTokenizer(spec: string): Promise<BenchTokenizer> {
  if (spec === 'llama3') {
    const { default: llama } = await import('llama3-tokenizer-js');
    // GPT-2 byte-level pieces: each character stands for one byte.
    const toByte = new Map<string, number>();
    const printable = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    let extra = 0;
    for (let b = 0; b < 256; b++) toByte.set(String.fromCodePoint(printable(b) ? b : 256 + extra++), b);
    const bytes = llama.vocabById.map((piece: string, id: number) => {
      if (id >= 128000) return null; // special tokens
      const out = [...piece].map((c) => toByte.get(c));
      return out.length && out.every((x) => x !== undefined) ? Uint8Array.from(out as number[]) : null;
    });
    return { name: 'llama3-tokenizer-js (Llama 3, 128,256 ids)', table: new TokenTable(bytes), stops: [128001, 128009], encode: (t) => llama.encode(t, { bos: false, eos: false }) };
  }
  const tok = ErnieTokenizer.fromFiles({
    tokenizerModel: new Uint8Array(readFileSync(join(spec, 'tokenizer.model'))),
    tokenizerConfig: JSON.parse(readFileSync(join(spec, 'tokenizer_config.json'), 'utf8')),
  });
  return { name: `${spec} (${tok.vocabSize} ids)`, table: TokenTable.of(tok), stops: tok.stopTokenIds, encode: (t) => tok.encode(t, { addSpecialTokens: false }) };
}

let files = readdirSync(data).filter((f) => f.endsWith('.json')).sort();
if (args.has('limit')) files = files.slice(0, Number(args.get('limit')));
if (args.has('every')) files = files.filter((_, i) => i % Number(args.get('every')) === 0); // a spread sample
if (args.has('sample')) {
  // A random sample (seeded: the same files for the same --seed), in random order.
  const rng = new Rng(Number(args.get('seed') ?? 1));
  for (let i = files.length - 1; i > 0; i--) {
    const j = Math.floor(rng.uniform() * (i + 1));
    [files[i], files[j]] = [files[j]!, files[i]!];
  }
  files = files.slice(0, Number(args.get('sample')));
}
if (compileOnly) {
  const t1 = performance.now();
  const out: CompileResult[] = files.map((f) => compileFile(f, readFileSync(join(data, f), 'utf8')));
  const ok = out.filter((r) => r.bucket === null).length;
  console.log(`${files.length} schemas, ${ok} compile, ${files.length - ok} compile errors, ${((performance.now() - t1) / 1000).toFixed(1)} s`);
  const disagree = out.filter((r) => r.validatorDisagrees.length > 0);
  console.log(`validator disagrees with MaskBench's instances on ${disagree.length} compiled schemas (valid refused: ${disagree.filter((r) => r.validatorDisagrees.some((d) => d.valid)).length}, invalid accepted: ${disagree.filter((r) => r.validatorDisagrees.some((d) => !d.valid)).length})`);
  for (const r of disagree.slice(0, Number(args.get('show') ?? 20))) console.log(`  ${r.file}: ${r.validatorDisagrees.map((d) => `#${d.test} ${d.valid ? 'valid refused' : 'invalid accepted'}`).join(', ')}`);
  console.log('\n| compile error | files |\n|:--|--:|');
  for (const [b, n] of bucketTable(out)) console.log(`| ${b} | ${n} |`);
  if (args.has('json')) writeFileSync(args.get('json')!, JSON.stringify({ schemas: files.length, compiled: ok, buckets: Object.fromEntries(bucketTable(out)), validator_disagrees: disagree.map((r) => r.file), errors: out.filter((r) => r.bucket !== null).map((r) => ({ file: r.file, bucket: r.bucket, detail: r.detail })) }, null, 1) + '\n');
  process.exit(0);
}
const t0 = performance.now();
const tok = await loadTokenizer(tokArg!);
console.log(`tokenizer ${tok.name}: table built in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
const whitespace = (args.get('whitespace') ?? 'any') as 'any' | 'pretty' | 'compact';
const results: FileResult[] = [];
const start = performance.now();
for (const [i, f] of files.entries()) {
  results.push(runFile(f, readFileSync(join(data, f), 'utf8'), tok, { whitespace }, Number(args.get('budget-ms') ?? 10000)));
  if ((i + 1) % 100 === 0) {
    console.error(`${i + 1}/${files.length} ${((performance.now() - start) / 1000).toFixed(0)} s`);
    // What is done so far, so a run cut short still reports (the files are in random order with --sample).
    if (args.has('json')) writeFileSync(args.get('json')!, JSON.stringify(summarize(results), null, 2) + '\n');
    if (args.has('details')) writeFileSync(args.get('details')!, JSON.stringify(results.map(({ masksUs, ...r }) => ({ ...r, masks: masksUs.length, maxMaskUs: Math.round(Math.max(0, ...masksUs)) })), null, 1) + '\n');
  }
}
const s = summarize(results);
const row = (k: string, v: unknown) => console.log(`| ${k.padEnd(20)} | ${String(v).padStart(10)} |`);
console.log(`\n| metric               |      value |\n|:---------------------|-----------:|`);
for (const k of ['schemas', 'passing', 'compile_error', 'validation_error', 'invalidation_error', 'timeout'] as const) row(k, s[k]);
for (const q of ['p50', 'p90', 'p99', 'max'] as const) row(`TBM ${q} (us)`, s.tbm_us[q]);
for (const q of ['p50', 'p90', 'p99', 'max'] as const) row(`TTFM ${q} (us)`, s.ttfm_us[q]);
console.log(`\n${results.reduce((n, r) => n + r.masksUs.length, 0)} masks, ${((performance.now() - start) / 1000).toFixed(1)} s`);
if (args.has('json')) writeFileSync(args.get('json')!, JSON.stringify(s, null, 2) + '\n');
if (args.has('details')) writeFileSync(args.get('details')!, JSON.stringify(results.map(({ masksUs, ...r }) => ({ ...r, masks: masksUs.length, maxMaskUs: Math.round(Math.max(0, ...masksUs)) })), null, 1) + '\n');
