// The bytes other than whitespace a state may read next, as a superset from the top frame of
// each reading (a value's first bytes, an object's or an array's punctuation): a byte outside it
// ends every reading, so the mask walk (token_table.ts) skips those trie edges without feeding them.

import { startValue, type Frame } from './json_frames';
import type { GrammarState } from './json_grammar';
import type { SchemaNode } from './json_schema';
import { setBits } from './token_trie';

/** A set of bytes: bit b & 31 of word b >>> 5. */
export type ByteSet = Uint32Array;

function byteSet(chars: string): ByteSet {
  const out = new Uint32Array(8);
  setBits(out, Array.from(chars, (c) => c.charCodeAt(0)));
  return out;
}

/** The first byte of any JSON value (an enum's values are JSON texts too). */
const VALUE_START = byteSet('{["-0123456789tfn');
const ARRAY_START = byteSet(']{["-0123456789tfn');
/** An object after '{', expecting ':', after a value, after ','. */
const OBJECT = [byteSet('"}'), byteSet(':'), byteSet(',}'), byteSet('"')];
/** An array after a value. */
const ARRAY_NEXT = byteSet(',]');

export const inByteSet = (set: ByteSet, b: number) => (set[b >>> 5]! & (1 << (b & 31))) !== 0;

/**
 * A superset of the bytes other than whitespace that `state` may read, or null where a
 * reading's top is not a value, an object or an array expecting its next token.
 */
export function nextBytes(state: GrammarState): ByteSet | null {
  const st = state.stacks;
  if (st.length === 1) return frameBytes(st[0]![st[0]!.length - 1]);
  if (st.length === 0) return null;
  const out = new Uint32Array(8);
  for (const s of st) {
    const bits = frameBytes(s[s.length - 1]);
    if (!bits) return null;
    for (let w = 0; w < 8; w++) out[w]! |= bits[w]!;
  }
  return out;
}

function frameBytes(f: Frame | undefined): ByteSet | null {
  switch (f?.k) {
    case 'V': return startBytes(f.s);
    case 'O': return f.ph <= 3 ? OBJECT[f.ph]! : null;
    case 'A': return f.ph === 0 ? ARRAY_START : f.ph === 1 ? ARRAY_NEXT : f.ph === 2 ? VALUE_START : null;
    default: return null;
  }
}

/** The bytes a value of schema `s` may start with (startValue() at any depth short of the deepest), per schema. */
function startBytes(s: SchemaNode): ByteSet {
  let bits = starts.get(s);
  if (!bits) {
    const bytes: number[] = [];
    for (let b = 0; b < 256; b++) if (startValue(s, b, false, true, 0).length > 0) bytes.push(b);
    bits = new Uint32Array(8);
    setBits(bits, bytes);
    starts.set(s, bits);
  }
  return bits;
}
const starts = new WeakMap<SchemaNode, ByteSet>();
