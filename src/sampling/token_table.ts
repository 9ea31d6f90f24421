// The token side of JSON-constrained decoding: every token's bytes in a trie, walked with the
// recognizer (json_grammar.ts) to find the ids that keep the text a valid prefix.

import type { ErnieTokenizer } from '../text/tokenizer';
import { applyStep, byteOf } from '../text/decoder';
import { stateKey, type GrammarState, type JsonGrammar } from './json_grammar';

const utf8 = new TextEncoder();
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });


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
  private readonly all: Trie;
  private readonly unsafe: Trie;

  /** A table over each id's bytes as it reads mid-text (null: never allowed). */
  constructor(bytes: (Uint8Array | null)[]) {
    this.bytes = bytes;
    const safe: number[] = [];
    this.all = { children: [new Map()], ids: [[]] };
    this.unsafe = { children: [new Map()], ids: [[]] };
    bytes.forEach((b, id) => {
      if (!b) return;
      insert(this.all, b, id);
      if (isStringSafe(b)) safe.push(id);
      else insert(this.unsafe, b, id);
    });
    this.stringSafe = Uint32Array.from(safe);
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
    const out: number[] = [];
    let safe: Uint32Array | null = null;
    if (!g.isComplete(state)) {
      const st = state.stacks.length === 1 ? state.stacks[0]! : null;
      const top = st?.[st.length - 1];
      if (top?.k === 'S' && top.esc === 0 && top.need === 0 && top.r === null && top.key === null) {
        safe = this.stringSafe; // all of them, unchanged state; walk only the others
        walk(this.unsafe, 0, state, out);
      } else walk(this.all, 0, state, out);
    }
    if (g.canEnd(state)) for (const id of stopIds) out.push(id);
    const result = new Uint32Array((safe?.length ?? 0) + out.length);
    if (safe) result.set(safe);
    result.set(out, safe?.length ?? 0);
    memo.set(key, result);
    if (memo.size > MEMO_SIZE) memo.delete(memo.keys().next().value!);
    return result;
  }

  private readonly memo = new WeakMap<JsonGrammar, Map<string, Uint32Array>>();
}

const MEMO_SIZE = 64;

/** Bytes that stay inside a free string without ending it: no quote, backslash, control or partial character. */
function isStringSafe(b: Uint8Array): boolean {
  if (!b.every((x) => x >= 0x20 && x !== 0x22 && x !== 0x5c)) return false;
  try {
    strictUtf8.decode(b);
    return true;
  } catch {
    return false;
  }
}

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

/** allowedTokens with the tokenizer's table and its stop ids (plus `extraStops`). */
export function allowedTokens(state: GrammarState, tokenizer: TokenSource & { stopTokenIds: readonly number[] }, extraStops: readonly number[] = []): Uint32Array {
  return TokenTable.of(tokenizer).allowedTokens(state, [...tokenizer.stopTokenIds, ...extraStops]);
}
