import llama from 'llama3-tokenizer-js';
import { stringSafeChars } from '../src/sampling/string_masks';
const toByte = new Map<string, number>();
const printable = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
let extra = 0;
for (let b = 0; b < 256; b++) toByte.set(String.fromCodePoint(printable(b) ? b : 256 + extra++), b);
const bytes = (llama as any).vocabById.map((piece: string, id: number) => { if (id >= 128000) return null; const out = [...piece].map((c) => toByte.get(c)); return out.length && out.every((x) => x !== undefined) ? Uint8Array.from(out as number[]) : null; });
let unsafe = 0, quote = 0, bs = 0, ctl = 0, partial = 0, startsQ = 0, quoteFirstIdx: Record<number, number> = {};
for (const b of bytes) { if (!b || stringSafeChars(b)) continue; unsafe++; const q = b.indexOf(0x22); if (q >= 0) { quote++; quoteFirstIdx[q] = (quoteFirstIdx[q] ?? 0) + 1; } else if (b.includes(0x5c)) bs++; else if (b.some((x: number) => x < 0x20)) ctl++; else partial++; }
console.log({ unsafe, quote, bs, ctl, partial, quoteFirstIdx: Object.entries(quoteFirstIdx).slice(0, 8) });
