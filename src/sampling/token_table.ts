// The token side of JSON-constrained decoding: every token's bytes in a trie, walked with the
// recognizer (json_grammar.ts) to find the ids that keep the text a valid prefix.

import type { ErnieTokenizer } from '../text/tokenizer';
import { applyStep, byteOf } from '../text/decoder';
import { stateKey, type GrammarState, type JsonGrammar } from './json_grammar';
import { accepting, stepLiteral, type Frame, type LFrame } from './json_frames';
import { StringMasks, stringSafeChars } from './string_masks';
import { splitStringToken, StringTails } from './string_tails';

const utf8 = new TextEncoder();


/** What the token table needs from a tokenizer (ErnieTokenizer has it). */
type TokenSource = Pick<ErnieTokenizer, 'decodePlan' | 'idToToken' | 'isSpecial' | 'vocabSize'>;

interface Trie {
  /** children[node]: byte -> node */
  children: Map<number, number>[];
  /** ids[node]: tokens ending at this node */
  ids: number[][];
}

/**
 * Every token's bytes as they appear mid-text (computed once per tokenizer), in a trie.
 * Special tokens, unknown ids and tokens that decode to nothing are never allowed.
 * At the very start of a text the decoder may drop a leading space (Strip); the recognizer
 * reads it as whitespace, which JSON allows wherever a document can start.
 */
export class TokenTable {
  /** bytes[id], or null for ids a grammar never allows. */
  readonly bytes: (Uint8Array | null)[];
  /** Tokens that stay inside a string without ending it (no quote, backslash, control or partial character). */
  readonly stringSafe: Uint32Array;
  private readonly strings: StringMasks;
  private readonly all: Trie;
  /** The unsafe tokens a string body with nothing pending can read, split at their closing quote. */
  private readonly tails: StringTails;
  /** isSafe[id]: 1 for string-safe ids. */
  private readonly isSafe: Uint8Array;
  /** Scratch marks for merging id lists (ids and stop ids). */
  private readonly marks: Uint8Array;

  /** A table over each id's bytes as it reads mid-text (null: never allowed). */
  constructor(bytes: (Uint8Array | null)[]) {
    this.bytes = bytes;
    const safe: { id: number; cps: number[] }[] = [];
    this.all = { children: [new Map()], ids: [[]] };
    const unsafe: { id: number; cps: number[]; tail: Uint8Array | null }[] = [];
    bytes.forEach((b, id) => {
      if (!b) return;
      insert(this.all, b, id);
      const cps = stringSafeChars(b);
      if (cps) {
        safe.push({ id, cps });
      } else {
        const split = splitStringToken(b);
        if (split) unsafe.push({ id, ...split });
      }
    });
    this.strings = new StringMasks(safe);
    this.tails = new StringTails(unsafe);
    this.stringSafe = this.strings.all;
    this.isSafe = new Uint8Array(bytes.length);
    for (const id of this.stringSafe) this.isSafe[id] = 1;
    this.marks = new Uint8Array(bytes.length + 1024);
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
    const out: number[] = [];
    // Every reading inside a string body (or a literal such as a declared key): the safe
    // tokens are each reading's own (precomputed for strings, a short trie walk for literals);
    // the rest go through the recognizer with all readings at once.
    if (state.stacks.every((st) => bodyTop(st[st.length - 1]))) {
      // Every reading inside a string body or a literal: each reading alone. A string's safe
      // tokens are precomputed (string_masks.ts); its other tokens are read by the string
      // steps alone up to a closing quote, where the recognizer takes over; literals prune fast.
      let full = false;
      const lists: ArrayLike<number>[] = [];
      for (const st of state.stacks) {
        const top = st[st.length - 1]!;
        const one: number[] = [];
        if (top.k === 'S') {
          const m = this.strings.forFrame(top);
          if (m === this.stringSafe) full = true;
          else lists.push(m);
          this.tails.allowed(st, top, g, one);
        } else walkLiteral(this.all, 0, st, top as LFrame, state.ws, g, one);
        lists.push(one);
      }
      lists.push(stops);
      return this.union(lists, full);
    }
    walk(this.all, 0, state, out);
    for (const id of stops) out.push(id);
    return Uint32Array.from(out);
  }

  /** The union of id lists, after every safe id when `withSafe`. */
  private union(lists: ArrayLike<number>[], withSafe: boolean): Uint32Array {
    const marks = this.marks;
    const ids: number[] = [];
    const skip = withSafe ? this.isSafe : null;
    for (const p of lists) {
      for (let i = 0; i < p.length; i++) {
        const id = p[i]!;
        if (marks[id] === 0 && !(skip && skip[id] === 1)) {
          marks[id] = 1;
          ids.push(id);
        }
      }
    }
    for (const id of ids) marks[id] = 0;
    if (!skip) return Uint32Array.from(ids);
    const r = new Uint32Array(this.stringSafe.length + ids.length);
    r.set(this.stringSafe);
    r.set(ids, this.stringSafe.length);
    return r;
  }
}

/** A reading whose next byte is read by a string body with nothing pending, or by a literal. */
function bodyTop(f: Frame | undefined): boolean {
  return !!f && ((f.k === 'S' && f.esc === 0 && f.need === 0) || f.k === 'L');
}

const MEMO_SIZE = 64;

function insert(trie: Trie, bytes: Uint8Array, id: number): void {
  let node = 0;
  for (const b of bytes) {
    let next = trie.children[node]!.get(b);
    if (next === undefined) {
      next = trie.children.length;
      trie.children.push(new Map());
      trie.ids.push([]);
      trie.children[node]!.set(b, next);
    }
    node = next;
  }
  trie.ids[node]!.push(id);
}

function walk(trie: Trie, node: number, state: GrammarState, out: number[]): void {
  for (const [b, child] of trie.children[node]!) {
    const next = state.grammar.feed(state, b);
    if (!next) continue;
    for (const id of trie.ids[child]!) out.push(id);
    walk(trie, child, next, out);
  }
}

/**
 * walk() for a reading whose top is a literal: only the bytes the literal's alternatives have
 * next are followed (no recognizer calls); where the literal could end, the recognizer takes over.
 */
function walkLiteral(trie: Trie, node: number, st: readonly Frame[], f: LFrame, ws: number, g: JsonGrammar, out: number[]): void {
  if (accepting(f) >= 0) {
    // An alternative is complete here (others go on): every byte needs the whole recognizer.
    const state = { stacks: [f === st[st.length - 1] ? st : [...st.slice(0, -1), f]], ws, grammar: g };
    walk(trie, node, state, out);
    return;
  }
  const kids = trie.children[node]!;
  const tried = new Set<number>();
  for (const alt of f.alts) {
    const b = alt[f.i];
    if (b === undefined || tried.has(b)) continue;
    tried.add(b);
    const child = kids.get(b);
    if (child === undefined) continue;
    const r = stepLiteral(f, b);
    if (r.t === 'stay') {
      for (const id of trie.ids[child]!) out.push(id);
      walkLiteral(trie, child, st, r.f as LFrame, 0, g, out);
    } else {
      // The literal ends with this byte: its container reads on.
      const next = g.feed({ stacks: [f === st[st.length - 1] ? st : [...st.slice(0, -1), f]], ws, grammar: g }, b);
      if (!next) continue;
      for (const id of trie.ids[child]!) out.push(id);
      walk(trie, child, next, out);
    }
  }
}

/** allowedTokens with the tokenizer's table and its stop ids (plus `extraStops`). */
export function allowedTokens(state: GrammarState, tokenizer: TokenSource & { stopTokenIds: readonly number[] }, extraStops: readonly number[] = []): Uint32Array {
  return TokenTable.of(tokenizer).allowedTokens(state, [...tokenizer.stopTokenIds, ...extraStops]);
}
