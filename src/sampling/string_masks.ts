// Masks inside a JSON string body without running the byte recognizer. A "string-safe" token
// (whole UTF-8 characters, no quote, backslash or control byte) read inside a string only adds
// characters: in a free string or an undeclared key it is always allowed; under length and
// pattern rules it is allowed when the character count fits and every pattern's automaton
// stays alive. These tokens are precomputed once per vocabulary (sorted by length, and in a
// code-point trie walked with the patterns' automaton over character classes, rules_automaton.ts,
// pruned where it dies); the other tokens (a quote, an escape, a partial character) go through
// string_tails.ts. The walk takes a whole subtree at once where the automaton cannot die in it:
// an immortal state, or one that survives as many characters of the classes below the node as
// the subtree's longest token has, in any order (a URI's path, an e-mail's local part, a
// run of hex digits: most tokens are then taken in a few hundred ranges).

import type { StringRules } from './json_schema';
import type { SFrame } from './json_frames';
import { classBit, rulesAutomaton, type RulesAutomaton } from './rules_automaton';
import { setBits } from './token_trie';

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

/** What a walk needs of the trie for one automaton: the class of each code point, and of each group the trie knows below a node. */
interface ClassView {
  /** cls[k]: the class of the trie's k-th distinct code point. */
  cls: Int32Array;
  /** byteBits[k * 256 + v]: class bits (classBit) of the ASCII characters 8k + i for the bits i set in v. */
  byteBits: Int32Array;
  /** groupBits[g]: class bits of the trie's non-ASCII code points in group g (wideGroup). */
  groupBits: Int32Array;
  /** Allowed ids as [lo, hi) ranges of `dfs`, per automaton state and room. */
  cache: Map<number, Int32Array>;
}

/**
 * Non-ASCII code points in 32 groups, so that a node can record which occur below it whatever
 * the rules: the white space and line ends patterns single out (\s, .) in group 0, the rest by
 * script. A group stands for all of its code points' classes (a pattern splitting one only
 * makes the walk look closer).
 */
const GROUP_STARTS = [0x80, 0x100, 0x250, 0x370, 0x400, 0x530, 0x600, 0x700, 0x900, 0xe00, 0x1100, 0x2000, 0x2070, 0x2100, 0x2200, 0x2300, 0x2500, 0x2600, 0x2800, 0x3000, 0x3040, 0x3100, 0x4e00, 0xa000, 0xac00, 0xd800, 0xff00, 0x10000, 0x1f000, 0x110000];
const SPECIAL = new Set([0x85, 0xa0, 0x1680, 0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200a, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000, 0xfeff]);
function wideGroup(cp: number): number {
  if (SPECIAL.has(cp)) return 0;
  let g = 0;
  while (GROUP_STARTS[g + 1]! <= cp) g++;
  return g + 1;
}

/** A growable list of [lo, hi) ranges, adjacent ones merged. */
class Ranges {
  buf = new Int32Array(64);
  n = 0;
  add(lo: number, hi: number): void {
    if (lo >= hi) return;
    if (this.n > 0 && this.buf[this.n - 1] === lo) {
      this.buf[this.n - 1] = hi;
      return;
    }
    if (this.n + 2 > this.buf.length) {
      const b = new Int32Array(this.buf.length * 2);
      b.set(this.buf);
      this.buf = b;
    }
    this.buf[this.n++] = lo;
    this.buf[this.n++] = hi;
  }
}

export class StringMasks {
  /** Every string-safe id, ascending by character count. */
  readonly all: Uint32Array;
  /** byChars[n]: how many of `all` have at most n characters (n up to the longest). */
  private readonly upTo: Int32Array;
  /**
   * A trie over the safe tokens' code points, flat: node n's edges are e in first[n] ..
   * first[n + 1] - 1, along code point cps[cpOf[e]] to node to[e] (a child's number is above its parent's).
   */
  private readonly first: Int32Array;
  private readonly cpOf: Int32Array;
  private readonly to: Int32Array;
  /** The distinct code points of the tokens. */
  private readonly cps: Int32Array;
  /** The ids in a preorder walk of the trie: those ending at a node are dfs[lo] .. dfs[mid - 1], its subtree's up to dfs[hi - 1]. */
  private readonly dfs: Uint32Array;
  private readonly lo: Int32Array;
  private readonly mid: Int32Array;
  private readonly hi: Int32Array;
  /** Most characters below a node (its subtree's longest token, past the node). */
  private readonly deep: Int32Array;
  /**
   * The characters strictly below a node whatever the rules: ascii[4 * node + w] bit i for the
   * ASCII character 32w + i, wide[node] bit g for a code point of wideGroup g.
   */
  private readonly ascii: Int32Array;
  private readonly wide: Int32Array;
  private readonly views = new WeakMap<RulesAutomaton, ClassView>();

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
    // A trie of maps first, then laid out flat.
    const children: Map<number, number>[] = [new Map()];
    const ends: number[][] = [[]];
    const cpIndex = new Map<number, number>();
    for (const t of safe) {
      let node = 0;
      for (const cp of t.cps) {
        let next = children[node]!.get(cp);
        if (next === undefined) {
          next = children.length;
          children.push(new Map());
          ends.push([]);
          children[node]!.set(cp, next);
          if (!cpIndex.has(cp)) cpIndex.set(cp, cpIndex.size);
        }
        node = next;
      }
      ends[node]!.push(t.id);
    }
    const n = children.length;
    this.cps = Int32Array.from(cpIndex.keys());
    this.first = new Int32Array(n + 1);
    this.cpOf = new Int32Array(n - 1);
    this.to = new Int32Array(n - 1);
    let e = 0;
    for (let node = 0; node < n; node++) {
      this.first[node] = e;
      for (const [cp, child] of children[node]!) {
        this.cpOf[e] = cpIndex.get(cp)!;
        this.to[e++] = child;
      }
    }
    this.first[n] = e;
    this.lo = new Int32Array(n);
    this.mid = new Int32Array(n);
    this.hi = new Int32Array(n);
    this.deep = new Int32Array(n);
    this.dfs = new Uint32Array(safe.length);
    let k = 0;
    // Iterative preorder, children in edge order (tokens can be long: no recursion depth to worry about).
    const stack: number[] = [0];
    while (stack.length) {
      const x = stack.pop()!;
      if (x < 0) {
        const node = ~x;
        this.hi[node] = k;
        let d = 0;
        for (let e = this.first[node]!; e < this.first[node + 1]!; e++) d = Math.max(d, this.deep[this.to[e]!]! + 1);
        this.deep[node] = d;
        continue;
      }
      this.lo[x] = k;
      for (const id of ends[x]!) this.dfs[k++] = id;
      this.mid[x] = k;
      stack.push(~x);
      for (let e = this.first[x + 1]! - 1; e >= this.first[x]!; e--) stack.push(this.to[e]!);
    }
    this.ascii = new Int32Array(4 * n);
    this.wide = new Int32Array(n);
    const groupOf = Int32Array.from(this.cps, (cp) => (cp < 128 ? -1 : wideGroup(cp)));
    // Children are numbered above their parents: one pass from the last node up.
    for (let node = n - 1; node >= 0; node--) {
      for (let e = this.first[node]!, last = this.first[node + 1]!; e < last; e++) {
        const child = this.to[e]!, k = this.cpOf[e]!, cp = this.cps[k]!;
        for (let w = 0; w < 4; w++) this.ascii[4 * node + w]! |= this.ascii[4 * child + w]!;
        this.wide[node]! |= this.wide[child]!;
        if (cp < 128) this.ascii[4 * node + (cp >> 5)]! |= 1 << (cp & 31);
        else this.wide[node]! |= 1 << groupOf[k]!;
      }
    }
  }

  /** Safe ids with at most n characters. */
  private within(n: number): Uint32Array {
    if (n < 0) return this.all.subarray(0, 0);
    return n >= this.upTo.length ? this.all : this.all.subarray(0, this.upTo[n]!);
  }

  /** Sets the bits of the safe ids a string frame allows in `mask` (a bitmask of the constructor's `words` words); the frame reads plain characters (no escape or partial character in progress). */
  addTo(f: SFrame, mask: Uint32Array): void {
    const r = f.r;
    const room = r ? r.maxLength - f.len : Infinity;
    if (r && !r.patterns.every((p, i) => p.immortal(f.rs![i]!))) {
      const ranges = this.rulesRanges(rulesAutomaton(r.patterns), f.rs!, room);
      const dfs = this.dfs;
      let total = 0;
      for (let i = 0; i < ranges.length; i += 2) total += ranges[i + 1]! - ranges[i]!;
      if (total * 2 > dfs.length) {
        // Most of the safe ids (ranges ascend, as the walk follows the preorder): all, less the gaps.
        const m = (this.scratch ??= new Uint32Array(this.words));
        m.set((this.allMask ??= bitsOf(this.all, this.words)));
        let from = 0;
        for (let i = 0; i <= ranges.length; i += 2) {
          const to = i < ranges.length ? ranges[i]! : dfs.length;
          for (let j = from; j < to; j++) m[dfs[j]! >>> 5]! &= ~(1 << (dfs[j]! & 31));
          if (i < ranges.length) from = ranges[i + 1]!;
        }
        for (let w = 0; w < m.length; w++) mask[w]! |= m[w]!;
        return;
      }
      for (let i = 0; i < ranges.length; i += 2) {
        for (let j = ranges[i]!, end = ranges[i + 1]!; j < end; j++) {
          const id = dfs[j]!;
          mask[id >>> 5]! |= 1 << (id & 31);
        }
      }
      return;
    }
    const ids = this.within(room);
    if (ids.length * 2 > this.all.length) {
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

  /** The class view of an automaton (built once per automaton and table). */
  private view(a: RulesAutomaton): ClassView {
    let v = this.views.get(a);
    if (v) return v;
    const cls = new Int32Array(this.cps.length);
    const groupBits = new Int32Array(32);
    for (let k = 0; k < cls.length; k++) {
      const cp = this.cps[k]!;
      cls[k] = a.classOf(cp);
      if (cp >= 128) groupBits[wideGroup(cp)]! |= classBit(cls[k]!);
    }
    const byteBits = new Int32Array(16 * 256);
    for (let k = 0; k < 16; k++) {
      for (let x = 1; x < 256; x++) {
        const low = 31 - Math.clz32(x & -x);
        byteBits[k * 256 + x] = byteBits[k * 256 + (x & (x - 1))]! | classBit(a.classOf(8 * k + low));
      }
    }
    v = { cls, byteBits, groupBits, cache: new Map() };
    this.views.set(a, v);
    return v;
  }

  /** Whether state s survives every text below `node` (at most `deep` characters). */
  private survives(node: number, s: number, deep: number, a: RulesAutomaton, v: ClassView): boolean {
    const bits = this.below(node, v);
    // A character below that kills s at once: no need to look further.
    if ((bits & ~a.liveMask(s)) !== 0) return false;
    return a.safeDepth(s, bits, deep) >= deep;
  }

  /** Class bits of every character strictly below `node` (more, where a wide group holds several classes). */
  private below(node: number, v: ClassView): number {
    const t = v.byteBits;
    let m = 0;
    for (let w = 0; w < 4; w++) {
      const x = this.ascii[4 * node + w]!;
      if (x === 0) continue;
      const k = w * 4 * 256;
      m |= t[k + (x & 255)]! | t[k + 256 + ((x >>> 8) & 255)]! | t[k + 512 + ((x >>> 16) & 255)]! | t[k + 768 + (x >>> 24)]!;
    }
    let g = this.wide[node]!;
    while (g !== 0) {
      const low = g & -g;
      m |= v.groupBits[31 - Math.clz32(low)]!;
      g ^= low;
    }
    return m;
  }

  /** The allowed ids under rules as ranges of dfs, remembered per automaton state and room. */
  private rulesRanges(a: RulesAutomaton, rs: readonly number[], room: number): Int32Array {
    const v = this.view(a);
    const s = a.state(rs);
    // Past the longest token the room no longer matters.
    const cap = this.deep[0]! + 1;
    const key = s * (cap + 1) + Math.min(room, cap);
    let hit = v.cache.get(key);
    if (!hit) {
      const out = new Ranges();
      if (room > 0 && s >= 0) this.walk(0, s, Math.min(room, cap), a, v, out);
      hit = out.buf.slice(0, out.n);
      v.cache.set(key, hit);
      if (v.cache.size > CACHE_PER_RULES) v.cache.delete(v.cache.keys().next().value!);
    }
    return hit;
  }

  /** The ranges below `node` (read into state s, `room` >= 1 characters left) the automaton allows. */
  private walk(node: number, s: number, room: number, a: RulesAutomaton, v: ClassView, out: Ranges): void {
    const cls = v.cls;
    for (let e = this.first[node]!, last = this.first[node + 1]!; e < last; e++) {
      const next = a.step(s, cls[this.cpOf[e]!]!);
      if (next < 0) continue;
      const child = this.to[e]!;
      const deep = this.deep[child]!;
      if (deep < room && (deep === 0 || a.immortal(next) || this.survives(child, next, deep, a, v))) {
        // Nothing below can die or run out of room: the whole subtree.
        out.add(this.lo[child]!, this.hi[child]!);
        continue;
      }
      out.add(this.lo[child]!, this.mid[child]!);
      if (room > 1) this.walk(child, next, room - 1, a, v, out);
    }
  }
}

function bitsOf(ids: Uint32Array, words: number): Uint32Array {
  const m = new Uint32Array(words);
  setBits(m, ids);
  return m;
}
