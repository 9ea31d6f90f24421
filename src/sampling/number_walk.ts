// The mask walk below a number (token_table.ts hands it every reading whose top is a number
// frame): the trie's digits, points and exponents are followed with the number's own phases
// (numberPhase) and, for bounded numbers, its value kept as a double (boundedStep, the rules
// the recognizer checks; mantissaFeasible for a prefix only an exponent brings inside; the
// exponent's bytes by canStillEnd on the text), with no frames or states made per byte. Where a byte ends the number,
// its container reads the byte (once per container and byte) and the token table walks on.

import { boundedStep, canStillEnd, finish, isWsByte, numberEnds, numberPhase, type Frame, type NFrame, type Stack } from './json_frames';
import type { GrammarState, JsonGrammar } from './json_grammar';
import { exponentOk, mantissaFeasible } from './json_number_exponent';
import { numberOk } from './json_schema';
import { stackKey } from './json_state_key';
import { inByteSet, nextBytes, type ByteSet } from './next_bytes';
import { setBits, setRange, type TokenTrie } from './token_trie';

/** Powers of ten that are exact doubles (10^0 .. 10^22). */
const POW10 = Array.from({ length: 23 }, (_, i) => Number('1e' + i));
/**
 * Digits whose value is at most this are exact doubles, and so is that value over an exact
 * power of ten (the quotient of exact doubles is rounded once, as Number() rounds the text).
 */
const EXACT = Number.MAX_SAFE_INTEGER;
/** Containers remembered per grammar (what each byte does after a number ends). */
const ENDS_MEMO = 256;

/**
 * In walk()'s `out`, in place of a child: the tokens that start with whitespace, read by the
 * container (with the state after it) where the number ends at the trie's root and the container
 * reads whitespace freely (TokenTable.walkAfterWhitespace).
 */
export const WHITESPACE_AFTER = -1;

/** What each byte does to a container after the number in it ended: undefined until asked. */
type AfterNumber = (GrammarState | null | undefined)[];

/** Below a node, for a number without bounds in one phase: the ids that stay inside it, and where it ends ([node, child, byte] triples). */
interface PlainNumber {
  ids: Uint32Array;
  ends: Int32Array;
}

export class NumberWalk {
  private readonly ends = new WeakMap<JsonGrammar, Map<string, AfterNumber>>();
  /** PlainNumber per node, phase and integer or not (the same whatever the number's container). */
  private readonly plain = new Map<number, PlainNumber>();
  /** The bytes from the root to the node being walked (path[d]: the byte at depth d + 1). */
  private readonly path: Uint8Array;
  // The reading being walked (walk() sets them).
  private mask: Uint32Array = new Uint32Array(0);
  private out: (number | GrammarState)[] = [];
  private stack: Stack = [];
  private f: NFrame | null = null;
  private grammar: JsonGrammar | null = null;
  private after: AfterNumber = [];
  /** The reading's container after the number ended (finish()). */
  private container: GrammarState | null = null;
  /** The bytes other than whitespace the container may read (null: any). */
  private may: ByteSet | null = null;
  /** The container reads whitespace freely; whether WHITESPACE_AFTER is listed already. */
  private freeWs = false;
  private wsListed = false;
  private startDepth = 0;

  constructor(private readonly trie: TokenTrie) {
    let deepest = 0;
    for (let n = 0; n < trie.depth.length; n++) deepest = Math.max(deepest, trie.depth[n]!);
    this.path = new Uint8Array(deepest + 1);
  }

  /**
   * The tokens below `node` for one reading whose top is a number, the text so far read into it
   * with no whitespace pending: sets in `mask` the ids that leave the reading inside the number,
   * and lists in `out` pairs (child, state) for the rest: a node the walk reaches in `state`,
   * read by the recognizer (after the number ended, past exact doubles, or an exponent rescue
   * too close to call), to walk on from (or WHITESPACE_AFTER).
   * False (nothing done) when the number's mantissa so far is past exact doubles: walk it with the recognizer.
   */
  walk(node: number, stack: Stack, g: JsonGrammar, mask: Uint32Array, out: (number | GrammarState)[]): boolean {
    const f = stack[stack.length - 1] as NFrame;
    let neg = false, m = 0, k = 0, dot = false;
    if (f.r) {
      for (let i = 0; i < f.txt.length && f.ph < 6; i++) {
        const c = f.txt.charCodeAt(i);
        if (c === 0x2d) neg = true;
        else if (c === 0x2e) dot = true;
        else {
          m = m * 10 + (c - 0x30);
          if (dot) k++;
        }
      }
      if (m > EXACT || k >= POW10.length) return false;
    }
    const up = stack.slice(0, -1) as Frame[];
    if (!finish(up, f, 0)) return false; // (a number's container always takes it)
    this.container = { stacks: [up], ws: 0, grammar: g };
    this.after = this.afterNumber(g, up);
    this.may = nextBytes(this.container);
    this.freeWs = g.freeWhitespace(this.container) !== null;
    this.wsListed = false;
    this.mask = mask;
    this.out = out;
    this.stack = stack;
    this.f = f;
    this.grammar = g;
    this.startDepth = this.trie.depth[node]!;
    if (f.r) this.below(node, f.ph, neg, m, k);
    else {
      const p = this.plainBelow(node, f.ph, f.int);
      setBits(mask, p.ids);
      for (let i = 0; i < p.ends.length; i += 3) this.end(p.ends[i]!, p.ends[i + 1]!, p.ends[i + 2]!);
    }
    return true;
  }

  private plainBelow(node: number, ph: number, int: boolean): PlainNumber {
    const key = node * 32 + ph * 2 + (int ? 1 : 0);
    let p = this.plain.get(key);
    if (!p) {
      const ids: number[] = [], ends: number[] = [];
      this.collect(node, ph, int, ids, ends);
      this.plain.set(key, (p = { ids: Uint32Array.from(ids), ends: Int32Array.from(ends) }));
    }
    return p;
  }

  /** PlainNumber's lists, below `node` in phase `ph`. */
  private collect(node: number, ph: number, int: boolean, ids: number[], ends: number[]): void {
    const t = this.trie;
    const mayEnd = numberEnds(ph, null, 0);
    for (let e = t.first[node]!, last = t.first[node + 1]!; e < last; e++) {
      const b = t.byte[e]!;
      const child = t.to[e]!;
      const next = numberPhase(ph, int, b);
      if (next !== 0) {
        for (let j = t.lo[child]!; j < t.mid[child]!; j++) ids.push(t.ids[j]!);
        if (t.end[child]! > t.mid[child]!) this.collect(child, next, int, ids, ends);
      } else if (mayEnd) ends.push(node, child, b);
    }
  }

  /** The container's remembered reads, by its key (the same after every number it holds). */
  private afterNumber(g: JsonGrammar, up: Stack): AfterNumber {
    let memo = this.ends.get(g);
    if (!memo) this.ends.set(g, (memo = new Map()));
    const key = stackKey(up);
    let after = memo.get(key);
    if (after) {
      memo.delete(key);
      memo.set(key, after);
      return after;
    }
    after = new Array<GrammarState | null | undefined>(256);
    memo.set(key, after);
    if (memo.size > ENDS_MEMO) memo.delete(memo.keys().next().value!);
    return after;
  }

  /** The edges below `node`, the number in phase `ph`; bounded: `neg`, the digits' value `m` and `k` digits after the point. */
  private below(node: number, ph: number, neg: boolean, m: number, k: number): void {
    const t = this.trie;
    const f = this.f!;
    const r = f.r;
    let ends = -1; // whether the number may end here: 1 / 0, -1 until needed
    for (let e = t.first[node]!, last = t.first[node + 1]!; e < last; e++) {
      const b = t.byte[e]!;
      const child = t.to[e]!;
      let next = numberPhase(ph, f.int, b);
      let m2 = m, k2 = k;
      if (next !== 0 && r) {
        if (next === 3 || next === 5) {
          m2 = m * 10 + (b - 0x30);
          if (next === 5) k2 = k + 1;
        }
        // Past exact doubles: the recognizer decides.
        if (m2 > EXACT || k2 >= POW10.length) {
          this.byRecognizer(node, ph, child, b);
          continue;
        }
        const ok = next >= 6
          // An exponent (its digits are few): canStillEnd on the text.
          ? canStillEnd(this.textTo(node) + String.fromCharCode(b), next, r, f.int)
          : next >= 4 && k2 >= r.maxFrac
          // All the digits allowed after the point are written: only zeros may follow, the value is fixed (canStillEnd).
          ? m2 % POW10[k2 - r.maxFrac]! === 0 && numberOk(neg ? -m2 / POW10[k2]! : m2 / POW10[k2]!, r)
          : boundedStep(next, neg, next >= 4 ? m2 / POW10[k2]! : m2, k2, r, f.int);
        if (!ok) {
          // Only an exponent may still bring the value inside (canStillEnd): decided here unless too close to call.
          const rescue = f.int || next === 1 || next >= 6 ? false : m2 === 0 ? null : mantissaFeasible(neg, m2, k2, r);
          if (rescue === null) {
            this.byRecognizer(node, ph, child, b);
            continue;
          }
          if (!rescue) next = 0;
        }
      }
      if (next !== 0) {
        setRange(this.mask, t.ids, t.lo[child]!, t.mid[child]!);
        if (t.end[child]! > t.mid[child]!) {
          this.path[t.depth[node]!] = b;
          this.below(child, next, neg, m2, k2);
        }
        continue;
      }
      // The number does not read b: if it may end here, its container does.
      if (ends < 0) {
        const v = ph === 5 ? m / POW10[k]! : m;
        ends = (r && ph === 8 ? exponentOk(this.textTo(node), r) : numberEnds(ph, r, neg ? -v : v)) ? 1 : 0;
      }
      if (ends === 1) this.end(node, child, b);
    }
  }

  /** The number ended below `node`: its container reads b, which leads to `child`. */
  private end(node: number, child: number, b: number): void {
    if (isWsByte(b)) {
      if (node === 0 && this.freeWs) {
        if (!this.wsListed) this.out.push(WHITESPACE_AFTER, this.container!);
        this.wsListed = true;
        return;
      }
    } else if (this.may && !inByteSet(this.may, b)) return;
    let s = this.after[b];
    if (s === undefined) s = this.after[b] = this.grammar!.feed(this.container!, b);
    if (s) this.out.push(child, s);
  }

  /** The bounded number's text at `node`: the reading's, then the trie's bytes down to it. */
  private textTo(node: number): string {
    let txt = this.f!.txt;
    for (let d = this.startDepth; d < this.trie.depth[node]!; d++) txt += String.fromCharCode(this.path[d]!);
    return txt;
  }

  /** Byte b read by the recognizer, from the reading's frame at `node` in phase `ph` (a bounded number past exact doubles, or too close to call). */
  private byRecognizer(node: number, ph: number, child: number, b: number): void {
    const f = this.f!;
    const stack = this.stack.slice(0, -1);
    stack.push({ ...f, ph, txt: this.textTo(node) });
    const s = this.grammar!.feed({ stacks: [stack], ws: 0, grammar: this.grammar! }, b);
    if (s) this.out.push(child, s);
  }
}
