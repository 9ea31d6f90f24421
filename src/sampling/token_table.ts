// The token side of JSON-constrained decoding: every token's bytes in a trie, walked with the
// recognizer (json_grammar.ts) to find the ids that keep the text a valid prefix.

import type { ErnieTokenizer } from '../text/tokenizer';
import { applyStep, byteOf } from '../text/decoder';
import { stateKey, type GrammarState, type JsonGrammar } from './json_grammar';
import { accepting, isWsByte, stepLiteral, type Frame, type LFrame, type Stack } from './json_frames';
import { StringMasks, stringSafeChars } from './string_masks';
import { splitStringToken, StringTails } from './string_tails';
import { TokenTrie } from './token_trie';

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
  /** isSafe[id]: 1 for the ids of `strings` (built when first needed). */
  isSafe: Uint8Array | null;
}

/** Id lists gathered for one mask (no id twice): concatenated once at the end. `ranges`: [lo, hi) pairs of the trie's ids. */
interface Sink {
  chunks: ArrayLike<number>[];
  ranges: number[];
  n: number;
  /** What each byte other than whitespace does to a set of readings, per set (walk()). */
  fed: Map<readonly Stack[], (GrammarState | null)[]>;
}
const newSink = (fed: Sink['fed'] = new Map()): Sink => ({ chunks: [], ranges: [], n: 0, fed });
const add = (sink: Sink, ids: ArrayLike<number>) => {
  if (ids.length === 0) return;
  sink.chunks.push(ids);
  sink.n += ids.length;
};
const addRange = (sink: Sink, lo: number, hi: number) => {
  if (hi === lo) return;
  sink.ranges.push(lo, hi);
  sink.n += hi - lo;
};

/** Below a node with at least this many tokens, a string body reading on uses the node's body tables. */
const BODY_MIN = 48;

/**
 * Every token's bytes as they appear mid-text (computed once per tokenizer), in a trie.
 * Special tokens, unknown ids and tokens that decode to nothing are never allowed.
 * At the very start of a text the decoder may drop a leading space (Strip); the recognizer
 * reads it as whitespace, which JSON allows wherever a document can start.
 *
 * A mask walks the trie with the recognizer, sharing the work of common prefixes; where every
 * reading is inside a string body (or a literal), the tokens below are taken from tables built
 * once per trie node instead: a string's plain characters need no recognizer at all.
 */
export class TokenTable {
  /** bytes[id], or null for ids a grammar never allows. */
  readonly bytes: (Uint8Array | null)[];
  /** Tokens that stay inside a string without ending it (no quote, backslash, control or partial character). */
  readonly stringSafe: Uint32Array;
  private readonly trie: TokenTrie;
  private readonly bodies = new Map<number, BodyTables>();
  /** Scratch marks for merging id lists. */
  private readonly marks: Uint8Array;

  /** A table over each id's bytes as it reads mid-text (null: never allowed). */
  constructor(bytes: (Uint8Array | null)[]) {
    this.bytes = bytes;
    this.trie = new TokenTrie(bytes);
    this.stringSafe = this.tables(0).strings.all;
    this.marks = new Uint8Array(bytes.length);
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
   * Ids that keep the text a valid prefix, plus `stopIds` when the document may end here.
   * Results are remembered per grammar and state (a string or a number being written repeats
   * its state step after step); treat the returned array as read-only.
   */
  allowedTokens(state: GrammarState, stopIds: readonly number[]): Uint32Array {
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
    const result = this.compute(state, g.canEnd(state) ? stopIds : []);
    memo.set(key, result);
    if (memo.size > MEMO_SIZE) memo.delete(memo.keys().next().value!);
    return result;
  }

  private readonly memo = new WeakMap<JsonGrammar, Map<string, Uint32Array>>();

  private compute(state: GrammarState, stops: readonly number[]): Uint32Array {
    const g = state.grammar;
    if (g.isComplete(state)) return Uint32Array.from(stops);
    const sink = newSink();
    if (state.stacks.every((st) => bodyTop(st[st.length - 1]))) this.body(0, state, sink);
    else this.walk(0, state, sink);
    const r = new Uint32Array(sink.n + stops.length);
    let k = 0;
    const all = this.trie.ids, rg = sink.ranges;
    for (let i = 0; i < rg.length; i += 2) for (let j = rg[i]!; j < rg[i + 1]!; j++) r[k++] = all[j]!;
    for (const c of sink.chunks) {
      if (c instanceof Uint32Array) {
        r.set(c, k);
        k += c.length;
      } else for (let i = 0; i < c.length; i++) r[k++] = c[i]!;
    }
    for (const id of stops) {
      // A stop id with bytes of its own may be allowed already.
      if (this.bytes[id] && r.subarray(0, k).includes(id)) continue;
      r[k++] = id;
    }
    return k === r.length ? r : r.slice(0, k);
  }

  /** The tokens below `node` (the walk's bytes so far read into `state`) that keep the text valid. */
  private walk(node: number, state: GrammarState, sink: Sink): void {
    const t = this.trie;
    const g = state.grammar;
    // After whitespace the readings are the same stacks (json_grammar.ts): what a byte other
    // than whitespace does to them is the same at every run length, so it is fed once.
    let seen = sink.fed.get(state.stacks);
    if (!seen) sink.fed.set(state.stacks, (seen = []));
    for (let e = t.first[node]!, last = t.first[node + 1]!; e < last; e++) {
      const b = t.byte[e]!;
      let next: GrammarState | null | undefined;
      if (isWsByte(b)) next = g.feed(state, b);
      else {
        next = seen[b];
        if (next === undefined) seen[b] = next = g.feed(state, b);
      }
      if (!next) continue;
      const child = t.to[e]!;
      addRange(sink, t.lo[child]!, t.mid[child]!);
      const below = t.end[child]! - t.mid[child]!;
      if (below === 0) continue;
      if (below >= BODY_MIN && next.stacks.every((st) => bodyTop(st[st.length - 1]))) this.body(child, next, sink);
      else this.walk(child, next, sink);
    }
  }

  /**
   * walk() for a state whose every reading is inside a string body or a literal: each reading
   * alone. A string's tokens come from the node's tables; a literal prunes fast.
   */
  private body(node: number, state: GrammarState, sink: Sink): void {
    const g = state.grammar;
    const t = this.tables(node);
    if (state.stacks.length === 1) {
      this.bodyReading(node, t, state.stacks[0]!, state.ws, g, sink);
      return;
    }
    // Several readings: their lists overlap. One with every safe token makes the others' safe ones redundant.
    const parts: Sink[] = state.stacks.map((st) => {
      const one = newSink(sink.fed);
      this.bodyReading(node, t, st, state.ws, g, one);
      return one;
    });
    const full = parts.some((p) => p.chunks.includes(t.strings.all));
    const skip = full ? (t.isSafe ??= safeMarks(t.strings.all, this.bytes.length)) : null;
    if (full) add(sink, t.strings.all);
    const marks = this.marks;
    const merged: number[] = [];
    const all = this.trie.ids;
    for (const p of parts) {
      for (let i = 0; i < p.ranges.length; i += 2) {
        for (let j = p.ranges[i]!; j < p.ranges[i + 1]!; j++) {
          const id = all[j]!;
          if (marks[id] === 0 && !(skip && skip[id] === 1)) {
            marks[id] = 1;
            merged.push(id);
          }
        }
      }
      for (const c of p.chunks) {
        if (c === t.strings.all) continue;
        for (let i = 0; i < c.length; i++) {
          const id = c[i]!;
          if (marks[id] === 0 && !(skip && skip[id] === 1)) {
            marks[id] = 1;
            merged.push(id);
          }
        }
      }
    }
    for (const id of merged) marks[id] = 0;
    add(sink, merged);
  }

  private bodyReading(node: number, t: BodyTables, st: Stack, ws: number, g: JsonGrammar, sink: Sink): void {
    const top = st[st.length - 1]!;
    if (top.k === 'S') {
      add(sink, t.strings.forFrame(top));
      const lists: ArrayLike<number>[] = [];
      t.tails.allowed(st, top, g, lists);
      for (const l of lists) add(sink, l);
    } else this.walkLiteral(node, st, top as LFrame, ws, g, sink);
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
    t = { strings: new StringMasks(safe), tails: new StringTails(unsafe), isSafe: null };
    this.bodies.set(node, t);
    return t;
  }

  /**
   * walk() for a reading whose top is a literal: only the bytes the literal's alternatives have
   * next are followed (no recognizer calls); where the literal could end, the recognizer takes over.
   */
  private walkLiteral(node: number, st: Stack, f: LFrame, ws: number, g: JsonGrammar, sink: Sink): void {
    const state = () => ({ stacks: [f === st[st.length - 1] ? st : [...st.slice(0, -1), f]], ws, grammar: g });
    if (accepting(f) >= 0) {
      // An alternative is complete here (others go on): every byte needs the whole recognizer.
      this.walk(node, state(), sink);
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
        addRange(sink, tr.lo[child]!, tr.mid[child]!);
        this.walkLiteral(child, st, r.f as LFrame, 0, g, sink);
      } else {
        // The literal ends with this byte: its container reads on.
        const next = g.feed(state(), b);
        if (!next) continue;
        addRange(sink, tr.lo[child]!, tr.mid[child]!);
        this.walk(child, next, sink);
      }
    }
  }
}

function safeMarks(ids: Uint32Array, n: number): Uint8Array {
  const m = new Uint8Array(n);
  for (const id of ids) m[id] = 1;
  return m;
}

/** A reading whose next byte is read by a string body with nothing pending, or by a literal. */
function bodyTop(f: Frame | undefined): boolean {
  return !!f && ((f.k === 'S' && f.esc === 0 && f.need === 0) || f.k === 'L');
}

const MEMO_SIZE = 64;

/** allowedTokens with the tokenizer's table and its stop ids (plus `extraStops`). */
export function allowedTokens(state: GrammarState, tokenizer: TokenSource & { stopTokenIds: readonly number[] }, extraStops: readonly number[] = []): Uint32Array {
  return TokenTable.of(tokenizer).allowedTokens(state, [...tokenizer.stopTokenIds, ...extraStops]);
}
