// JSON-constrained decoding. A recognizer reads the output byte by byte (UTF-8) and knows at
// every point whether the text so far can still become a valid document; allowedTokens() turns
// that into the token ids that keep it so, walking a trie of the vocabulary's byte strings.
//
// A grammar is a sequence of parts: JSON values (a schema tree from json_schema.ts, or any
// value), literal text, and choices between literal texts, each followed by its own parts
// (how a forced tool call picks its function). Once every part is complete, only stop tokens
// are allowed, so generation ends as soon as the document does.
//
// The state is immutable (a small stack of frames), so a trie walk can branch from it freely.
// Inside strings the recognizer checks UTF-8 (tokens are bytes: byte-fallback pieces can form
// characters), so every byte-fallback run decodes cleanly and never turns a quote into U+FFFD.

import type { ErnieTokenizer } from '../text/tokenizer';
import { applyStep, byteOf } from '../text/decoder';
import { ANY, ANY_OBJECT, type PropNode, type SchemaNode } from './json_schema';

export type GrammarPart =
  | { json: SchemaNode }
  | { literal: string }
  | { choice: { literal: string; then: GrammarPart[] }[] };

export interface GrammarOptions {
  /** Longest run of insignificant whitespace (between tokens); stops models that stall on it. Default 20. */
  maxWhitespace?: number;
  /** Deepest nesting of objects and arrays. Default 32. */
  maxDepth?: number;
}

// ---- frames ----

interface Base { readonly root: boolean }
/** A value is expected (leading whitespace allowed). */
interface VFrame extends Base { readonly k: 'V'; readonly s: SchemaNode }
/**
 * Object. ph: 0 after '{', 1 expecting ':', 2 after a value, 3 after ',', 4 value in progress,
 * 5 key in progress. idx: the next property (schema objects), cur: the schema of the value.
 */
interface OFrame extends Base {
  readonly k: 'O';
  readonly props: readonly PropNode[] | null;
  readonly values: SchemaNode;
  readonly ph: number;
  readonly idx: number;
  readonly cur: SchemaNode;
}
/** Array. ph: 0 after '[', 1 after a value, 2 after ',', 3 value in progress. */
interface AFrame extends Base { readonly k: 'A'; readonly items: SchemaNode; readonly ph: number }
/** String body. esc: 0 none, 1 after '\', 2..5 hex digits left + 1. need: UTF-8 continuation bytes left, in [lo, hi]. */
interface SFrame extends Base { readonly k: 'S'; readonly esc: number; readonly need: number; readonly lo: number; readonly hi: number }
/** Number. ph: 1 '-', 2 leading 0, 3 int digits, 4 '.', 5 fraction, 6 'e', 7 exponent sign, 8 exponent digits. */
interface NFrame extends Base { readonly k: 'N'; readonly ph: number; readonly int: boolean }
/** Literal alternatives, `i` bytes matched. `ids[j]` is what alts[j] reports; `next[id]` the parts that follow a root choice. */
interface LFrame extends Base {
  readonly k: 'L';
  readonly alts: readonly Uint8Array[];
  readonly ids: readonly number[];
  readonly i: number;
  readonly next: readonly (readonly Frame[])[] | null;
}
type Frame = VFrame | OFrame | AFrame | SFrame | NFrame | LFrame;

export interface GrammarState {
  /** Innermost frame last. Empty = the document is complete. */
  readonly stack: readonly Frame[];
  /** Consecutive insignificant whitespace bytes just read. */
  readonly ws: number;
  readonly grammar: JsonGrammar;
}

const WS = new Set([0x20, 0x09, 0x0a, 0x0d]);
const isDigit = (b: number) => b >= 0x30 && b <= 0x39;
const isHex = (b: number) => isDigit(b) || (b >= 0x41 && b <= 0x46) || (b >= 0x61 && b <= 0x66);
const NUM_ACCEPT = new Set([2, 3, 5, 8]);
const utf8 = new TextEncoder();
const LIT_TRUE = utf8.encode('true');
const LIT_FALSE = utf8.encode('false');
const LIT_NULL = utf8.encode('null');

type Step =
  | { t: 'stay'; f: Frame; ws?: boolean }
  /** Byte consumed by the top, which becomes `f`; `child` (already past the byte) goes on top. */
  | { t: 'push'; f: Frame; child: Frame }
  /** Top becomes `f`; `child` goes on top and the byte is fed to it. */
  | { t: 'refeed'; f: Frame; child: Frame }
  | { t: 'done'; result: number }
  | { t: 'reject' };

const REJECT: Step = { t: 'reject' };

export class JsonGrammar {
  readonly maxWhitespace: number;
  readonly maxDepth: number;
  private readonly start: readonly Frame[];

  constructor(parts: GrammarPart[], options: GrammarOptions = {}) {
    this.maxWhitespace = options.maxWhitespace ?? 20;
    this.maxDepth = options.maxDepth ?? 32;
    this.start = buildStack(parts);
  }

  /** Any JSON object (OpenAI's json_object mode). */
  static jsonObject(options?: GrammarOptions): JsonGrammar {
    return new JsonGrammar([{ json: ANY_OBJECT }], options);
  }

  /** A value matching a compiled schema. */
  static schema(node: SchemaNode, options?: GrammarOptions): JsonGrammar {
    return new JsonGrammar([{ json: node }], options);
  }

  initial(): GrammarState {
    return { stack: this.start, ws: 0, grammar: this };
  }

  /** Feeds one byte; null when the text can no longer be valid. */
  feed(state: GrammarState, b: number): GrammarState | null {
    const last = state.stack[state.stack.length - 1];
    if (last?.k === 'S' && last.esc === 0 && last.need === 0 && b >= 0x20 && b < 0x80 && b !== 0x22 && b !== 0x5c) {
      // A plain character inside a string changes nothing (the common case, kept cheap).
      return state.ws === 0 ? state : { stack: state.stack, ws: 0, grammar: this };
    }
    const stack = state.stack.slice();
    let ws = false;
    for (;;) {
      const top = stack[stack.length - 1];
      if (!top) return null;
      const r = this.step(top, b, stack.length);
      switch (r.t) {
        case 'stay':
          stack[stack.length - 1] = r.f;
          ws = r.ws === true;
          break;
        case 'push':
          stack[stack.length - 1] = r.f;
          stack.push(r.child);
          break;
        case 'refeed':
          stack[stack.length - 1] = r.f;
          stack.push(r.child);
          continue;
        case 'done':
          stack.pop();
          finish(stack, top, r.result);
          break;
        case 'reject': {
          const result = accepting(top);
          if (result < 0) return null;
          stack.pop();
          finish(stack, top, result);
          continue;
        }
      }
      break;
    }
    const wsRun = ws ? state.ws + 1 : 0;
    if (wsRun > this.maxWhitespace) return null;
    return { stack, ws: wsRun, grammar: this };
  }

  /** Feeds bytes; null as soon as one is refused. */
  feedBytes(state: GrammarState, bytes: ArrayLike<number>): GrammarState | null {
    let s: GrammarState | null = state;
    for (let i = 0; i < bytes.length && s; i++) s = this.feed(s, bytes[i]!);
    return s;
  }

  /** Whether the document may end here (a stop token is allowed). */
  canEnd(state: GrammarState): boolean {
    // Only root values that end without a closing character (a number, an enum value another
    // could extend) can still be open at the end: pop those and see if anything is left.
    const stack = state.stack.slice();
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      const result = top.root ? accepting(top) : -1;
      if (result < 0) return false;
      stack.pop();
      finish(stack, top, result);
    }
    return true;
  }

  /** Whether nothing but a stop token can follow. */
  isComplete(state: GrammarState): boolean {
    return state.stack.length === 0;
  }

  private step(f: Frame, b: number, depth: number): Step {
    switch (f.k) {
      case 'V': return this.stepValue(f, b, depth);
      case 'O': return stepObject(f, b);
      case 'A': return stepArray(f, b);
      case 'S': return stepString(f, b);
      case 'N': return stepNumber(f, b);
      case 'L': return stepLiteral(f, b);
    }
  }

  private stepValue(f: VFrame, b: number, depth: number): Step {
    if (WS.has(b)) return { t: 'stay', f, ws: true };
    const frame = startValue(f.s, b, f.root, depth <= this.maxDepth);
    if (!frame) return REJECT;
    if (frame.k === 'L') {
      const r = literalAfter(frame);
      if (r !== null) return { t: 'done', result: r }; // a one-byte enum value such as 7
    }
    return { t: 'stay', f: frame };
  }
}

/** The frame a value starts with after reading its first byte `b`, or null. */
function startValue(s: SchemaNode, b: number, root: boolean, mayNest: boolean): Frame | null {
  const options = s.kind === 'union' ? s.options : [s];
  for (const o of options) {
    switch (o.kind) {
      case 'any':
        if (b === 0x7b && mayNest) return { k: 'O', props: null, values: ANY, ph: 0, idx: 0, cur: ANY, root };
        if (b === 0x5b && mayNest) return { k: 'A', items: ANY, ph: 0, root };
        if (b === 0x22) return string(root);
        if (b === 0x2d || isDigit(b)) return number(b, false, root);
        if (b === 0x74) return literal([LIT_TRUE], root);
        if (b === 0x66) return literal([LIT_FALSE], root);
        if (b === 0x6e) return literal([LIT_NULL], root);
        break;
      case 'object':
        if (b === 0x7b && mayNest) return { k: 'O', props: o.props, values: o.values, ph: 0, idx: 0, cur: ANY, root };
        break;
      case 'array':
        if (b === 0x5b && mayNest) return { k: 'A', items: o.items, ph: 0, root };
        break;
      case 'string':
        if (b === 0x22) return string(root);
        break;
      case 'number':
      case 'integer':
        if (b === 0x2d || isDigit(b)) return number(b, o.kind === 'integer', root);
        break;
      case 'boolean':
        if (b === 0x74) return literal([LIT_TRUE], root);
        if (b === 0x66) return literal([LIT_FALSE], root);
        break;
      case 'null':
        if (b === 0x6e) return literal([LIT_NULL], root);
        break;
      case 'enum': {
        const alts = o.literals.filter((l) => l[0] === b);
        if (alts.length) return { k: 'L', alts, ids: alts.map(() => -1), i: 1, next: null, root };
        break;
      }
      case 'union':
        break; // flattened at compile time
    }
  }
  return null;
}

const string = (root: boolean): SFrame => ({ k: 'S', esc: 0, need: 0, lo: 0x80, hi: 0xbf, root });
const number = (b: number, int: boolean, root: boolean): NFrame => ({ k: 'N', ph: b === 0x2d ? 1 : b === 0x30 ? 2 : 3, int, root });
const literal = (alts: Uint8Array[], root: boolean): LFrame => ({ k: 'L', alts, ids: alts.map(() => -1), i: 1, next: null, root });

/** The id of a fully matched alternative that no other alternative extends, else null. */
function literalAfter(f: LFrame): number | null {
  let full = -1;
  for (let j = 0; j < f.alts.length; j++) {
    if (f.alts[j]!.length === f.i) full = j;
    else return null;
  }
  return full >= 0 ? f.ids[full]! : null;
}

/** The result a frame reports if it ended here, or -1 when it cannot end. */
function accepting(f: Frame): number {
  if (f.k === 'N') return NUM_ACCEPT.has(f.ph) ? 0 : -1;
  if (f.k === 'L') {
    const j = f.alts.findIndex((a) => a.length === f.i);
    return j < 0 ? -1 : Math.max(0, f.ids[j]!);
  }
  return -1;
}

/** After `child` was popped: tell its container, or start what a root choice continues with. */
function finish(stack: Frame[], child: Frame, result: number): void {
  if (child.root) {
    if (child.k === 'L' && child.next) stack.push(...child.next[result]!);
    return;
  }
  const parent = stack[stack.length - 1]!;
  if (parent.k === 'O') {
    if (parent.ph === 5) {
      // A key ended: schema objects learn which property it was.
      if (parent.props) {
        const p = parent.props[result]!;
        stack[stack.length - 1] = { ...parent, ph: 1, idx: result + 1, cur: p.schema };
      } else {
        stack[stack.length - 1] = { ...parent, ph: 1, cur: parent.values };
      }
    } else stack[stack.length - 1] = { ...parent, ph: 2 };
  } else if (parent.k === 'A') {
    stack[stack.length - 1] = { ...parent, ph: 1 };
  }
}

/** Keys a schema object may write next: from idx up to and including the first required one. */
function keyCandidates(f: OFrame): { alts: Uint8Array[]; ids: number[]; mayClose: boolean } {
  const alts: Uint8Array[] = [];
  const ids: number[] = [];
  const props = f.props!;
  let mayClose = true;
  for (let j = f.idx; j < props.length; j++) {
    alts.push(props[j]!.keyBytes);
    ids.push(j);
    if (props[j]!.required) {
      mayClose = false;
      break;
    }
  }
  return { alts, ids, mayClose };
}

function stepObject(f: OFrame, b: number): Step {
  const ws = WS.has(b);
  switch (f.ph) {
    case 0:
    case 3: {
      if (ws) return { t: 'stay', f, ws: true };
      if (f.props === null) {
        if (b === 0x22) return { t: 'push', f: { ...f, ph: 5 }, child: string(false) };
        if (b === 0x7d && f.ph === 0) return { t: 'done', result: 0 };
        return REJECT;
      }
      const c = keyCandidates(f);
      if (b === 0x7d && f.ph === 0 && c.mayClose) return { t: 'done', result: 0 };
      if (b === 0x22 && c.alts.length > 0) return { t: 'push', f: { ...f, ph: 5 }, child: { k: 'L', alts: c.alts, ids: c.ids, i: 1, next: null, root: false } };
      return REJECT;
    }
    case 1:
      if (ws) return { t: 'stay', f, ws: true };
      if (b === 0x3a) return { t: 'push', f: { ...f, ph: 4 }, child: { k: 'V', s: f.cur, root: false } };
      return REJECT;
    case 2: {
      if (ws) return { t: 'stay', f, ws: true };
      if (f.props === null) {
        if (b === 0x2c) return { t: 'stay', f: { ...f, ph: 3 } };
        if (b === 0x7d) return { t: 'done', result: 0 };
        return REJECT;
      }
      const c = keyCandidates(f);
      if (b === 0x2c && c.alts.length > 0) return { t: 'stay', f: { ...f, ph: 3 } };
      if (b === 0x7d && c.mayClose) return { t: 'done', result: 0 };
      return REJECT;
    }
    default:
      return REJECT; // a child is in progress; never the top
  }
}

function stepArray(f: AFrame, b: number): Step {
  if (WS.has(b) && f.ph !== 3) return { t: 'stay', f, ws: true };
  switch (f.ph) {
    case 0:
      if (b === 0x5d) return { t: 'done', result: 0 };
      return { t: 'refeed', f: { ...f, ph: 3 }, child: { k: 'V', s: f.items, root: false } };
    case 1:
      if (b === 0x2c) return { t: 'stay', f: { ...f, ph: 2 } };
      if (b === 0x5d) return { t: 'done', result: 0 };
      return REJECT;
    case 2:
      return { t: 'refeed', f: { ...f, ph: 3 }, child: { k: 'V', s: f.items, root: false } };
    default:
      return REJECT;
  }
}

function stepString(f: SFrame, b: number): Step {
  if (f.need > 0) {
    if (b < f.lo || b > f.hi) return REJECT;
    return { t: 'stay', f: { ...f, need: f.need - 1, lo: 0x80, hi: 0xbf } };
  }
  if (f.esc === 1) {
    if (b === 0x75) return { t: 'stay', f: { ...f, esc: 5 } };
    if ('"\\/bfnrt'.includes(String.fromCharCode(b))) return { t: 'stay', f: { ...f, esc: 0 } };
    return REJECT;
  }
  if (f.esc > 1) return isHex(b) ? { t: 'stay', f: { ...f, esc: f.esc === 2 ? 0 : f.esc - 1 } } : REJECT;
  if (b === 0x22) return { t: 'done', result: 0 };
  if (b === 0x5c) return { t: 'stay', f: { ...f, esc: 1 } };
  if (b < 0x20) return REJECT;
  if (b < 0x80) return { t: 'stay', f };
  // UTF-8 lead byte (the ranges a strict decoder accepts: no overlongs, no surrogates, <= U+10FFFF).
  if (b >= 0xc2 && b <= 0xdf) return { t: 'stay', f: { ...f, need: 1, lo: 0x80, hi: 0xbf } };
  if (b === 0xe0) return { t: 'stay', f: { ...f, need: 2, lo: 0xa0, hi: 0xbf } };
  if (b === 0xed) return { t: 'stay', f: { ...f, need: 2, lo: 0x80, hi: 0x9f } };
  if (b >= 0xe1 && b <= 0xef) return { t: 'stay', f: { ...f, need: 2, lo: 0x80, hi: 0xbf } };
  if (b === 0xf0) return { t: 'stay', f: { ...f, need: 3, lo: 0x90, hi: 0xbf } };
  if (b >= 0xf1 && b <= 0xf3) return { t: 'stay', f: { ...f, need: 3, lo: 0x80, hi: 0xbf } };
  if (b === 0xf4) return { t: 'stay', f: { ...f, need: 3, lo: 0x80, hi: 0x8f } };
  return REJECT;
}

function stepNumber(f: NFrame, b: number): Step {
  const d = isDigit(b);
  const to = (ph: number): Step => ({ t: 'stay', f: { ...f, ph } });
  switch (f.ph) {
    case 1: return b === 0x30 ? to(2) : d ? to(3) : REJECT;
    case 2: return !f.int && b === 0x2e ? to(4) : !f.int && (b === 0x65 || b === 0x45) ? to(6) : REJECT;
    case 3: return d ? to(3) : !f.int && b === 0x2e ? to(4) : !f.int && (b === 0x65 || b === 0x45) ? to(6) : REJECT;
    case 4: return d ? to(5) : REJECT;
    case 5: return d ? to(5) : b === 0x65 || b === 0x45 ? to(6) : REJECT;
    case 6: return b === 0x2b || b === 0x2d ? to(7) : d ? to(8) : REJECT;
    case 7: case 8: return d ? to(8) : REJECT;
    default: return REJECT;
  }
}

function stepLiteral(f: LFrame, b: number): Step {
  const alts: Uint8Array[] = [];
  const ids: number[] = [];
  for (let j = 0; j < f.alts.length; j++) {
    if (f.alts[j]![f.i] === b) {
      alts.push(f.alts[j]!);
      ids.push(f.ids[j]!);
    }
  }
  if (alts.length === 0) return REJECT;
  const next: LFrame = { ...f, alts, ids, i: f.i + 1 };
  const r = literalAfter(next);
  return r !== null ? { t: 'done', result: r } : { t: 'stay', f: next };
}

function buildStack(parts: GrammarPart[]): Frame[] {
  const frames: Frame[] = [];
  for (let i = parts.length - 1; i >= 0; i--) {
    const p = parts[i]!;
    if ('json' in p) frames.push({ k: 'V', s: p.json, root: true });
    else if ('literal' in p) {
      if (p.literal !== '') frames.push({ k: 'L', alts: [utf8.encode(p.literal)], ids: [0], i: 0, next: null, root: true });
    } else {
      const alts = p.choice.map((c) => utf8.encode(c.literal));
      if (alts.some((a) => a.length === 0)) throw new RangeError('choice literals must not be empty');
      frames.push({ k: 'L', alts, ids: alts.map((_, j) => j), i: 0, next: p.choice.map((c) => buildStack(c.then)), root: true });
    }
  }
  return frames;
}

// ---- tokens ----

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

  constructor(source: TokenSource, vocabSize = source.vocabSize) {
    const plan = source.decodePlan;
    if (plan.wholeText.length > 0) {
      throw new RangeError('JSON-constrained decoding needs a decoder whose output can be followed token by token');
    }
    this.bytes = [];
    const safe: number[] = [];
    this.all = { children: [new Map()], ids: [[]] };
    this.unsafe = { children: [new Map()], ids: [[]] };
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
      this.bytes.push(b);
      if (!b) continue;
      insert(this.all, b, id);
      const isSafe = byteOf(tok!) < 0 && b.every((x) => x >= 0x20 && x !== 0x22 && x !== 0x5c);
      if (isSafe) safe.push(id);
      else insert(this.unsafe, b, id);
    }
    this.stringSafe = Uint32Array.from(safe);
  }

  private static cache = new WeakMap<object, Map<number, TokenTable>>();

  /** The table of a tokenizer, built on first use. */
  static of(source: TokenSource, vocabSize = source.vocabSize): TokenTable {
    let byVocab = TokenTable.cache.get(source);
    if (!byVocab) TokenTable.cache.set(source, (byVocab = new Map()));
    let t = byVocab.get(vocabSize);
    if (!t) byVocab.set(vocabSize, (t = new TokenTable(source, vocabSize)));
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
      const top = state.stack[state.stack.length - 1]!;
      if (top.k === 'S' && top.esc === 0 && top.need === 0) {
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

/** Stable ids for schema nodes, property lists and literals, to key states by. */
const objectIds = new WeakMap<object, number>();
let nextObjectId = 1;
function oid(o: object): number {
  let id = objectIds.get(o);
  if (id === undefined) objectIds.set(o, (id = nextObjectId++));
  return id;
}

/** Two states with the same key allow the same tokens. */
function stateKey(state: GrammarState): string {
  let k = String(state.ws);
  for (const f of state.stack) {
    k += f.root ? ';R' : ';';
    switch (f.k) {
      case 'V': k += 'V' + oid(f.s); break;
      case 'O': k += `O${f.props ? oid(f.props) : 0},${oid(f.values)},${f.ph},${f.idx},${oid(f.cur)}`; break;
      case 'A': k += `A${oid(f.items)},${f.ph}`; break;
      case 'S': k += `S${f.esc},${f.need},${f.lo},${f.hi}`; break;
      case 'N': k += `N${f.ph},${f.int ? 1 : 0}`; break;
      case 'L': k += `L${f.i},${f.next ? oid(f.next) : 0}:` + f.alts.map((a, j) => oid(a) + '=' + f.ids[j]).join(','); break;
    }
  }
  return k;
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
