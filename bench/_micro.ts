import { TokenTable } from '../src/sampling/token_table';
import { JsonGrammar } from '../src/sampling/json_grammar';
import { compileJsonSchema } from '../src/sampling/json_schema';
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
const table = new TokenTable(bytes) as any;
const schema = { type: 'object', properties: { a: { type: 'integer', minimum: 0, maximum: 1000 }, n: { type: 'number' }, b: { type: 'string' }, c: { type: 'string', maxLength: 50 }, d: { type: 'array', items: { type: 'string' } } } };
const g = JsonGrammar.schema(compileJsonSchema(schema, 'schema', { unlisted: 'open' }), { whitespace: 'any' });
const enc = new TextEncoder();
const popcnt = (x: number) => { let n = 0; while (x) { x &= x - 1; n++; } return n; };
for (const prefix of (process.env.P ? [process.env.P] : ['', '{', '{"a": 12', '{"n": 12', '{"a": 12, ', '{"a": 12, "', '{"a": 12, "b": "xy', '{"a": 12, "c": "xy', '{"d": [', '{"d": ["x", ', '{"a": 12, "x', '{"zz": 3, "b"'])) {
  const s = g.feedBytes(g.initial(), enc.encode(prefix));
  if (!s) { console.log('bad', prefix); continue; }
  let r: Uint32Array = new Uint32Array();
  const reps = Number(process.env.R ?? 20);
  for (let i = 0; i < 5; i++) r = table.compute(s, [128001]);
  const c0 = process.cpuUsage();
  for (let i = 0; i < reps; i++) r = table.compute(s, [128001]);
  const c1 = process.cpuUsage(c0);
  const dt = (c1.user + c1.system) / reps;
  console.log(JSON.stringify(prefix).padEnd(24), dt.toFixed(0).padStart(7), 'us', String(r.reduce((n: number, w: number) => n + popcnt(w), 0)).padStart(7), 'ids', s.stacks.length);
}
{
  const G = JsonGrammar.prototype as any;
  const of = G.feed;
  let n = 0, acc = 0;
  G.feed = function (s: any, b: number) { n++; const r = of.call(this, s, b); if (r) acc++; return r; };
  for (const prefix of ['', '{', '{"a": 12', '{"a": 12, "', '{"a": 12, "b": "xy', '{"d": [']) {
    const s = g.feedBytes(g.initial(), enc.encode(prefix))!;
    n = 0; acc = 0;
    table.compute(s, [128001]);
    console.log(JSON.stringify(prefix).padEnd(24), 'feeds', n, 'accepted', acc);
  }
}
