import { TokenTable } from '../src/sampling/token_table';
import { TokenTrie } from '../src/sampling/token_trie';
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
let t0 = performance.now();
const tr = new TokenTrie(bytes);
console.log('trie', (performance.now() - t0).toFixed(0), 'ms', tr.lo.length, 'nodes');
t0 = performance.now();
new TokenTable(bytes);
console.log('table', (performance.now() - t0).toFixed(0), 'ms');
