// The token side of JSON-constrained decoding: every token's bytes in a trie, walked with the
// recognizer (json_grammar.ts) to find the ids that keep the text a valid prefix.

import type { ErnieTokenizer } from '../text/tokenizer';
import { applyStep, byteOf } from '../text/decoder';
import { stateKey, type GrammarState, type JsonGrammar } from './json_grammar';
import { accepting, isWsByte, stepLiteral, type Frame, type LFrame, type Stack } from './json_frames';
import { inByteSet, nextBytes } from './next_bytes';
import { NumberWalk, WHITESPACE_AFTER } from './number_walk';
import { StringMasks, stringSafeChars } from './string_masks';
import { splitStringToken, StringTails } from './string_tails';
import { setBits, setRange, TokenTrie } from './token_trie';

const utf8 = new TextEncoder();


/** What the token table needs from a tokenizer (ErnieTokenizer has it). */
type TokenSource = Pick<ErnieTokenizer, 'decodePlan' | 'idToToken' | 'isSpecial' | 'vocabSize'>;

/**
 * The tokens below a trie node split for a string body that reads what follows the node:
 * those adding whole characters only (string_masks.ts) and the others (string_tails.ts).
 */
interface BodyTables {
  strings: StringMasks;
  tails: StringTails;
}

/** A mask being computed (bit id & 31 of word id >>> 5), and what walk() has fed so far. */
interface Sink {
  mask: Uint32Array;
  /** What each byte other than whitespace does to a set of readings, per set (walk()). */
  fed: Map<readonly Stack[], (GrammarState | null)[]>;
  /** Inside a subtree() being remembered (the subtrees below it are not remembered on their own). */
  sub: boolean;
}

/** Below a node with at least this many tokens, a string body reading on uses the node's body tables. */
const BODY_MIN = 48;
/** Subtrees with at least this many tokens are remembered per state (subtree()). */
const SUBTREE_MIN = 128;
const SUBTREE_MEMO = 1024;

/**
 * Every token's bytes as they appear mid-text (computed once per tokenizer), in a trie.
 * Special tokens, unknown ids and tokens that decode to nothing are never allowed.
 * At the very start of a text the decoder may drop a leading space (Strip); the recognizer
 * reads it as whitespace, which JSON allows wherever a document can start.
 *
 * A mask walks the trie with the recognizer, sharing the work of common prefixes; where every
 * reading is inside a string body (or a literal), the tokens below are taken from tables built
 * once per trie node instead: a string's plain characters need no recognizer at all. Where every
 * reading is inside a number, number_walk.ts follows its digits without the recognizer; bytes
 * no reading can read (next_bytes.ts) are never fed.
 */
export class TokenTable {
  /** bytes[id], or null for ids a grammar never allows. */
  readonly bytes: (Uint8Array | null)[];
  /** Tokens that stay inside a string without ending it (no quote, backslash, control or partial character). */
  readonly stringSafe: Uint32Array;
  private readonly trie: TokenTrie;
  private readonly bodies = new Map<number, BodyTables>();
  /** Words in a mask. */
  private readonly words: number;

  /** A table over each id's bytes as it reads mid-text (null: never allowed). */
  constructor(bytes: (Uint8Array | null)[]) {
    this.bytes = bytes;
    this.trie = new TokenTrie(bytes);
    this.words = Math.ceil(bytes.length / 32);
    this.stringSafe = this.tables(0).strings.all;
  }

  /** The bytes of a tokenizer's ids. Special tokens, unknown ids and tokens that decode to nothing are null. */
  static tokenBytes(source: TokenSource, vocabSize = source.vocabSize): (Uint8Array | null)[] {
    const plan = source.decodePlan;
    if (plan.wholeText.length > 0) {
      throw new RangeError('JSON-constrained decoding needs a decoder whose output can be followed token by token');
    }
    const out: (Uint8Array | null)[] = [];
    for (let id = 0; id < vocabSize; id++) {
      const tok = source.idToToken(id);
      let b: Uint8Array | null = null;
      if (tok !== undefined && !source.isSpecial(id)) {
        // Index 1: the token as it reads in the middle of a text.
        const t = plan.before.reduce((s, step) => applyStep(step, s, 1), tok);
        const byte = plan.byteFallback ? byteOf(t) : -1;
        if (byte >= 0) b = Uint8Array.of(byte);
        else {
          const text = plan.after.reduce((s, step) => applyStep(step, s, 1), t);
          b = utf8.encode(plan.joiner === ' ' ? ' ' + text : text);
        }
        if (b.length === 0) b = null;
      }
      out.push(b);
    }
    return out;
  }

  private static cache = new WeakMap<object, Map<number, TokenTable>>();

  /** The table of a tokenizer, built on first use. */
  static of(source: TokenSource, vocabSize = source.vocabSize): TokenTable {
    let byVocab = TokenTable.cache.get(source);
    if (!byVocab) TokenTable.cache.set(source, (byVocab = new Map()));
    let t = byVocab.get(vocabSize);
    if (!t) byVocab.set(vocabSize, (t = new TokenTable(TokenTable.tokenBytes(source, vocabSize))));
    return t;
  }

  /** The state after a token, or null if the grammar refuses it. */
  advance(state: GrammarState, id: number): GrammarState | null {
    const b = this.bytes[id];
    return b ? state.grammar.feedBytes(state, b) : null;
  }

  /**
   * Ids that keep the text a valid prefix, plus `stopIds` when the document may end here, in
   * ascending order (the ids of allowedMask, and stop ids past the table). Remembered per mask;
   * treat the returned array as read-only.
   */
  allowedTokens(state: GrammarState, stopIds: readonly number[]): Uint32Array {
    const mask = this.allowedMask(state, stopIds);
    let ids = this.idsOf.get(mask);
    if (!ids) {
      ids = idsOf(mask);
      const past = this.canEnd(state) ? stopIds.filter((id, i) => id >= mask.length * 32 && stopIds.indexOf(id) === i) : [];
      if (past.length) ids = Uint32Array.from([...ids, ...past]);
      this.idsOf.set(mask, ids);
    }
    return ids;
  }

  /**
   * allowedTokens as a bitmask over the table's ids: bit id & 31 of word id >>> 5 (stop ids
   * past the table are left out). What a sampler needs, computed without listing the ids.
   * Results are remembered per grammar and state (a string or a number being written repeats
   * its state step after step); treat the returned array as read-only.
   */
  allowedMask(state: GrammarState, stopIds: readonly number[]): Uint32Array {
    const g = state.grammar;
    let memo = this.memo.get(g);
    if (!memo) this.memo.set(g, (memo = new Map()));
    const key = stateKey(state) + '|' + stopIds.join(',');
    const hit = memo.get(key);
    if (hit) {
      memo.delete(key); // keep the map in least-recently-used order
      memo.set(key, hit);
      return hit;
    }
    const result = this.compute(state, this.canEnd(state) ? stopIds : []);
    memo.set(key, result);
    if (memo.size > MEMO_SIZE) memo.delete(memo.keys().next().value!);
    return result;
  }

  private canEnd(state: GrammarState): boolean {
    return state.grammar.canEnd(state);
  }

  private readonly memo = new WeakMap<JsonGrammar, Map<string, Uint32Array>>();
  private readonly idsOf = new WeakMap<Uint32Array, Uint32Array>();

  private compute(state: GrammarState, stops: readonly number[]): Uint32Array {
    const g = state.grammar;
    const sink: Sink = { mask: new Uint32Array(this.words), fed: new Map(), sub: false };
    if (!g.isComplete(state)) {
      const free = g.freeWhitespace(state);
      if (inBodies(state)) this.body(0, state, sink);
      else if (inNumbers(state)) this.numbers(0, state, sink);
      else if (free !== null) this.walkAfterWhitespace(state, free, sink);
      else this.walk(0, state, sink);
    }
    for (const id of stops) if (id < this.words * 32) sink.mask[id >>> 5]! |= 1 << (id & 31);
    return sink.mask;
  }

  /** The tokens below `node` (the walk's bytes so far read into `state`) that keep the text valid. */
  private walk(node: number, state: GrammarState, sink: Sink): void {
    const t = this.trie;
    const g = state.grammar;
    // After whitespace the readings are the same stacks (json_grammar.ts): what a byte other
    // than whitespace does to them is the same at every run length, so it is fed once.
    let seen = sink.fed.get(state.stacks);
    if (!seen) sink.fed.set(state.stacks, (seen = []));
    // Bytes outside `may` end every reading: they are not fed.
    const may = nextBytes(state);
    for (let e = t.first[node]!, last = t.first[node + 1]!; e < last; e++) {
      const b = t.byte[e]!;
      let next: GrammarState | null | undefined;
      if (isWsByte(b)) next = g.feed(state, b);
      else if (may && !inByteSet(may, b)) continue;
      else {
        next = seen[b];
        if (next === undefined) seen[b] = next = g.feed(state, b);
      }
      if (!next) continue;
      const child = t.to[e]!;
      setRange(sink.mask, t.ids, t.lo[child]!, t.mid[child]!);
      const below = t.end[child]! - t.mid[child]!;
      if (below === 0) continue;
      if (below >= SUBTREE_MIN && !sink.sub) this.subtree(child, next, sink);
      else this.below(child, next, sink);
    }
  }

  /**
   * walk() from the root for a state that reads up to `free` whitespace bytes without changing
   * its readings: a token of whitespace only is allowed by its length, and a token of
   * whitespace then a byte b reads on from where b alone would: b is fed once for all of them.
   * `direct` false: the tokens that start with whitespace only.
   */
  private walkAfterWhitespace(state: GrammarState, free: number, sink: Sink, direct = true): void {
    const ws = (this.ws ??= whitespaceTable(this.trie));
    const only = onlyWords(ws, this.trie, this.words, free);
    orWords(sink.mask, only);
    const may = nextBytes(state);
    if (!may) for (let b = 0; b < 256; b++) this.afterWhitespace(ws, b, state, free, sink, direct);
    else {
      for (let w = 0; w < 8; w++) {
        for (let bits = may[w]!; bits !== 0; bits &= bits - 1) this.afterWhitespace(ws, w * 32 + 31 - Math.clz32(bits & -bits), state, free, sink, direct);
      }
    }
  }

  /** walkAfterWhitespace() for the tokens whose first byte other than whitespace is b. */
  private afterWhitespace(ws: WhitespaceTable, b: number, state: GrammarState, free: number, sink: Sink, direct: boolean): void {
    const child = direct ? ws.root[b]! : -1;
    const after = ws.then[b];
    if ((child < 0 && !after) || isWsByte(b)) return;
    const next = state.grammar.feed(state, b);
    if (!next) return;
    if (child >= 0) this.enter(child, next, sink);
    if (after) for (let i = 0; i < after.length; i += 2) if (after[i + 1]! <= free) this.enter(after[i]!, next, sink);
  }

  /** A node the walk reached in `state`: its ids, and what is below. */
  private enter(child: number, next: GrammarState, sink: Sink): void {
    const t = this.trie;
    setRange(sink.mask, t.ids, t.lo[child]!, t.mid[child]!);
    const below = t.end[child]! - t.mid[child]!;
    if (below === 0) return;
    if (below >= SUBTREE_MIN && !sink.sub) this.subtree(child, next, sink);
    else this.below(child, next, sink);
  }

  private ws: WhitespaceTable | null = null;

  private below(node: number, state: GrammarState, sink: Sink): void {
    if (this.trie.end[node]! - this.trie.mid[node]! >= BODY_MIN && inBodies(state)) this.body(node, state, sink);
    else if (inNumbers(state)) this.numbers(node, state, sink);
    else this.walk(node, state, sink);
  }

  /**
   * walk() for a state whose every reading is inside a number: each reading alone, its number
   * followed without the recognizer (number_walk.ts); where the number ends, walk() takes over.
   */
  private numbers(node: number, state: GrammarState, sink: Sink): void {
    const nw = (this.numberWalk ??= new NumberWalk(this.trie));
    const out: (number | GrammarState)[] = [];
    for (const st of state.stacks) {
      if (!nw.walk(node, st, state.grammar, sink.mask, out)) this.walk(node, { stacks: [st], ws: state.ws, grammar: state.grammar }, sink);
    }
    for (let i = 0; i < out.length; i += 2) {
      const child = out[i] as number, next = out[i + 1] as GrammarState;
      if (child === WHITESPACE_AFTER) this.walkAfterWhitespace(next, next.grammar.freeWhitespace(next)!, sink, false);
      else this.enter(child, next, sink);
    }
  }

  private numberWalk: NumberWalk | null = null;

  /**
   * below() for a large subtree, remembered per node and state: the same state recurs under
   * different parents (after a number or a string ends, the container's state is the same
   * whatever the value was).
   */
  private subtree(node: number, state: GrammarState, sink: Sink): void {
    const g = state.grammar;
    let memo = this.subtrees.get(g);
    if (!memo) this.subtrees.set(g, (memo = new Map()));
    const key = node + '|' + stateKey(state);
    let words = memo.get(key);
    if (words) {
      memo.delete(key);
      memo.set(key, words);
    } else {
      const sub: Sink = { mask: this.scratch.pop() ?? new Uint32Array(this.words), fed: sink.fed, sub: true };
      this.below(node, state, sub);
      words = takeWords(sub.mask);
      this.scratch.push(sub.mask);
      memo.set(key, words);
      if (memo.size > SUBTREE_MEMO) memo.delete(memo.keys().next().value!);
    }
    orWords(sink.mask, words);
  }

  /** Per grammar, subtree() masks by node and state, as [word index, bits] pairs of their words other than 0. */
  private readonly subtrees = new WeakMap<JsonGrammar, Map<string, Uint32Array>>();
  /** Zeroed masks for subtree(). */
  private readonly scratch: Uint32Array[] = [];

  /**
   * walk() for a state whose every reading is inside a string body or a literal: each reading
   * alone. A string's tokens come from the node's tables; a literal prunes fast.
   */
  private body(node: number, state: GrammarState, sink: Sink): void {
    const t = this.tables(node);
    for (const st of state.stacks) {
      const top = st[st.length - 1]!;
      if (top.k === 'S') {
        t.strings.addTo(top, sink.mask);
        const lists: ArrayLike<number>[] = [];
        t.tails.allowed(st, top, state.grammar, lists);
        for (const l of lists) setBits(sink.mask, l);
      } else this.walkLiteral(node, st, top as LFrame, state.ws, state.grammar, sink);
    }
  }

  /** The body tables of a node, built on first use. */
  private tables(node: number): BodyTables {
    let t = this.bodies.get(node);
    if (t) return t;
    const tr = this.trie;
    const depth = tr.depth[node]!;
    const safe: { id: number; cps: number[] }[] = [];
    const unsafe: { id: number; cps: number[]; tail: Uint8Array | null }[] = [];
    for (let j = tr.mid[node]!; j < tr.end[node]!; j++) {
      const id = tr.ids[j]!;
      const rest = this.bytes[id]!.subarray(depth);
      const cps = stringSafeChars(rest);
      if (cps) safe.push({ id, cps });
      else {
        const split = splitStringToken(rest);
        if (split) unsafe.push({ id, ...split });
      }
    }
    t = { strings: new StringMasks(safe, this.words), tails: new StringTails(unsafe) };
    this.bodies.set(node, t);
    return t;
  }

  /**
   * walk() for a reading whose top is a literal: only the bytes the literal's alternatives have
   * next are followed (no recognizer calls); where the literal could end, the recognizer takes over.
   */
  private walkLiteral(node: number, st: Stack, f: LFrame, ws: number, g: JsonGrammar, sink: Sink): void {
    if (accepting(f) >= 0) {
      // An alternative is complete here (others go on): every byte needs the whole recognizer.
      this.walk(node, withTop(st, f, ws, g), sink);
      return;
    }
    const tr = this.trie;
    const tried = new Set<number>();
    for (const alt of f.alts) {
      const b = alt[f.i];
      if (b === undefined || tried.has(b)) continue;
      tried.add(b);
      const child = tr.child(node, b);
      if (child < 0) continue;
      const r = stepLiteral(f, b);
      if (r.t === 'stay') {
        setRange(sink.mask, tr.ids, tr.lo[child]!, tr.mid[child]!);
        this.walkLiteral(child, st, r.f as LFrame, 0, g, sink);
      } else {
        // The literal ends with this byte: its container reads on.
        const next = g.feed(withTop(st, f, ws, g), b);
        if (!next) continue;
        setRange(sink.mask, tr.ids, tr.lo[child]!, tr.mid[child]!);
        this.walk(child, next, sink);
      }
    }
  }
}

/** The trie's whitespace-only nodes: for walkAfterWhitespace(). */
interface WhitespaceTable {
  /** Nodes (depth >= 1) whose path is whitespace only, by depth: onlyLen[i] the depth of only[i]. */
  only: number[];
  onlyLen: number[];
  /** then[b]: [node, whitespace before b] pairs for the nodes a whitespace-only path then b leads to. */
  then: (number[] | undefined)[];
  /** The root's child along each byte, or -1. */
  root: Int32Array;
  /** The ids of the whitespace-only tokens up to each length, as a mask's nonzero [index, bits] pairs (onlyWords()). */
  upTo: Map<number, Uint32Array>;
}

/** The ids of the whitespace-only tokens of at most `free` bytes, as [word index, bits] pairs. */
function onlyWords(ws: WhitespaceTable, t: TokenTrie, words: number, free: number): Uint32Array {
  const longest = ws.onlyLen.length ? ws.onlyLen[ws.onlyLen.length - 1]! : 0;
  const n = Math.min(free, longest);
  let out = ws.upTo.get(n);
  if (!out) {
    const mask = new Uint32Array(words);
    for (let i = 0; i < ws.only.length && ws.onlyLen[i]! <= n; i++) setRange(mask, t.ids, t.lo[ws.only[i]!]!, t.mid[ws.only[i]!]!);
    ws.upTo.set(n, (out = takeWords(mask)));
  }
  return out;
}

function whitespaceTable(t: TokenTrie): WhitespaceTable {
  const only: [number, number][] = [];
  const then: (number[] | undefined)[] = [];
  const todo: [number, number][] = [[0, 0]];
  while (todo.length) {
    const [node, d] = todo.pop()!;
    for (let e = t.first[node]!; e < t.first[node + 1]!; e++) {
      const b = t.byte[e]!, child = t.to[e]!;
      if (isWsByte(b)) {
        only.push([child, d + 1]);
        todo.push([child, d + 1]);
      } else if (d > 0) (then[b] ??= []).push(child, d);
    }
  }
  only.sort((a, b) => a[1] - b[1]);
  const root = new Int32Array(256).fill(-1);
  for (let e = t.first[0]!; e < t.first[1]!; e++) root[t.byte[e]!] = t.to[e]!;
  return { only: only.map((x) => x[0]), onlyLen: only.map((x) => x[1]), then, root, upTo: new Map() };
}

/** A mask's words other than 0 as [index, bits] pairs; the mask is left all 0. */
function takeWords(mask: Uint32Array): Uint32Array {
  let n = 0;
  for (let w = 0; w < mask.length; w++) if (mask[w] !== 0) n++;
  const out = new Uint32Array(2 * n);
  for (let w = 0, k = 0; w < mask.length; w++) {
    if (mask[w] === 0) continue;
    out[k++] = w;
    out[k++] = mask[w]!;
    mask[w] = 0;
  }
  return out;
}

/** ORs takeWords() pairs into a mask. */
function orWords(mask: Uint32Array, words: Uint32Array): void {
  for (let i = 0; i < words.length; i += 2) mask[words[i]!]! |= words[i + 1]!;
}

/** The set bits of a mask, ascending. */
function idsOf(mask: Uint32Array): Uint32Array {
  let n = 0;
  for (let w = 0; w < mask.length; w++) {
    let x = mask[w]!;
    while (x !== 0) {
      x &= x - 1;
      n++;
    }
  }
  const out = new Uint32Array(n);
  let k = 0;
  for (let w = 0; w < mask.length; w++) {
    let x = mask[w]!;
    while (x !== 0) {
      const low = x & -x;
      out[k++] = w * 32 + 31 - Math.clz32(low);
      x ^= low;
    }
  }
  return out;
}

/** A reading whose next byte is read by a string body with nothing pending, or by a literal. */
function bodyTop(f: Frame | undefined): boolean {
  return !!f && ((f.k === 'S' && f.esc === 0 && f.need === 0) || f.k === 'L');
}

/** Whether every reading is inside a number (whitespace cannot be pending there: number_walk.ts assumes none). */
function inNumbers(state: GrammarState): boolean {
  if (state.ws !== 0 || state.stacks.length === 0) return false;
  for (const st of state.stacks) if (st[st.length - 1]?.k !== 'N') return false;
  return true;
}

/** Whether every reading is inside a string body or a literal (bodyTop). */
function inBodies(state: GrammarState): boolean {
  for (const st of state.stacks) if (!bodyTop(st[st.length - 1])) return false;
  return true;
}

/** The state of one reading whose top is now `f`. */
function withTop(st: Stack, f: Frame, ws: number, g: JsonGrammar): GrammarState {
  return { stacks: [f === st[st.length - 1] ? st : [...st.slice(0, -1), f]], ws, grammar: g };
}

const MEMO_SIZE = 64;

/** allowedTokens with the tokenizer's table and its stop ids (plus `extraStops`). */
export function allowedTokens(state: GrammarState, tokenizer: TokenSource & { stopTokenIds: readonly number[] }, extraStops: readonly number[] = []): Uint32Array {
  return TokenTable.of(tokenizer).allowedTokens(state, [...tokenizer.stopTokenIds, ...extraStops]);
}
