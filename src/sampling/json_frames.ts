// The recognizer's frames and how each reads one byte (json_grammar.ts runs the stacks of them).
// Every function here is pure: a frame and a byte in, the steps that follow out.

import { exponentFeasible, exponentOk } from './json_number_exponent';
import { ANY, ANY_OBJECT, numberOk, valueSchema, type NumberRules, type SchemaNode, type StringRules } from './json_schema';
export type ObjectNode = Extract<SchemaNode, { kind: 'object' }>;
export type ArrayNode = Extract<SchemaNode, { kind: 'array' }>;

interface Base { readonly root: boolean }
/** A value is expected (leading whitespace allowed). */
export interface VFrame extends Base { readonly k: 'V'; readonly s: SchemaNode }
/**
 * Object. ph: 0 after '{', 1 expecting ':', 2 after a value, 3 after ',', 4 value in progress,
 * 5 key in progress. idx: the next declared property (schema order), n: keys so far, cur: the
 * value's schema; seen (any order): '1' at the declared properties written so far.
 */
export interface OFrame extends Base { readonly k: 'O'; readonly o: ObjectNode; readonly ph: number; readonly idx: number; readonly n: number; readonly cur: SchemaNode; readonly seen: string }
/** Array. ph: 0 after '[', 1 after a value, 2 after ',', 3 value in progress; n: items so far. */
/** Array. seen (unique arrays): the items so far in canonical form (itemText), each followed by a newline. */
export interface AFrame extends Base { readonly k: 'A'; readonly a: ArrayNode; readonly ph: number; readonly n: number; readonly seen: string }
/**
 * String body. esc: 0 none, 1 after '\', 2..5 hex digits left + 1. need: UTF-8 continuation
 * bytes left, in [lo, hi]; cp: the code point being read. r: rules (len characters so far, rs
 * the patterns' states); key: an object whose undeclared key this is (txt: the key so far);
 * keep: an item of a unique array (txt: the text so far).
 */
export interface SFrame extends Base {
  readonly k: 'S'; readonly esc: number; readonly need: number; readonly lo: number; readonly hi: number; readonly cp: number;
  readonly r: StringRules | null; readonly len: number; readonly rs: readonly number[] | null;
  readonly key: ObjectNode | null; readonly keep: boolean; readonly txt: string;
}
/** Number. ph: 1 '-', 2 leading 0, 3 int digits, 4 '.', 5 fraction, 6 'e', 7 exponent sign, 8 exponent digits; txt kept when r is set. */
export interface NFrame extends Base { readonly k: 'N'; readonly ph: number; readonly int: boolean; readonly r: NumberRules | null; readonly txt: string }
/** Literal alternatives, `i` bytes matched. `ids[j]` is what alts[j] reports; `next[id]` the parts that follow a root choice. */
export interface LFrame extends Base {
  readonly k: 'L';
  readonly alts: readonly Uint8Array[];
  readonly ids: readonly number[];
  readonly i: number;
  readonly next: readonly (readonly Frame[])[] | null;
}
export type Frame = VFrame | OFrame | AFrame | SFrame | NFrame | LFrame;
export type Stack = readonly Frame[];

export const isWsByte = (b: number) => b === 0x20 || b === 0x0a || b === 0x09 || b === 0x0d;
export const isDigit = (b: number) => b >= 0x30 && b <= 0x39;
/** The value of hex digit `b` (either case), -1 when it is not one. */
export const hexDigitValue = (b: number) => (isDigit(b) ? b - 0x30 : (b | 0x20) >= 0x61 && (b | 0x20) <= 0x66 ? (b | 0x20) - 0x57 : -1);
/** The phases a number may end in (bit ph): 2, 3, 5 and 8. */
const NUM_ACCEPT = (1 << 2) | (1 << 3) | (1 << 5) | (1 << 8);
export const utf8 = new TextEncoder();
const LIT_TRUE = utf8.encode('true');
const LIT_FALSE = utf8.encode('false');
const LIT_NULL = utf8.encode('null');
/**
 * Per byte, as a UTF-8 lead byte: its continuation bytes `need` | the next byte's lowest << 8 |
 * its highest << 16; 0 when it is no lead byte (the ranges a strict decoder accepts: no
 * overlongs, no surrogates, <= U+10FFFF). Later continuation bytes are 0x80 .. 0xbf.
 */
export const UTF8_LEAD = ((): Int32Array => {
  const t = new Int32Array(256);
  const leads: [from: number, to: number, need: number, lo: number, hi: number][] = [
    [0xc2, 0xdf, 1, 0x80, 0xbf],
    [0xe0, 0xe0, 2, 0xa0, 0xbf],
    [0xe1, 0xef, 2, 0x80, 0xbf],
    [0xed, 0xed, 2, 0x80, 0x9f],
    [0xf0, 0xf0, 3, 0x90, 0xbf],
    [0xf1, 0xf3, 3, 0x80, 0xbf],
    [0xf4, 0xf4, 3, 0x80, 0x8f],
  ];
  for (const [from, to, need, lo, hi] of leads) for (let x = from; x <= to; x++) t[x] = need | (lo << 8) | (hi << 16);
  return t;
})();
/** The bits of a lead byte with `need` continuation bytes that belong to its code point (0x1f, 0x0f, 0x07). */
export const utf8LeadBits = (need: number): number => 0x7f >> (need + 1);
/** What the byte after a backslash stands for (all but 'u'). */
export const JSON_ESCAPES: Record<number, number> = { 0x22: 0x22, 0x5c: 0x5c, 0x2f: 0x2f, 0x62: 8, 0x66: 12, 0x6e: 10, 0x72: 13, 0x74: 9 };

export type Step =
  | { t: 'stay'; f: Frame; ws?: boolean }
  /** Byte consumed by the top, which becomes `f`; `child` (already past the byte) goes on top. */
  | { t: 'push'; f: Frame; child: Frame }
  /** Top becomes `f`; `child` goes on top and the byte is fed to it. */
  | { t: 'refeed'; f: Frame; child: Frame }
  | { t: 'done'; result: number }
  | { t: 'reject' };

export const REJECT: Step = { t: 'reject' };

/** The frames a value can start with after reading its first byte `b`. */
export function startValue(s: SchemaNode, b: number, root: boolean, mayNest: boolean, depth: number): Frame[] {
  switch (s.kind) {
    case 'union': {
      const out: Frame[] = [];
      for (const o of s.options) out.push(...startValue(o, b, root, mayNest, depth + 1));
      return out;
    }
    case 'ref':
      return s.target.node && depth < 64 ? startValue(s.target.node, b, root, mayNest, depth + 1) : [];
    case 'any':
      if (b === 0x7b) return startValue(ANY_OBJECT, b, root, mayNest, depth);
      if (b === 0x5b) return mayNest ? [{ k: 'A', a: ANY_ARRAY, ph: 0, n: 0, root, seen: '' }] : [];
      if (b === 0x22) return [string(root, null, null)];
      if (b === 0x2d || isDigit(b)) return [number(b, false, null, root)];
      if (b === 0x74) return [literal([LIT_TRUE], root)];
      if (b === 0x66) return [literal([LIT_FALSE], root)];
      if (b === 0x6e) return [literal([LIT_NULL], root)];
      return [];
    case 'object':
      return b === 0x7b && mayNest ? [{ k: 'O', o: s, ph: 0, idx: 0, n: 0, cur: ANY, root, seen: s.anyOrder ? '0'.repeat(s.props.length) : '' }] : [];
    case 'array':
      return b === 0x5b && mayNest ? [{ k: 'A', a: s, ph: 0, n: 0, root, seen: '' }] : [];
    case 'string':
      return b === 0x22 ? [string(root, s.rules, null, s.keep === true)] : [];
    case 'number':
    case 'integer': {
      if (!(b === 0x2d || isDigit(b))) return [];
      const f = number(b, s.kind === 'integer', s.rules, root);
      return !f.r || canStillEnd(f.txt, f.ph, f.r, f.int) ? [f] : [];
    }
    case 'boolean':
      return b === 0x74 ? [literal([LIT_TRUE], root)] : b === 0x66 ? [literal([LIT_FALSE], root)] : [];
    case 'null':
      return b === 0x6e ? [literal([LIT_NULL], root)] : [];
    case 'enum': {
      // ids: each literal's place in the enum (a unique array tells its items apart by them).
      const ids: number[] = [];
      s.literals.forEach((l, j) => l[0] === b && ids.push(j));
      return ids.length ? [{ k: 'L', alts: ids.map((j) => s.literals[j]!), ids, i: 1, next: null, root }] : [];
    }
  }
}

const ANY_ARRAY: ArrayNode = { kind: 'array', prefix: [], items: ANY, minItems: 0, maxItems: Infinity };

const string = (root: boolean, r: StringRules | null, key: ObjectNode | null, keep = false): SFrame => ({
  k: 'S', esc: 0, need: 0, lo: 0x80, hi: 0xbf, cp: 0, r, len: 0, rs: r ? r.patterns.map((p) => p.start) : null, key, keep, txt: '', root,
});
const number = (b: number, int: boolean, r: NumberRules | null, root: boolean): NFrame => ({
  k: 'N', ph: b === 0x2d ? 1 : b === 0x30 ? 2 : 3, int, r, txt: r ? String.fromCharCode(b) : '', root,
});
const literal = (alts: Uint8Array[], root: boolean): LFrame => ({ k: 'L', alts, ids: alts.map(() => -1), i: 1, next: null, root });

/** The id of a fully matched alternative that no other alternative extends, else null. */
export function literalAfter(f: LFrame): number | null {
  let full = -1;
  for (let j = 0; j < f.alts.length; j++) {
    if (f.alts[j]!.length === f.i) full = j;
    else return null;
  }
  return full >= 0 ? f.ids[full]! : null;
}

/** The result a frame reports if it ended here, or -1 when it cannot end. */
export function accepting(f: Frame): number {
  if (f.k === 'N') return (f.r && f.ph === 8 ? exponentOk(f.txt, f.r) : numberEnds(f.ph, f.r, f.r ? Number(f.txt) : 0) && (!f.r || bigIntegerOk(f.txt, f.r))) ? 0 : -1;
  if (f.k === 'L') {
    const j = f.alts.findIndex((a) => a.length === f.i);
    return j < 0 ? -1 : Math.max(0, f.ids[j]!);
  }
  return -1;
}

const SAFE = 2n ** 53n;
/**
 * Integers past 2^53 against the bounds exactly (as doubles, 9223372036854776001 and the bound
 * 9223372036854776000 are equal). The bound is the double the schema's number parsed to.
 */
function bigIntegerOk(txt: string, r: NumberRules): boolean {
  if (txt.length < 16) return true; // under 10^15 in magnitude: exact as a double
  if (!/^-?\d+$/.test(txt)) return true;
  const v = BigInt(txt);
  if (v > -SAFE && v < SAFE) return true;
  if (Number.isInteger(r.max) && (r.maxExcl ? v >= BigInt(r.max) : v > BigInt(r.max))) return false;
  if (Number.isInteger(r.min) && (r.minExcl ? v <= BigInt(r.min) : v < BigInt(r.min))) return false;
  return true;
}

/** After `child` was popped: tell its container, or start what a root choice continues with. False: this reading dies. */
export function finish(stack: Frame[], child: Frame, result: number): boolean {
  if (child.root) {
    if (child.k === 'L' && child.next) stack.push(...child.next[result]!);
    return true;
  }
  const parent = stack[stack.length - 1]!;
  if (parent.k === 'O') {
    if (parent.ph === 5) {
      if (child.k === 'L') {
        const p = parent.o.props[result]!;
        const seen = parent.o.anyOrder ? parent.seen.slice(0, result) + '1' + parent.seen.slice(result + 1) : '';
        stack[stack.length - 1] = { ...parent, ph: 1, idx: parent.o.anyOrder ? 0 : result + 1, n: parent.n + 1, cur: p.schema, seen };
      } else {
        const cur = extraKeySchema(parent.o, (child as SFrame).txt);
        if (!cur) return false;
        stack[stack.length - 1] = { ...parent, ph: 1, n: parent.n + 1, cur };
      }
    } else stack[stack.length - 1] = { ...parent, ph: 2 };
  } else if (parent.k === 'A') {
    if (!parent.a.unique) stack[stack.length - 1] = { ...parent, ph: 1, n: parent.n + 1 };
    else {
      const t = itemText(child, result);
      if (itemProbe && t !== null) itemProbe.add(t);
      if (t === null || ('\n' + parent.seen).includes('\n' + t + '\n')) return false; // an item equal to an earlier one
      stack[stack.length - 1] = { ...parent, ph: 1, n: parent.n + 1, seen: parent.seen + t + '\n' };
    }
  }
  return true;
}

const utf8Decoder = new TextDecoder();

/**
 * A finished item of a unique array in canonical form (JSON.stringify of its value); null: not
 * comparable. A literal's is the one `result` names (an enum's place), or its only one (true...).
 */
function itemText(f: Frame, result: number): string | null {
  if (f.k === 'S') return f.keep ? JSON.stringify(f.txt) : null;
  if (f.k === 'L') {
    const j = f.ids.indexOf(result);
    const lit = j >= 0 ? f.alts[j] : f.alts.length === 1 ? f.alts[0] : undefined;
    return lit ? JSON.stringify(JSON.parse(utf8Decoder.decode(lit))) : null;
  }
  return null;
}

/** The value schema of an undeclared key, or null when the object does not allow it. */
function extraKeySchema(o: ObjectNode, key: string): SchemaNode | null {
  if (o.props.some((p) => p.key === key)) return null; // declared keys are written as declared
  return valueSchema(o, key);
}

/** Declared keys the object may write next: in schema order from idx up to and including the first required one; in any order every one not yet written. */
function keyCandidates(f: OFrame): { alts: Uint8Array[]; ids: number[]; mayClose: boolean } {
  const alts: Uint8Array[] = [];
  const ids: number[] = [];
  const props = f.o.props;
  let mayClose = f.n >= f.o.minProps;
  if (f.o.anyOrder) {
    for (let j = 0; j < props.length; j++) {
      if (f.seen.charCodeAt(j) === 0x31) continue;
      alts.push(props[j]!.keyBytes);
      ids.push(j);
      if (props[j]!.required) mayClose = false;
    }
    return { alts, ids, mayClose };
  }
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

const hasExtras = (o: ObjectNode) => o.extra !== null || o.patterns.length > 0;

export function stepObject(f: OFrame, b: number, ws: boolean): Step | Step[] {
  switch (f.ph) {
    case 0:
    case 3: {
      if (ws) return { t: 'stay', f, ws: true };
      // Only a quote (or '}' right after '{') can follow: the candidates are listed for those alone.
      if (b !== 0x22 && (b !== 0x7d || f.ph !== 0)) return REJECT;
      const c = keyCandidates(f);
      if (b === 0x7d) return c.mayClose ? { t: 'done', result: 0 } : REJECT;
      if (f.n >= f.o.maxProps) return REJECT;
      const steps: Step[] = [];
      if (c.alts.length > 0) steps.push({ t: 'push', f: { ...f, ph: 5 }, child: { k: 'L', alts: c.alts, ids: c.ids, i: 1, next: null, root: false } });
      if (hasExtras(f.o)) steps.push({ t: 'push', f: { ...f, ph: 5 }, child: string(false, null, f.o) });
      return steps;
    }
    case 1:
      if (ws) return { t: 'stay', f, ws: true };
      if (b === 0x3a) return { t: 'push', f: { ...f, ph: 4 }, child: { k: 'V', s: f.cur, root: false } };
      return REJECT;
    case 2: {
      if (ws) return { t: 'stay', f, ws: true };
      if (b !== 0x2c && b !== 0x7d) return REJECT;
      const c = keyCandidates(f);
      if (b === 0x2c && f.n < f.o.maxProps && (c.alts.length > 0 || hasExtras(f.o))) return { t: 'stay', f: { ...f, ph: 3 } };
      if (b === 0x7d && c.mayClose) return { t: 'done', result: 0 };
      return REJECT;
    }
    default:
      return REJECT; // a child is in progress; never the top
  }
}

const itemAt = (a: ArrayNode, n: number): SchemaNode | null => (n >= a.maxItems ? null : n < a.prefix.length ? a.prefix[n]! : a.items);

/** The next item's schema; in a unique array without the literals already written (else their prefixes would be dead ends). */
function nextItem(f: AFrame): SchemaNode {
  const s = itemAt(f.a, f.n)!;
  if (itemProbe && f.a.unique) probeLiterals(s, itemProbe);
  return f.a.unique && f.seen ? unseen(s, f.seen) : s;
}

const unseenMemo = new WeakMap<SchemaNode, Map<string, SchemaNode>>();
const LITERAL_OF: Partial<Record<SchemaNode['kind'], unknown[]>> = { boolean: [true, false], null: [null] };

/** `s` (an item schema of a unique array: strings, literals, unions of them) without the values in `seen`. */
function unseen(s: SchemaNode, seen: string): SchemaNode {
  let m = unseenMemo.get(s);
  if (!m) unseenMemo.set(s, (m = new Map()));
  let out = m.get(seen);
  if (out) return out;
  const has = (v: unknown) => ('\n' + seen).includes('\n' + JSON.stringify(v) + '\n');
  if (s.kind === 'union') out = { kind: 'union', options: s.options.map((o) => unseen(o, seen)) };
  else if (s.kind === 'enum' || LITERAL_OF[s.kind]) {
    const values = s.kind === 'enum' ? s.values : LITERAL_OF[s.kind]!;
    const keep = values.filter((v) => !has(v));
    out = keep.length === values.length ? s : { kind: 'enum', values: keep, literals: keep.map((v) => utf8Encoder.encode(JSON.stringify(v))) };
  } else out = s;
  if (m.size >= 256) m.clear();
  m.set(seen, out);
  return out;
}
const utf8Encoder = new TextEncoder();

/**
 * While set (probeItems), every item text a unique array compares with its written items is
 * added: in finish, the finished item's; in nextItem, every literal unseen() may look up.
 */
let itemProbe: Set<string> | null = null;

function probeLiterals(s: SchemaNode, out: Set<string>): void {
  if (s.kind === 'union') for (const o of s.options) probeLiterals(o, out);
  else if (s.kind === 'enum' || LITERAL_OF[s.kind]) for (const v of s.kind === 'enum' ? s.values : LITERAL_OF[s.kind]!) out.add(JSON.stringify(v));
}

/**
 * Runs `run` and returns, with its result, the item texts unique arrays compared with their
 * written items meanwhile (a superset). A reading whose written items differ from another's
 * only in one item x reads alike wherever x is not among them (string_tails.ts: kept strings).
 */
export function probeItems<T>(run: () => T): { result: T; texts: Set<string> } {
  const outer = itemProbe;
  const texts = new Set<string>();
  itemProbe = texts;
  try {
    return { result: run(), texts };
  } finally {
    itemProbe = outer;
    if (outer) for (const t of texts) outer.add(t);
  }
}

export function stepArray(f: AFrame, b: number, ws: boolean): Step {
  if (ws && f.ph !== 3) return { t: 'stay', f, ws: true };
  switch (f.ph) {
    case 0: {
      if (b === 0x5d) return f.a.minItems === 0 ? { t: 'done', result: 0 } : REJECT;
      const s = itemAt(f.a, 0);
      return s ? { t: 'refeed', f: { ...f, ph: 3 }, child: { k: 'V', s: nextItem(f), root: false } } : REJECT;
    }
    case 1:
      if (b === 0x2c) return itemAt(f.a, f.n) ? { t: 'stay', f: { ...f, ph: 2 } } : REJECT;
      if (b === 0x5d) return f.n >= f.a.minItems ? { t: 'done', result: 0 } : REJECT;
      return REJECT;
    case 2:
      return { t: 'refeed', f: { ...f, ph: 3 }, child: { k: 'V', s: nextItem(f), root: false } };
    default:
      return REJECT;
  }
}

/** The string frame after one more decoded character, or null. */
function addChar(f: SFrame, cp: number, rest: Partial<SFrame>): Step {
  let rs = f.rs;
  if (f.r) {
    if (f.len + 1 > f.r.maxLength) return REJECT;
    if (rs) {
      const next: number[] = [];
      for (let i = 0; i < rs.length; i++) {
        const s = f.r.patterns[i]!.step(rs[i]!, cp);
        if (s < 0) return REJECT;
        next.push(s);
      }
      rs = next;
    }
  }
  return { t: 'stay', f: { ...f, ...rest, len: f.len + 1, rs, txt: f.key || f.keep ? f.txt + String.fromCodePoint(cp) : f.txt } };
}

export function stepString(f: SFrame, b: number): Step {
  const plain = f.r === null && f.key === null && !f.keep;
  if (f.need > 0) {
    if (b < f.lo || b > f.hi) return REJECT;
    const cp = (f.cp << 6) | (b & 0x3f);
    if (f.need > 1 || plain) return { t: 'stay', f: { ...f, need: f.need - 1, lo: 0x80, hi: 0xbf, cp } };
    return addChar(f, cp, { need: 0, lo: 0x80, hi: 0xbf, cp: 0 });
  }
  if (f.esc === 1) {
    if (b === 0x75) return { t: 'stay', f: { ...f, esc: 5, cp: 0 } };
    const e = JSON_ESCAPES[b];
    if (e === undefined) return REJECT;
    return plain ? { t: 'stay', f: { ...f, esc: 0 } } : addChar(f, e, { esc: 0 });
  }
  if (f.esc > 1) {
    const h = hexDigitValue(b);
    if (h < 0) return REJECT;
    const cp = (f.cp << 4) | h;
    if (f.esc > 2 || plain) return { t: 'stay', f: { ...f, esc: f.esc === 2 ? 0 : f.esc - 1, cp: plain ? 0 : cp } };
    return addChar(f, cp, { esc: 0, cp: 0 });
  }
  if (b === 0x22) {
    if (f.r && (f.len < f.r.minLength || f.rs!.some((s, i) => !f.r!.patterns[i]!.accepts(s)))) return REJECT;
    if (f.key && !extraKeySchema(f.key, f.txt)) return REJECT;
    return { t: 'done', result: 0 };
  }
  if (b === 0x5c) return { t: 'stay', f: { ...f, esc: 1 } };
  if (b < 0x20) return REJECT;
  if (b < 0x80) return plain ? { t: 'stay', f } : addChar(f, b, {});
  const l = UTF8_LEAD[b]!;
  if (l === 0) return REJECT;
  const need = l & 3;
  return lead(f, plain, need, (l >> 8) & 0xff, (l >> 16) & 0xff, b & utf8LeadBits(need));
}

/** A string frame after a UTF-8 lead byte: `need` continuation bytes, the next in [lo, hi]. */
function lead(f: SFrame, plain: boolean, need: number, lo: number, hi: number, cp: number): Step {
  return { t: 'stay', f: { ...f, need, lo, hi, cp: plain ? 0 : cp } };
}

/** The phase a number moves to when it reads `b` (its syntax alone, before any bounds), or 0 when it cannot. */
export function numberPhase(ph: number, int: boolean, b: number): number {
  const d = isDigit(b);
  const e = b === 0x65 || b === 0x45;
  switch (ph) {
    case 1: return b === 0x30 ? 2 : d ? 3 : 0;
    case 2: return int ? 0 : b === 0x2e ? 4 : e ? 6 : 0;
    case 3: return d ? 3 : int ? 0 : b === 0x2e ? 4 : e ? 6 : 0;
    case 4: return d ? 5 : 0;
    case 5: return d ? 5 : e ? 6 : 0;
    case 6: return b === 0x2b || b === 0x2d ? 7 : d ? 8 : 0;
    case 7: case 8: return d ? 8 : 0;
    default: return 0;
  }
}

export function stepNumber(f: NFrame, b: number): Step {
  const ph = numberPhase(f.ph, f.int, b);
  return ph === 0 ? REJECT : numberTo(f, b, ph);
}

/** The number frame after byte `b` moves it to phase `ph` (bounded numbers: if the bounds can still be met). */
function numberTo(f: NFrame, b: number, ph: number): Step {
  if (!f.r) return f.ph === ph ? { t: 'stay', f } : { t: 'stay', f: { ...f, ph } };
  const txt = f.txt + String.fromCharCode(b);
  return canStillEnd(txt, ph, f.r, f.int) ? { t: 'stay', f: { ...f, ph, txt } } : REJECT;
}

/**
 * Whether a bounded number written so far (`txt`, in phase `ph`) can still end inside the rules.
 * The mask walk (number_walk.ts) calls it on the text for exponents, and decides the rest on the
 * same double arithmetically (boundedStep, numberOk, and mantissaFeasible for the exponent
 * rescue, compared with exponentFeasible in number_masks.test.ts), handing the bytes it cannot
 * call (past exact doubles, a bound too close to a power of ten) to the recognizer.
 */
export function canStillEnd(txt: string, ph: number, r: NumberRules, int: boolean): boolean {
  if (ph >= 6) return exponentFeasible(txt, r);
  let ok: boolean;
  const frac = ph >= 4 ? txt.length - txt.indexOf('.') - 1 : 0;
  // All the digits allowed after the point are written: only zeros may follow, the value is fixed.
  if (ph >= 4 && frac >= r.maxFrac) ok = /^0*$/.test(txt.slice(txt.length - frac + r.maxFrac)) && numberOk(Number(txt), r);
  else ok = feasible(txt, ph, r, int);
  // An exponent may still bring the value inside ("60e-1" under maximum 10).
  if (!ok && !int && ph !== 1) ok = exponentFeasible(ph === 4 ? txt + '0e' : txt + 'e', r);
  return ok;
}

/** Whether a bounded number's text so far (`ph`: the phase it ends in) can still end inside the rules. */
function feasible(txt: string, ph: number, r: NumberRules, int: boolean): boolean {
  const neg = txt.charCodeAt(0) === 0x2d;
  const body = neg ? txt.slice(1) : txt;
  const dot = body.indexOf('.');
  if (dot < 0) return boundedStep(ph, neg, ph === 3 ? Number(body) : 0, 0, r, int);
  const frac = body.slice(dot + 1);
  return boundedStep(ph, neg, Number(body.slice(0, dot) + '.' + (frac || '0')), frac.length, r, int);
}

/**
 * Whether a bounded number may move to phase `ph` and still end inside its rules, its text so
 * far (no exponent) given as: a '-' or not (`neg`), the value of its digits (`v`, the digits
 * before and after the point as a double; any value in phases 1 and 2, where the digits are
 * none and '0') and the number of digits after the point (`frac`). The recognizer parses its
 * text (feasible()); the mask walk (number_walk.ts) keeps the same double arithmetically.
 */
export function boundedStep(ph: number, neg: boolean, v: number, frac: number, r: NumberRules, int: boolean): boolean {
  switch (ph) {
    case 1: return hits(0, Infinity, neg, r);
    case 2: return hits(0, int ? 0 : 1, neg, r);
    case 3: {
      // Longer numbers grow away from zero, towards the bound on the sign's side.
      const reach = neg ? -r.min : r.max;
      if (reach === Infinity) return true;
      for (let scale = 1; ; scale *= 10) {
        const a = v * scale;
        if (hits(a, int ? (v + 1) * scale - 1 : (v + 1) * scale, neg, r)) return true;
        if (a > reach) return false;
      }
    }
    case 4:
      return r.maxFrac !== 0 && hits(v, v + 10 ** -frac, neg, r);
    case 5:
      return frac <= r.maxFrac && hits(v, v + 10 ** -frac, neg, r);
    default:
      return false; // phases 6-8 (the exponent) are decided on the text by exponentFeasible, never here
  }
}

/** Whether the numbers of magnitude in [a, b] (negated when `neg`) meet the bounds. */
function hits(a: number, b: number, neg: boolean, r: NumberRules): boolean {
  const lo = neg ? -b : a, hi = neg ? -a : b;
  return (r.minExcl ? hi > r.min : hi >= r.min) && (r.maxExcl ? lo < r.max : lo <= r.max);
}

/** Whether a number in phase `ph` may end here; bounded numbers: `x` is its value (Number of its text). */
export function numberEnds(ph: number, r: NumberRules | null, x: number): boolean {
  return ((NUM_ACCEPT >> ph) & 1) === 1 && (!r || numberOk(x, r));
}

export function stepLiteral(f: LFrame, b: number): Step {
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

