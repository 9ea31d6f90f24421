// Masks inside a JSON string body for the tokens string_masks.ts leaves out: those with a quote
// that ends the string, an escape, or a partial UTF-8 character. Read from a string body with
// nothing pending, such a token's bytes split the same way whatever the string holds: the
// characters it adds (escapes decoded), then either nothing, a pending partial character or
// escape, or the closing quote and the bytes after it (its "tail"). So, once per vocabulary:
//  - a trie over the characters the tokens add, each node holding the tokens that stop there
//    (no quote) and the tokens that close the string there, grouped by tail;
//  - a trie over the distinct tails (a few hundred at 128K ids), walked with the recognizer
//    from the state after the closing quote: which tails it accepts is remembered per state.
// A free string or an undeclared key adds characters without conditions: every stopping token
// is allowed, and a closing token when the string may close with its text and its tail is
// accepted. Under length and pattern rules the character trie is walked with the automata
// (pruned where one dies or the length runs out), remembered per automaton state. An item of a
// unique array closes into a state that depends on its text only through the array's written
// items: the tails are read once after a stand-in item (keptCloses), and only the nodes whose
// text is an earlier item or one the tails compare with are closed one by one.

import { finish, hexDigitValue, JSON_ESCAPES, probeItems, stepString, UTF8_LEAD, utf8LeadBits, type AFrame, type Frame, type SFrame, type Stack } from './json_frames';
import type { StringRules } from './json_schema';
import { stackKey } from './json_state_key';
import type { GrammarState, JsonGrammar } from './json_grammar';
import { rulesAutomaton, type RulesAutomaton } from './rules_automaton';


/**
 * How a string body with nothing pending reads `b`: the code points it adds and the bytes from
 * the closing quote on (null: the token stays in the string). Null when it breaks the string
 * (a control byte, a bad escape, a byte no UTF-8 character has there). Mirrors stepString.
 */
export function splitStringToken(b: Uint8Array): { cps: number[]; tail: Uint8Array | null } | null {
  const cps: number[] = [];
  let need = 0, lo = 0x80, hi = 0xbf, cp = 0, esc = 0;
  for (let i = 0; i < b.length; i++) {
    const x = b[i]!;
    if (need > 0) {
      if (x < lo || x > hi) return null;
      cp = (cp << 6) | (x & 0x3f);
      lo = 0x80;
      hi = 0xbf;
      if (--need === 0) cps.push(cp);
      continue;
    }
    if (esc === 1) {
      if (x === 0x75) { esc = 5; cp = 0; continue; }
      const e = JSON_ESCAPES[x];
      if (e === undefined) return null;
      cps.push(e);
      esc = 0;
      continue;
    }
    if (esc > 1) {
      const h = hexDigitValue(x);
      if (h < 0) return null;
      cp = (cp << 4) | h;
      if (esc === 2) {
        cps.push(cp);
        esc = 0;
      } else esc--;
      continue;
    }
    if (x === 0x22) return { cps, tail: b.subarray(i) };
    if (x === 0x5c) { esc = 1; continue; }
    if (x < 0x20) return null;
    if (x < 0x80) { cps.push(x); continue; }
    const l = UTF8_LEAD[x]!;
    if (l === 0) return null;
    need = l & 3;
    lo = (l >> 8) & 0xff;
    hi = (l >> 16) & 0xff;
    cp = x & utf8LeadBits(need);
  }
  return { cps, tail: null };
}

/**
 * Per rules and automaton state: the stopping ids a walk allows, the nodes where the string may
 * close (length and patterns satisfied), and the patterns' states at the first of them.
 */
/** Which tails a walk read, the item texts it compared with the written items, and whether each was among them. */
interface ProbedTails { ok: Uint8Array; texts: string[]; found: boolean[] }

interface RulesWalk { stays: Uint32Array; closeNodes: number[]; firstRs: readonly number[] | null }

/** How often keptCloses() read the tails once for a kept string, and closed a node one by one (tests). */
export const keptCloseCounts = { shared: 0, oneByOne: 0 };

const CACHE_PER_RULES = 256;
const ACCEPT_CACHE = 512;

export class StringTails {
  /** The character trie: kids[node] cp -> node; text[node] the characters from the root. */
  private readonly kids: Map<number, number>[] = [new Map()];
  private readonly text: string[] = [''];
  private readonly depth: number[] = [0];
  /** Tokens stopping at a node (no closing quote). */
  private readonly staysAt: number[][] = [[]];
  /** Tokens closing at a node: tail ids and, for each, the token ids. */
  private readonly closeTails: number[][] = [[]];
  private readonly closeIds: number[][][] = [[]];
  /** Nodes with closing tokens. */
  private readonly closing: number[] = [];
  /** Every stopping token (what a string without rules allows of them). */
  private readonly staysAll: Uint32Array;
  /** tailIds[t]: every token with tail t. */
  private readonly tailIds: number[][] = [];
  /** Tails after their quote, in a byte trie: tkids[node] byte -> node, tends[node] the tails ending there. */
  private readonly tkids: Map<number, number>[] = [new Map()];
  private readonly tends: number[][] = [[]];
  /** Most characters a token adds. */
  private readonly deepest: number;
  private readonly rulesCache = new WeakMap<StringRules, Map<string, RulesWalk>>();
  private readonly accepts = new WeakMap<JsonGrammar, Map<string, Uint8Array>>();
  private readonly probed = new WeakMap<JsonGrammar, Map<string, ProbedTails[]>>();

  /** `tokens`: ids and their split (splitStringToken, non-null). */
  constructor(tokens: { id: number; cps: number[]; tail: Uint8Array | null }[]) {
    const tailOf = new Map<string, number>();
    const stays: number[] = [];
    let deepest = 0;
    for (const t of tokens) {
      let node = 0;
      for (const cp of t.cps) {
        let next = this.kids[node]!.get(cp);
        if (next === undefined) {
          next = this.kids.length;
          this.kids.push(new Map());
          this.text.push(this.text[node]! + String.fromCodePoint(cp));
          this.depth.push(this.depth[node]! + 1);
          this.staysAt.push([]);
          this.closeTails.push([]);
          this.closeIds.push([]);
          this.kids[node]!.set(cp, next);
        }
        node = next;
      }
      deepest = Math.max(deepest, t.cps.length);
      if (!t.tail) {
        this.staysAt[node]!.push(t.id);
        stays.push(t.id);
        continue;
      }
      const k = String.fromCharCode(...t.tail);
      let tail = tailOf.get(k);
      if (tail === undefined) {
        tail = this.tailIds.length;
        tailOf.set(k, tail);
        this.tailIds.push([]);
        let tn = 0;
        for (let i = 1; i < t.tail.length; i++) {
          const b = t.tail[i]!;
          let next = this.tkids[tn]!.get(b);
          if (next === undefined) {
            next = this.tkids.length;
            this.tkids.push(new Map());
            this.tends.push([]);
            this.tkids[tn]!.set(b, next);
          }
          tn = next;
        }
        this.tends[tn]!.push(tail);
      }
      this.tailIds[tail]!.push(t.id);
      const at = this.closeTails[node]!;
      let j = at.indexOf(tail);
      if (j < 0) {
        if (at.length === 0) this.closing.push(node);
        j = at.length;
        at.push(tail);
        this.closeIds[node]!.push([]);
      }
      this.closeIds[node]![j]!.push(t.id);
    }
    this.staysAll = Uint32Array.from(stays);
    this.deepest = deepest;
  }

  /**
   * Pushes onto `out` lists of the ids of these tokens that reading `st` (its top `f` a string
   * body with nothing pending) allows; no id twice. The lists are shared: read-only.
   */
  allowed(st: Stack, f: SFrame, g: JsonGrammar, out: ArrayLike<number>[]): void {
    if (f.r === null) {
      out.push(this.staysAll);
      if (f.keep) {
        // An item of a unique array: what closing allows depends on its text (an earlier item's is refused).
        if (!this.keptCloses(st, f, g, this.closing, null, out)) this.closes(st, f, g, this.closing, null, out);
        return;
      }
      if (f.key === null) {
        // A free string: it may close after any characters, into the same state.
        const after = this.close(st, f);
        if (!after) return;
        const ok = this.accepted(g, after);
        for (let t = 0; t < ok.length; t++) if (ok[t] === 1) out.push(this.tailIds[t]!);
        return;
      }
      if (f.key.patterns.length === 0) this.keyCloses(st, f, g, out);
      else this.closes(st, f, g, this.closing, null, out);
      return;
    }
    const w = this.rulesWalk(f);
    out.push(w.stays);
    if (w.closeNodes.length === 0) return;
    if (f.keep) {
      if (!this.keptCloses(st, f, g, w.closeNodes, w.firstRs, out)) this.closes(st, f, g, w.closeNodes, w.firstRs, out);
      return;
    }
    // The string may close at each of these nodes, and (no key: a value) into the same stack.
    const n0 = w.closeNodes[0]!;
    const after = this.close(st, { ...f, len: f.len + this.depth[n0]!, rs: w.firstRs });
    if (!after) return;
    const ok = this.accepted(g, after);
    for (const node of w.closeNodes) {
      this.pushClosing(node, ok, out);
    }
  }

  /** The closing ids at `node` whose tail `ok` accepts, onto `out`. */
  private pushClosing(node: number, ok: Uint8Array, out: ArrayLike<number>[]): void {
    const tails = this.closeTails[node]!;
    for (let j = 0; j < tails.length; j++) if (ok[tails[j]!] === 1) out.push(this.closeIds[node]![j]!);
  }

  /** `f` having read the characters up to `node` (under rules: `rs`, its automaton states there), its text `txt`. */
  private closedAt(f: SFrame, node: number, rs: readonly number[] | null, txt: string): SFrame {
    return { ...f, len: rs ? f.len + this.depth[node]! : f.len, rs: rs ?? f.rs, txt };
  }

  /**
   * The closing tokens at `nodes` that `st` allows. Under rules (`rs`: the automaton states of
   * a node where the string may close, rulesWalk's firstRs: closing is already known to meet
   * the rules there) only for an item of a unique array, whose closing depends on its text.
   */
  private closes(st: Stack, f: SFrame, g: JsonGrammar, nodes: readonly number[], rs: readonly number[] | null, out: ArrayLike<number>[]): void {
    // Without a key the state after the quote does not depend on the text: found once. With
    // one, it depends on it through the value schema the key picks: found once per schema.
    let shared: Uint8Array | null = null;
    const byValue = f.key ? new Map<unknown, Uint8Array>() : null;
    for (let n = 0; n < nodes.length; n++) {
      const node = nodes[n]!;
      const texted = f.key !== null || f.keep;
      const at: SFrame = rs || texted ? this.closedAt(f, node, rs, texted ? f.txt + this.text[node]! : f.txt) : f;
      let ok: Uint8Array | null = null;
      if (!texted && shared) ok = stepString(at, 0x22).t === 'done' ? shared : null;
      else {
        const after = this.close(st, at);
        if (after) {
          const top = after[after.length - 1];
          const k = byValue && top?.k === 'O' ? top.cur : null;
          ok = (k && byValue!.get(k)) || this.accepted(g, after);
          if (k) byValue!.set(k, ok);
        }
        if (!texted) shared = ok;
      }
      if (!ok) continue;
      this.pushClosing(node, ok, out);
    }
  }

  /**
   * closes() for an item of a unique array (`st`'s frame below `f` the array): closing with
   * text x leaves the array with x added to its written items, and the tails after the quote
   * can tell texts apart only where the recognizer compares an item with those (probeItems:
   * a tail that starts or closes a later item). So the tails are read once after a stand-in
   * item no tail compares with, and only the nodes spelling an earlier item (refused) or an
   * item a tail compares with are closed one by one. False: not such a frame, closes() it.
   */
  private keptCloses(st: Stack, f: SFrame, g: JsonGrammar, nodes: readonly number[], rs: readonly number[] | null, out: ArrayLike<number>[]): boolean {
    const parent = st[st.length - 2];
    if (f.root || f.key !== null || nodes.length === 0 || parent?.k !== 'A' || !parent.a.unique) return false;
    const written = new Set(parent.seen.split('\n'));
    let stand = '\u0000';
    while (written.has(JSON.stringify(stand))) stand += '\u0000';
    const after = this.close(st, this.closedAt(f, nodes[0]!, rs, stand));
    if (!after) return false;
    const shared = this.probedAccepted(g, after);
    if (shared.texts.includes(JSON.stringify(stand))) return false;
    keptCloseCounts.shared++;
    // What the nodes' texts (f.txt + text[node]) must be, past f.txt, to be closed one by one.
    const special = new Set<string>();
    for (const t of [...written, ...shared.texts]) {
      if (t.charCodeAt(0) !== 0x22) continue;
      const v = JSON.parse(t) as string;
      if (v.startsWith(f.txt)) special.add(v.slice(f.txt.length));
    }
    for (let n = 0; n < nodes.length; n++) {
      const node = nodes[n]!;
      let ok: Uint8Array | null = shared.ok;
      if (special.has(this.text[node]!)) {
        keptCloseCounts.oneByOne++;
        const at = this.close(st, this.closedAt(f, node, rs, f.txt + this.text[node]!));
        ok = at ? this.accepted(g, at) : null;
      }
      if (!ok) continue;
      this.pushClosing(node, ok, out);
    }
    return true;
  }

  /**
   * accepted() from `stack` (its top a unique array), with the item texts the walk compared
   * (probeItems). Remembered per stack with the array's written items (and where it cannot
   * matter its count) left out, with what the walk found of them: a walk from written items
   * that answer each compared text alike reads alike (and compares the same texts).
   */
  private probedAccepted(g: JsonGrammar, stack: Stack): ProbedTails {
    let memo = this.probed.get(g);
    if (!memo) this.probed.set(g, (memo = new Map()));
    const top = stack[stack.length - 1] as AFrame;
    const written = '\n' + top.seen;
    // Past its prefix items and minItems, with no maxItems, the array reads alike whatever its count.
    const anyCount = top.a.maxItems === Infinity && top.n >= top.a.prefix.length && top.n >= top.a.minItems;
    const key = stackKey([...stack.slice(0, -1), { ...top, seen: '', n: anyCount ? -1 : top.n }]);
    let list = memo.get(key);
    if (list) {
      for (const r of list) if (r.texts.every((t, i) => written.includes('\n' + t + '\n') === r.found[i])) return r;
    } else {
      memo.set(key, (list = []));
      if (memo.size > ACCEPT_CACHE) memo.delete(memo.keys().next().value!);
    }
    const p = probeItems(() => this.walkTails(g, stack));
    const texts = [...p.texts];
    const r: ProbedTails = { ok: p.result, texts, found: texts.map((t) => written.includes('\n' + t + '\n')) };
    list.push(r);
    if (list.length > 16) list.shift();
    return r;
  }

  /**
   * closes() for an undeclared key of an object without patternProperties: the value schema
   * a key picks is the same for every key but the declared and forbidden ones (valueSchema),
   * so only the nodes spelling one of those are closed one by one.
   */
  private keyCloses(st: Stack, f: SFrame, g: JsonGrammar, out: ArrayLike<number>[]): void {
    const o = f.key!;
    const special = new Set<number>();
    for (const k of [...o.props.map((p) => p.key), ...o.forbidden]) {
      if (!k.startsWith(f.txt)) continue;
      let node = 0;
      for (const ch of k.slice(f.txt.length)) {
        node = this.kids[node]!.get(ch.codePointAt(0)!) ?? -1;
        if (node < 0) break;
      }
      if (node >= 0) special.add(node);
    }
    let shared: Uint8Array | null | undefined;
    for (const node of this.closing) {
      let ok: Uint8Array | null;
      if (!special.has(node) && shared !== undefined) ok = shared;
      else {
        const after = this.close(st, { ...f, txt: f.txt + this.text[node]! });
        ok = after ? this.accepted(g, after) : null;
        if (!special.has(node)) shared = ok;
      }
      if (!ok) continue;
      this.pushClosing(node, ok, out);
    }
  }

  /** The reading after `f`'s closing quote, or null when the string may not close there. */
  private close(st: Stack, f: SFrame): Frame[] | null {
    const r = stepString(f, 0x22);
    if (r.t !== 'done') return null;
    const s = st.slice(0, -1);
    return finish(s, f, r.result) ? s : null;
  }

  /** Which tails the recognizer reads from `stack` (just past a closing quote). */
  private accepted(g: JsonGrammar, stack: Stack): Uint8Array {
    let memo = this.accepts.get(g);
    if (!memo) this.accepts.set(g, (memo = new Map()));
    const key = stackKey(stack);
    let ok = memo.get(key);
    if (ok) return ok;
    ok = this.walkTails(g, stack);
    memo.set(key, ok);
    if (memo.size > ACCEPT_CACHE) memo.delete(memo.keys().next().value!);
    return ok;
  }

  /** The tail trie read by the recognizer from `stack`: 1 at the tails it reads. */
  private walkTails(g: JsonGrammar, stack: Stack): Uint8Array {
    const ok = new Uint8Array(this.tailIds.length);
    const walk = (node: number, state: GrammarState) => {
      for (const t of this.tends[node]!) ok[t] = 1;
      for (const [b, child] of this.tkids[node]!) {
        const next = g.feed(state, b);
        if (next) walk(child, next);
      }
    };
    walk(0, { stacks: [stack], ws: 0, grammar: g });
    return ok;
  }

  /** The character trie walked under `f`'s rules; remembered per automaton state and what of the length rules can bite. */
  private rulesWalk(f: SFrame): RulesWalk {
    const r = f.r!;
    let byState = this.rulesCache.get(r);
    if (!byState) this.rulesCache.set(r, (byState = new Map()));
    const a = rulesAutomaton(r.patterns);
    const s0 = a.state(f.rs ?? []);
    const room = Math.min(r.maxLength - f.len, this.deepest + 1);
    const short = Math.max(0, r.minLength - f.len);
    const key = s0 + '|' + room + '|' + short;
    let w = byState.get(key);
    if (w) return w;
    const stays: number[] = [];
    const closeNodes: number[] = [];
    const closeStates: number[] = [];
    if (s0 >= 0) this.visit(0, s0, room, short, a, stays, closeNodes, closeStates);
    w = { stays: Uint32Array.from(stays), closeNodes, firstRs: closeStates.length ? a.parts(closeStates[0]!) : null };
    byState.set(key, w);
    if (byState.size > CACHE_PER_RULES) byState.delete(byState.keys().next().value!);
    return w;
  }

  /** rulesWalk() below `node`, read into automaton state s with `room` characters left and `short` still needed. */
  private visit(node: number, s: number, room: number, short: number, a: RulesAutomaton, stays: number[], closeNodes: number[], closeStates: number[]): void {
    for (const id of this.staysAt[node]!) stays.push(id);
    if (this.closeTails[node]!.length > 0 && short <= 0 && a.accepts(s)) {
      closeNodes.push(node);
      closeStates.push(s);
    }
    if (room <= 0) return;
    for (const [cp, child] of this.kids[node]!) {
      const next = a.step(s, a.classOf(cp));
      if (next >= 0) this.visit(child, next, room - 1, short - 1, a, stays, closeNodes, closeStates);
    }
  }
}
