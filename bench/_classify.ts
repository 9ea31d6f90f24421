// temp: which states cost the most mask time
import { readdirSync, readFileSync } from 'node:fs';
import { TokenTable } from '../src/sampling/token_table';
import { Rng } from '../src/sampling/rng';
import { runFile } from './maskbench';
import llama from 'llama3-tokenizer-js';
const toByte = new Map<string, number>();
const printable = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
let extra = 0;
for (let b = 0; b < 256; b++) toByte.set(String.fromCodePoint(printable(b) ? b : 256 + extra++), b);
const bytes = (llama as any).vocabById.map((piece: string, id: number) => {
  if (id >= 128000) return null;
  const out = [...piece].map((c) => toByte.get(c));
  return out.length && out.every((x) => x !== undefined) ? Uint8Array.from(out as number[]) : null;
});
const table = new TokenTable(bytes);
const tok = { name: 'l3', table, stops: [128001, 128009], encode: (t: string) => (llama as any).encode(t, { bos: false, eos: false }) };
const P = TokenTable.prototype as any;
const orig = P.compute;
const agg = new Map<string, { n: number; t: number; max: number }>();
P.compute = function (state: any, stops: any) {
  const a = performance.now();
  const r = orig.call(this, state, stops);
  const dt = (performance.now() - a) * 1000;
  const sig = state.stacks.length + ':' + state.stacks.map((st: any[]) => { const f = st[st.length - 1]; if (!f) return 'END'; return f.k + (f.ph ?? '') + (f.k === 'S' ? (f.r ? 'r' : '') + (f.key ? 'k' : '') + (f.esc || f.need ? 'p' : '') : '') + (f.k === 'V' ? f.s.kind : ''); }).sort().join(',') + ' ws' + Math.min(state.ws, 1);
  const e = agg.get(sig) ?? { n: 0, t: 0, max: 0, slow: 0 } as any;
  if (dt > 1000) e.slow++;
  e.n++; e.t += dt; e.max = Math.max(e.max, dt);
  agg.set(sig, e);
  return r;
};
const data = '/tmp/maskbench/data';
let files = readdirSync(data).filter((f) => f.endsWith('.json')).sort();
const rng = new Rng(Number(process.argv[3] ?? 2));
for (let i = files.length - 1; i > 0; i--) { const j = Math.floor(rng.uniform() * (i + 1)); [files[i], files[j]] = [files[j]!, files[i]!]; }
files = files.slice(0, Number(process.argv[2] ?? 40));
for (const f of files) runFile(f, readFileSync(data + '/' + f, 'utf8'), tok as any, { whitespace: 'any' }, 3000);
const rows = [...agg].sort((a, b) => b[1].t - a[1].t).slice(0, 30);
for (const [k, e] of rows) console.log((e.t / 1000).toFixed(0).padStart(6), 'ms', String(e.n).padStart(6), 'avg', (e.t / e.n).toFixed(0).padStart(6), 'max', e.max.toFixed(0).padStart(7), 'slow', String((e as any).slow).padStart(5), k);
