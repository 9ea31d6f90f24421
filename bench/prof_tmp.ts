import { readdirSync, readFileSync } from 'node:fs';
import { compileJsonSchema } from '../src/sampling/json_schema';
import { JsonGrammar } from '../src/sampling/json_grammar';
import { TokenTable } from '../src/sampling/token_table';
import { ErnieTokenizer } from '../src/text/tokenizer';
const spec = '/work/wt-grammar/test/fixtures/ernie-tokenizer-tiny';
const tok = ErnieTokenizer.fromFiles({ tokenizerModel: new Uint8Array(readFileSync(spec + '/tokenizer.model')), tokenizerConfig: JSON.parse(readFileSync(spec + '/tokenizer_config.json', 'utf8')) });
import llama from 'llama3-tokenizer-js';
let table = TokenTable.of(tok); let stops = tok.stopTokenIds; let enc = (t: string) => tok.encode(t, { addSpecialTokens: false });
const CHECK = process.env.CHECK === '1';
if (process.env.L3) {
  const toByte = new Map<string, number>();
  const printable = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  let extra = 0;
  for (let b = 0; b < 256; b++) toByte.set(String.fromCodePoint(printable(b) ? b : 256 + extra++), b);
  const bytes = (llama as any).vocabById.map((piece: string, id: number) => { if (id >= 128000) return null; const out = [...piece].map((c) => toByte.get(c)); return out.length && out.every((x) => x !== undefined) ? Uint8Array.from(out as number[]) : null; });
  const t0 = performance.now(); table = new TokenTable(bytes); console.log('table', performance.now() - t0); stops = [128001, 128009]; enc = (t) => (llama as any).encode(t, { bos: false, eos: false });
}
let checked = 0, mismatch = 0;
const all: number[] = [];
const dir = '/tmp/maskbench/data/';
const files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort().filter((_, i) => i % 25 === 0).slice(Number(process.argv[2] ?? 0), Number(process.argv[3] ?? 60));
const buckets = new Map<string, { n: number; us: number }>();
function desc(s: any): string {
  const tops = s.stacks.map((st: any) => { const f = st[st.length - 1]; if (!f) return 'end'; return f.k + (f.k === 'S' ? (f.r ? (f.r.patterns.length ? 'pat' : 'len') : '') + (f.key ? 'key' : '') + (f.esc ? 'esc' : '') + (f.need ? 'utf' : '') : f.k === 'O' ? f.ph : f.k === 'N' ? (f.r ? 'r' : '') : ''); });
  return `n=${s.stacks.length > 3 ? '4+' : s.stacks.length} ` + [...new Set(tops)].sort().join(',');
}
for (const f of files) {
  const doc = JSON.parse(readFileSync(dir + f, 'utf8'));
  let g; try { g = JsonGrammar.schema(compileJsonSchema(doc.schema, 'schema', { unlisted: 'open' }), { whitespace: 'any' }); } catch { continue; }
  const t0 = performance.now();
  outer: for (const t of doc.tests) {
    const ids = enc(JSON.stringify(t.data, null, 1).replace(/\n */g, ' '));
    let s = g.initial();
    for (const id of ids) {
      if (performance.now() - t0 > Number(process.env.BUDGET ?? 1500)) { console.log('TIMEOUT', f); break outer; }
      const a = process.cpuUsage();
      const m = table.allowedTokens(s, stops);
      const c = process.cpuUsage(a); const us = c.user + c.system; all.push(us);
      if (CHECK) { const want = new Set<number>(); for (let j = 0; j < table.bytes.length; j++) if (table.advance(s, j)) want.add(j); if (g.canEnd(s)) for (const x of stops) want.add(x); const got = new Set(m); checked++;
        if (got.size !== m.length || want.size !== got.size || [...want].some((x) => !got.has(x))) { mismatch++; if (mismatch < 5) console.log('MISMATCH', f, desc(s), 'want', want.size, 'got', got.size, m.length, [...want].filter((x) => !got.has(x)).slice(0, 5), [...got].filter((x) => !want.has(x)).slice(0, 5)); } }
      const d = desc(s);
      const b = buckets.get(d) ?? { n: 0, us: 0 }; b.n++; b.us += us; buckets.set(d, b);
      const nx = table.advance(s, id); if (!nx) break; s = nx;
    }
  }
}
all.sort((a, b) => a - b); const q = (p: number) => all[Math.floor(p * all.length)]; console.log('masks', all.length, 'p50', q(0.5), 'p90', q(0.9), 'p99', q(0.99), 'max', all[all.length - 1], 'checked', checked, 'mismatch', mismatch);
console.log([...buckets].sort((a, b) => b[1].us - a[1].us).slice(0, 25).map(([k, v]) => `${k.padEnd(40)} n=${v.n} total=${(v.us / 1000).toFixed(0)}ms avg=${(v.us / v.n).toFixed(0)}us`).join('\n'));
