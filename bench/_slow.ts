import { readFileSync } from 'node:fs';
import { TokenTable } from '../src/sampling/token_table';
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
P.compute = function (state: any, stops: any) {
  const c0 = process.cpuUsage();
  const r = orig.call(this, state, stops);
  const c = process.cpuUsage(c0);
  const dt = (c.user + c.system) / 1000;
  if (dt > 5) console.log(dt.toFixed(1), 'ms', state.stacks.length, 'readings ws', state.ws, state.stacks.slice(0, 3).map((st: any[]) => st.map((f: any) => f.k + (f.ph ?? '') + (f.k === 'S' ? (f.r ? 'r' : '') + (f.key ? 'k' : '') + f.esc + f.need : '')).join('/')).join(' | '));
  return r;
};
for (const f of process.argv.slice(2)) { console.log('==', f); const r = runFile(f, readFileSync('/tmp/maskbench/data/' + f, 'utf8'), tok as any, { whitespace: 'any' }, 10000); console.log(r.outcome, r.masksUs.length); }
