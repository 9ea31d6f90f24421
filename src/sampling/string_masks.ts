// Masks inside a JSON string body without running the byte recognizer. A "string-safe" token
// (whole UTF-8 characters, no quote, backslash or control byte) read inside a string only adds
// characters: in a free string or an undeclared key it is always allowed; under length and
// pattern rules it is allowed when the character count fits and every pattern's automaton
// stays alive. These tokens are precomputed once per vocabulary (sorted by length, and in a
// code-point trie walked with the pattern automata, pruned where one dies); the other tokens
// (a quote, an escape, a partial character) still go through the recognizer (token_table.ts).

import type { StringRules } from './json_schema';
import type { SFrame } from './json_frames';

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** Code points of a token that stays inside a string, or null when it could end or break one. */
export function stringSafeChars(b: Uint8Array): number[] | null {
  for (const x of b) if (x < 0x20 || x === 0x22 || x === 0x5c) return null;
  let text: string;
  try {
    text = strictUtf8.decode(b);
  } catch {
    return null;
  }
  return Array.from(text, (c) => c.codePointAt(0)!);
}

/** Masks cached per rules; past this many per rules the oldest go. */
const CACHE_PER_RULES = 256;

export class StringMasks {
  /** Every string-safe id, ascending by character count. */
  readonly all: Uint32Array;
  /** byChars[n]: how many of `all` have at most n characters (n up to the longest). */
  private readonly upTo: Int32Array;
  /** A trie over the safe tokens' code points: children[node] cp -> node, ids ending there. */
  private readonly children: Map<number, number>[] = [new Map()];
  private readonly ends: number[][] = [[]];
  /** The ids in a preorder walk of the trie: node's subtree is dfs[lo[node]] .. dfs[hi[node] - 1]. */
  private readonly dfs: Uint32Array;
  private readonly lo: Int32Array;
  private readonly hi: Int32Array;
  /** Most characters below a node (its subtree's longest token, past the node). */
  private readonly deep: Int32Array;
  private readonly cache = new WeakMap<StringRules, Map<string, Uint32Array>>();

  /** `all` as a bitmask of `words` words (built when first needed). */
  private allMask: Uint32Array | null = null;

  constructor(safe: { id: number; cps: number[] }[], private readonly words = 0) {
    const sorted = safe.slice().sort((a, b) => a.cps.length - b.cps.length || a.id - b.id);
    this.all = Uint32Array.from(sorted, (t) => t.id);
    const longest = sorted.length ? sorted[sorted.length - 1]!.cps.length : 0;
    this.upTo = new Int32Array(longest + 1);
    let j = 0;
    for (let n = 0; n <= longest; n++) {
      while (j < sorted.length && sorted[j]!.cps.length <= n) j++;
      this.upTo[n] = j;
    }
    for (const t of safe) {
      let node = 0;
      for (const cp of t.cps) {
        let next = this.children[node]!.get(cp);
        if (next === undefined) {
          next = this.children.length;
          this.children.push(new Map());
          this.ends.push([]);
          this.children[node]!.set(cp, next);
        }
        node = next;
      }
      this.ends[node]!.push(t.id);
    }
    const n = this.children.length;
    this.lo = new Int32Array(n);
    this.hi = new Int32Array(n);
    this.deep = new Int32Array(n);
    this.dfs = new Uint32Array(safe.length);
    let k = 0;
    // Iterative preorder (tokens can be long: no recursion depth to worry about).
    const stack: [number, boolean][] = [[0, false]];
    while (stack.length) {
      const [node, done] = stack.pop()!;
      if (done) {
        this.hi[node] = k;
        let d = 0;
        for (const c of this.children[node]!.values()) d = Math.max(d, this.deep[c]! + 1);
        this.deep[node] = d;
        continue;
      }
      this.lo[node] = k;
      for (const id of this.ends[node]!) this.dfs[k++] = id;
      stack.push([node, true]);
      for (const c of this.children[node]!.values()) stack.push([c, false]);
    }
  }

  /** Safe ids with at most n characters. */
  private within(n: number): Uint32Array {
    if (n < 0) return this.all.subarray(0, 0);
    return n >= this.upTo.length ? this.all : this.all.subarray(0, this.upTo[n]!);
  }

  /**
   * The safe ids a string frame allows (the frame reads plain characters: no escape or
   * partial character in progress). Read-only: shared between calls.
   */
  forFrame(f: SFrame): Uint32Array {
    const r = f.r;
    if (!r) return this.all;
    const room = r.maxLength - f.len;
    if (r.patterns.every((p, i) => p.immortal(f.rs![i]!))) return this.within(room);
    let byState = this.cache.get(r);
    if (!byState) this.cache.set(r, (byState = new Map()));
    // Only a finite maximum makes the length part of what is allowed.
    const key = f.rs!.join(',') + (Number.isFinite(room) ? '|' + room : '');
    let hit = byState.get(key);
    if (!hit) {
      const out: number[] = [];
      this.walk(0, r, f.rs!, room, out);
      hit = Uint32Array.from(out);
      byState.set(key, hit);
      if (byState.size > CACHE_PER_RULES) byState.delete(byState.keys().next().value!);
    }
    return hit;
  }

  /** Sets the bits of forFrame(f) in `mask` (a bitmask of the constructor's `words` words). */
  addTo(f: SFrame, mask: Uint32Array): void {
    const ids = this.forFrame(f);
    const prefix = ids.buffer === this.all.buffer && ids.byteOffset === this.all.byteOffset;
    if (prefix && ids.length * 2 > this.all.length) {
      // Most of the safe ids (all, or all up to a length): their mask, less the longer ones.
      let m = (this.allMask ??= bitsOf(this.all, this.words));
      if (ids.length < this.all.length) {
        const scratch = (this.scratch ??= new Uint32Array(this.words));
        scratch.set(m);
        const rest = this.all.subarray(ids.length);
        for (let i = 0; i < rest.length; i++) scratch[rest[i]! >>> 5]! &= ~(1 << (rest[i]! & 31));
        m = scratch;
      }
      for (let w = 0; w < m.length; w++) mask[w]! |= m[w]!;
      return;
    }
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      mask[id >>> 5]! |= 1 << (id & 31);
    }
  }

  private scratch: Uint32Array | null = null;

  private walk(node: number, r: StringRules, rs: readonly number[], room: number, out: number[]): void {
    if (room <= 0) return;
    const pats = r.patterns;
    for (const [cp, child] of this.children[node]!) {
      let next: number[] | null = [];
      for (let i = 0; i < pats.length; i++) {
        const s = pats[i]!.step(rs[i]!, cp);
        if (s < 0) {
          next = null;
          break;
        }
        next.push(s);
      }
      if (!next) continue;
      if (this.deep[child]! < room && pats.every((p, i) => p.immortal(next![i]!))) {
        // Nothing below can die or run out of room: the whole subtree.
        for (let i = this.lo[child]!; i < this.hi[child]!; i++) out.push(this.dfs[i]!);
        continue;
      }
      for (const id of this.ends[child]!) out.push(id);
      this.walk(child, r, next, room - 1, out);
    }
  }
}

function bitsOf(ids: Uint32Array, words: number): Uint32Array {
  const m = new Uint32Array(words);
  for (let i = 0; i < ids.length; i++) m[ids[i]! >>> 5]! |= 1 << (ids[i]! & 31);
  return m;
}
