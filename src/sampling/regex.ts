// The ECMAScript regular-expression subset JSON schemas use in `pattern`, compiled to an
// automaton over code points (a Thompson NFA, determinized lazily as the text is read). Code
// points no edge tells apart form a character class; a DFA state's transitions are a table per
// class (a new state costs one NFA step per class, not one per code point it meets).
// Supported: literals, `.`, classes `[...]` (ranges, negation, \d \w \s and their negations),
// groups `( )`, `(?: )`, `(?<name> )`, alternation, the quantifiers * + ? {n} {n,} {n,m} (lazy
// forms too: they match the same strings), and the anchors ^ $. A pattern matches anywhere in
// the string unless anchored, as JSON Schema's `pattern` does. Lookaround, backreferences and
// word boundaries are refused with a RegexError: the recognizer can only promise what it checks.

export class RegexError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RegexError';
  }
}

type Ast =
  | { t: 'set'; r: number[] } // sorted, disjoint [lo, hi] pairs
  | { t: 'seq'; xs: Ast[] }
  | { t: 'alt'; xs: Ast[] }
  | { t: 'rep'; x: Ast; min: number; max: number } // max -1: unbounded
  | { t: 'bol' }
  | { t: 'eol' };

const MAX_CP = 0x10ffff;
/** Automata beyond this many NFA states are refused (a pattern such as `[a-z]{1,5000}`). */
export const MAX_REGEX_STATES = 20000;

const range = (...pairs: number[]): number[] => normalize(pairs);
const DIGIT = range(0x30, 0x39);
const WORD = range(0x30, 0x39, 0x41, 0x5a, 0x5f, 0x5f, 0x61, 0x7a);
const SPACE = range(9, 13, 0x20, 0x20, 0xa0, 0xa0, 0x1680, 0x1680, 0x2000, 0x200a, 0x2028, 0x2029, 0x202f, 0x202f, 0x205f, 0x205f, 0x3000, 0x3000, 0xfeff, 0xfeff);
const DOT = complement(range(0x0a, 0x0a, 0x0d, 0x0d, 0x2028, 0x2029));
const ANYCHAR = range(0, MAX_CP);

function normalize(pairs: number[]): number[] {
  const items: [number, number][] = [];
  for (let i = 0; i < pairs.length; i += 2) items.push([pairs[i]!, pairs[i + 1]!]);
  items.sort((a, b) => a[0] - b[0]);
  const out: number[] = [];
  for (const [lo, hi] of items) {
    const n = out.length;
    if (n > 0 && lo <= out[n - 1]! + 1) out[n - 1] = Math.max(out[n - 1]!, hi);
    else out.push(lo, hi);
  }
  return out;
}

function complement(r: number[]): number[] {
  const out: number[] = [];
  let next = 0;
  for (let i = 0; i < r.length; i += 2) {
    if (r[i]! > next) out.push(next, r[i]! - 1);
    next = r[i + 1]! + 1;
  }
  if (next <= MAX_CP) out.push(next, MAX_CP);
  return out;
}

class Parser {
  private i = 0;
  private readonly cps: number[];
  constructor(private readonly src: string) {
    this.cps = [...src].map((c) => c.codePointAt(0)!);
  }
  private peek(): number | undefined { return this.cps[this.i]; }
  private fail(what: string): never {
    throw new RegexError(`${what} at offset ${this.i} of /${this.src}/`);
  }

  parse(): Ast {
    const a = this.alt();
    if (this.i < this.cps.length) this.fail('unbalanced ")"');
    return a;
  }

  private alt(): Ast {
    const xs = [this.seq()];
    while (this.peek() === 0x7c) {
      this.i++;
      xs.push(this.seq());
    }
    return xs.length === 1 ? xs[0]! : { t: 'alt', xs };
  }

  private seq(): Ast {
    const xs: Ast[] = [];
    for (;;) {
      const c = this.peek();
      if (c === undefined || c === 0x7c || c === 0x29) break;
      let atom = this.atom();
      atom = this.quantified(atom);
      xs.push(atom);
    }
    return { t: 'seq', xs };
  }

  private quantified(atom: Ast): Ast {
    for (;;) {
      const c = this.peek();
      let min: number, max: number;
      if (c === 0x2a) { min = 0; max = -1; this.i++; }
      else if (c === 0x2b) { min = 1; max = -1; this.i++; }
      else if (c === 0x3f) { min = 0; max = 1; this.i++; }
      else if (c === 0x7b && this.braceAhead()) {
        this.i++;
        min = this.int();
        max = min;
        if (this.peek() === 0x2c) {
          this.i++;
          max = this.peek() === 0x7d ? -1 : this.int();
        }
        if (this.peek() !== 0x7d) this.fail('expected "}"');
        this.i++;
        if (max !== -1 && max < min) this.fail('quantifier {n,m} with m < n');
      } else return atom;
      if (atom.t === 'bol' || atom.t === 'eol') this.fail('quantified anchor');
      if (this.peek() === 0x3f) this.i++; // lazy: same language
      atom = { t: 'rep', x: atom, min, max };
      if (this.peek() === 0x2a || this.peek() === 0x2b || (this.peek() === 0x7b && this.braceAhead())) this.fail('nothing to repeat');
    }
  }

  private braceAhead(): boolean {
    const rest = String.fromCodePoint(...this.cps.slice(this.i, this.i + 24));
    return /^\{\d+(,\d*)?\}/.test(rest);
  }

  private int(): number {
    let n = 0, digits = 0;
    while (this.peek() !== undefined && this.peek()! >= 0x30 && this.peek()! <= 0x39) {
      n = n * 10 + (this.cps[this.i++]! - 0x30);
      digits++;
    }
    if (digits === 0) this.fail('expected a number');
    return n;
  }

  private atom(): Ast {
    const c = this.cps[this.i++]!;
    switch (c) {
      case 0x5e: return { t: 'bol' };
      case 0x24: return { t: 'eol' };
      case 0x2e: return { t: 'set', r: DOT };
      case 0x28: {
        if (this.peek() === 0x3f) {
          const n1 = this.cps[this.i + 1], n2 = this.cps[this.i + 2];
          if (n1 === 0x3a) this.i += 2;
          else if (n1 === 0x3c && n2 !== 0x3d && n2 !== 0x21) {
            const close = this.cps.indexOf(0x3e, this.i);
            if (close < 0) this.fail('unterminated group name');
            this.i = close + 1;
          } else this.fail('lookaround assertions are not supported');
        }
        const inner = this.alt();
        if (this.peek() !== 0x29) this.fail('expected ")"');
        this.i++;
        return inner;
      }
      case 0x5b: return this.cls();
      case 0x5c: return this.escape(false);
      case 0x2a: case 0x2b: case 0x3f: this.i--; this.fail('nothing to repeat');
      default: return { t: 'set', r: [c, c] };
    }
  }

  private cls(): Ast {
    let neg = false;
    if (this.peek() === 0x5e) { neg = true; this.i++; }
    const pairs: number[] = [];
    let first = true;
    for (;;) {
      const c = this.peek();
      if (c === undefined) this.fail('unterminated "["');
      if (c === 0x5d && !first) { this.i++; break; }
      if (c === 0x5d && first) { this.i++; break; } // [] matches nothing, [^] anything
      first = false;
      const lo = this.classAtom();
      if (this.peek() === 0x2d && this.cps[this.i + 1] !== 0x5d && this.cps[this.i + 1] !== undefined && typeof lo === 'number') {
        this.i++;
        const hi = this.classAtom();
        if (typeof hi !== 'number') this.fail('class escape as a range end');
        if (hi < lo) this.fail('range out of order');
        pairs.push(lo, hi);
      } else if (typeof lo === 'number') pairs.push(lo, lo);
      else pairs.push(...lo);
    }
    const r = normalize(pairs);
    return { t: 'set', r: neg ? complement(r) : r };
  }

  /** A code point, or the ranges of a class escape. */
  private classAtom(): number | number[] {
    const c = this.cps[this.i++]!;
    if (c !== 0x5c) return c;
    const e = this.escape(true);
    if (e.t !== 'set') this.fail('unsupported escape in a class');
    return e.r.length === 2 && e.r[0] === e.r[1] && !this.lastWasClass ? e.r[0]! : e.r;
  }

  private lastWasClass = false;

  private escape(inClass: boolean): Ast {
    const c = this.cps[this.i++];
    if (c === undefined) this.fail('trailing "\\"');
    this.lastWasClass = true;
    const set = (r: number[]): Ast => ({ t: 'set', r });
    switch (String.fromCodePoint(c)) {
      case 'd': return set(DIGIT);
      case 'D': return set(complement(DIGIT));
      case 'w': return set(WORD);
      case 'W': return set(complement(WORD));
      case 's': return set(SPACE);
      case 'S': return set(complement(SPACE));
    }
    this.lastWasClass = false;
    const one = (cp: number): Ast => set([cp, cp]);
    switch (String.fromCodePoint(c)) {
      case 'n': return one(0x0a);
      case 'r': return one(0x0d);
      case 't': return one(0x09);
      case 'v': return one(0x0b);
      case 'f': return one(0x0c);
      case '0': return one(0);
      case 'b': if (inClass) return one(0x08); this.i--; this.fail('word boundaries (\\b) are not supported');
      case 'B': this.i--; this.fail('word boundaries (\\B) are not supported');
      case 'x': return one(this.hex(2));
      case 'u': {
        if (this.peek() === 0x7b) {
          const close = this.cps.indexOf(0x7d, this.i);
          if (close < 0) this.fail('unterminated \\u{');
          const cp = parseInt(String.fromCodePoint(...this.cps.slice(this.i + 1, close)), 16);
          if (!(cp >= 0 && cp <= MAX_CP)) this.fail('bad \\u{} escape');
          this.i = close + 1;
          return one(cp);
        }
        return one(this.hex(4));
      }
      case 'p': case 'P': this.i--; this.fail('Unicode property escapes (\\p) are not supported');
      case 'c': this.i--; this.fail('control escapes (\\c) are not supported');
    }
    if (c >= 0x31 && c <= 0x39) { this.i--; this.fail('backreferences are not supported'); }
    if (c === 0x6b) { this.i--; this.fail('named backreferences are not supported'); }
    return one(c); // identity escape: \. \/ \- ...
  }

  private hex(n: number): number {
    const s = String.fromCodePoint(...this.cps.slice(this.i, this.i + n));
    if (!new RegExp(`^[0-9a-fA-F]{${n}}$`).test(s)) this.fail('bad hex escape');
    this.i += n;
    return parseInt(s, 16);
  }
}

// ---- NFA ----

const EPS = 0, BOL = 1, EOL = 2;

class Nfa {
  /** edges[s]: [lo, hi, to] triples over code points. */
  readonly edges: number[][] = [];
  /** eps[s]: [kind, to] pairs (EPS, BOL: only at the start, EOL: only at the end). */
  readonly eps: number[][] = [];
  add(): number {
    if (this.edges.length >= MAX_REGEX_STATES) throw new RegexError(`the automaton needs more than ${MAX_REGEX_STATES} states (a long counted repetition?)`);
    this.edges.push([]);
    this.eps.push([]);
    return this.edges.length - 1;
  }
  /** Builds `a` between `from` and a new state it returns. */
  build(a: Ast, from: number): number {
    switch (a.t) {
      case 'set': {
        const to = this.add();
        for (let i = 0; i < a.r.length; i += 2) this.edges[from]!.push(a.r[i]!, a.r[i + 1]!, to);
        return to;
      }
      case 'seq': {
        let s = from;
        for (const x of a.xs) s = this.build(x, s);
        return s;
      }
      case 'alt': {
        const to = this.add();
        for (const x of a.xs) {
          const start = this.add();
          this.eps[from]!.push(EPS, start);
          this.eps[this.build(x, start)]!.push(EPS, to);
        }
        return to;
      }
      case 'bol': case 'eol': {
        const to = this.add();
        this.eps[from]!.push(a.t === 'bol' ? BOL : EOL, to);
        return to;
      }
      case 'rep': {
        let s = from;
        for (let k = 0; k < a.min; k++) s = this.build(a.x, s);
        if (a.max === -1) {
          const loop = this.add();
          this.eps[s]!.push(EPS, loop);
          const end = this.build(a.x, loop);
          this.eps[end]!.push(EPS, loop);
          return loop;
        }
        const to = this.add();
        this.eps[s]!.push(EPS, to);
        for (let k = a.min; k < a.max; k++) {
          s = this.build(a.x, s);
          this.eps[s]!.push(EPS, to);
        }
        return to;
      }
    }
  }
}

/** What the recognizer and the validator ask of a compiled pattern (a Regex, or its complement). */
export interface Pattern {
  readonly source: string;
  /** The state before any character. -1 is the dead state. */
  readonly start: number;
  step(state: number, cp: number): number;
  /**
   * Character classes: code points every transition treats alike (step(s, a) === step(s, b)
   * for every state s when classOf(a) === classOf(b)), numbered 0 .. classCount - 1.
   */
  readonly classCount: number;
  /** Where the classes change: classOf is the same from classStarts[i] to classStarts[i + 1] - 1 (classStarts[0] is 0). */
  readonly classStarts: Int32Array;
  classOf(cp: number): number;
  /** step() for any code point of class `c`. */
  stepClass(state: number, c: number): number;
  accepts(state: number): boolean;
  immortal(state: number): boolean;
  test(s: string): boolean;
}

/** The segment `cp` falls in: the index of the last of `starts` (ascending, starts[0] = 0) at or below it. */
export function segmentAt(starts: Int32Array, cp: number): number {
  let lo = 0, hi = starts.length - 1;
  while (lo < hi) {
    const m = (lo + hi + 1) >> 1;
    if (starts[m]! <= cp) lo = m;
    else hi = m - 1;
  }
  return lo;
}

/**
 * The code points split into classes no edge tells apart: the edges' range ends cut the code
 * points into segments, and segments inside the same edges share a class.
 */
function characterClasses(edges: readonly number[][]): { starts: Int32Array; segClass: Int32Array; count: number } {
  const cuts = new Set<number>([0]);
  for (const e of edges) {
    for (let i = 0; i < e.length; i += 3) {
      cuts.add(e[i]!);
      if (e[i + 1]! < MAX_CP) cuts.add(e[i + 1]! + 1);
    }
  }
  const starts = Int32Array.from([...cuts].sort((a, b) => a - b));
  const inside: number[][] = starts.length > 0 ? Array.from(starts, () => []) : [];
  let k = 0;
  for (const e of edges) {
    for (let i = 0; i < e.length; i += 3, k++) {
      for (let j = segmentAt(starts, e[i]!); j < starts.length && starts[j]! <= e[i + 1]!; j++) inside[j]!.push(k);
    }
  }
  const byEdges = new Map<string, number>();
  const segClass = new Int32Array(starts.length);
  for (let j = 0; j < starts.length; j++) {
    const key = inside[j]!.join(',');
    let c = byEdges.get(key);
    if (c === undefined) byEdges.set(key, (c = byEdges.size));
    segClass[j] = c;
  }
  return { starts, segClass, count: byEdges.size };
}

/** A compiled pattern: read code points with step(), from start, and ask accepts(). */
export class Regex implements Pattern {
  /** The DFA state before any character. -1 is the dead state. */
  readonly start: number;
  private readonly nfa = new Nfa();
  private readonly final: number;
  private readonly sets: Int32Array[] = [];
  private readonly byKey = new Map<string, number>();
  /** trans[s][c]: the state after a code point of class c; -2 not computed yet. */
  private readonly trans: Int32Array[] = [];
  private readonly acc: number[] = [];
  readonly classCount: number;
  /** Class of each code point: classStarts[i] .. classStarts[i + 1] - 1 are of class segClass[i]. */
  readonly classStarts: Int32Array;
  private readonly segClass: Int32Array;
  private readonly asciiClass = new Int32Array(128);
  /** A code point of each class. */
  private readonly sample: Int32Array;
  /** NFA states that loop on every code point (a `[^]*`): a DFA state holding one never dies. */
  private readonly loops = new Set<number>();
  private readonly alive: number[] = [];

  constructor(readonly source: string) {
    const ast = new Parser(source).parse();
    const any: Ast = { t: 'rep', x: { t: 'set', r: ANYCHAR }, min: 0, max: -1 };
    // Unanchored: any text before and after. A pattern that starts with ^ needs no text before
    // it (and so dies as soon as its start no longer fits, instead of waiting forever).
    const anchored = ast.t === 'bol' || (ast.t === 'seq' && ast.xs[0]?.t === 'bol');
    const wrapped: Ast = { t: 'seq', xs: anchored ? [ast, any] : [any, ast, any] };
    const s0 = this.nfa.add();
    this.final = this.nfa.build(wrapped, s0);
    this.nfa.edges.forEach((e, s) => {
      for (let i = 0; i < e.length; i += 3) {
        if (e[i] === 0 && e[i + 1] === MAX_CP && this.closure([e[i + 2]!], false).includes(s)) this.loops.add(s);
      }
    });
    const cls = characterClasses(this.nfa.edges);
    this.classStarts = cls.starts;
    this.segClass = cls.segClass;
    this.classCount = cls.count;
    this.sample = new Int32Array(cls.count).fill(-1);
    for (let i = 0; i < cls.starts.length; i++) if (this.sample[cls.segClass[i]!]! < 0) this.sample[cls.segClass[i]!] = cls.starts[i]!;
    for (let cp = 0; cp < 128; cp++) this.asciiClass[cp] = this.segmentClass(cp);
    this.start = this.intern(this.closure([s0], true));
  }

  /** Whether no text read from `state` on can make the match impossible (step never returns -1). */
  immortal(state: number): boolean {
    if (state < 0) return false;
    let a = this.alive[state];
    if (a === undefined) this.alive[state] = a = this.sets[state]!.some((s) => this.loops.has(s)) ? 1 : 0;
    return a === 1;
  }

  /** Whether every text read from `state` on matches (the pattern matched and nothing can undo it). */
  surelyMatches(state: number): boolean {
    return state >= 0 && this.sets[state]!.includes(this.final);
  }

  private closure(states: number[], atStart: boolean): number[] {
    const seen = new Set<number>();
    const stack = [...states];
    while (stack.length) {
      const s = stack.pop()!;
      if (seen.has(s)) continue;
      seen.add(s);
      const e = this.nfa.eps[s]!;
      for (let i = 0; i < e.length; i += 2) {
        if (e[i] === EPS || (e[i] === BOL && atStart)) stack.push(e[i + 1]!);
      }
    }
    return [...seen].sort((a, b) => a - b);
  }

  private intern(set: number[]): number {
    if (set.length === 0) return -1;
    const key = set.join(',');
    let id = this.byKey.get(key);
    if (id === undefined) {
      id = this.sets.length;
      this.byKey.set(key, id);
      this.sets.push(Int32Array.from(set));
      this.trans.push(new Int32Array(this.classCount).fill(-2));
      this.acc.push(-1);
    }
    return id;
  }

  /** The state after code point `cp`, -1 when no match is possible any more. */
  step(state: number, cp: number): number {
    return this.stepClass(state, this.classOf(cp));
  }

  classOf(cp: number): number {
    return cp < 128 ? this.asciiClass[cp]! : this.segmentClass(cp);
  }

  private segmentClass(cp: number): number {
    return this.segClass[segmentAt(this.classStarts, cp)]!;
  }

  stepClass(state: number, c: number): number {
    if (state < 0) return -1;
    const t = this.trans[state]!;
    const hit = t[c]!;
    if (hit !== -2) return hit;
    const cp = this.sample[c]!;
    const next: number[] = [];
    for (const s of this.sets[state]!) {
      const e = this.nfa.edges[s]!;
      for (let i = 0; i < e.length; i += 3) if (cp >= e[i]! && cp <= e[i + 1]!) next.push(e[i + 2]!);
    }
    const id = this.intern(this.closure(next, false));
    t[c] = id;
    return id;
  }

  /** Whether the text read so far matches. */
  accepts(state: number): boolean {
    if (state < 0) return false;
    let a = this.acc[state]!;
    if (a < 0) {
      // Follow end anchors too: the text ends here.
      const seen = new Set<number>();
      const stack = [...this.sets[state]!];
      while (stack.length) {
        const s = stack.pop()!;
        if (seen.has(s)) continue;
        seen.add(s);
        const e = this.nfa.eps[s]!;
        for (let i = 0; i < e.length; i += 2) if (e[i] !== BOL) stack.push(e[i + 1]!);
      }
      a = seen.has(this.final) ? 1 : 0;
      this.acc[state] = a;
    }
    return a === 1;
  }

  /** Whether a whole string matches (used by the validator and for property names). */
  test(s: string): boolean {
    let st = this.start;
    for (const ch of s) {
      st = this.step(st, ch.codePointAt(0)!);
      if (st < 0) return false;
    }
    return this.accepts(st);
  }
}

const cache = new Map<string, Regex>();
/** Compiles (once per source) a pattern. Throws RegexError. */
export function compileRegex(source: string): Regex {
  let r = cache.get(source);
  if (!r) {
    r = new Regex(source);
    if (cache.size > 500) cache.delete(cache.keys().next().value!);
    cache.set(source, r);
  }
  return r;
}

/**
 * The strings a pattern does not match (JSON Schema's `not: {pattern}`). Its states: -1 dead (the
 * pattern surely matches), 0 (the pattern can no longer match: anything goes), s + 1 (the pattern's s).
 */
class Complement implements Pattern {
  readonly source: string;
  readonly start: number;
  constructor(private readonly re: Regex) {
    this.source = `(not ${re.source})`;
    this.start = this.wrap(re.start);
  }
  private wrap(s: number): number {
    return s < 0 ? 0 : this.re.surelyMatches(s) ? -1 : s + 1;
  }
  step(state: number, cp: number): number {
    return state <= 0 ? state : this.wrap(this.re.step(state - 1, cp));
  }
  get classCount(): number {
    return this.re.classCount;
  }
  get classStarts(): Int32Array {
    return this.re.classStarts;
  }
  classOf(cp: number): number {
    return this.re.classOf(cp);
  }
  stepClass(state: number, c: number): number {
    return state <= 0 ? state : this.wrap(this.re.stepClass(state - 1, c));
  }
  accepts(state: number): boolean {
    return state === 0 || (state > 0 && !this.re.accepts(state - 1));
  }
  immortal(state: number): boolean {
    return state === 0;
  }
  test(s: string): boolean {
    return !this.re.test(s);
  }
}

const complements = new Map<string, Complement>();
/** The complement of a pattern (once per source). Throws RegexError. */
export function complementRegex(source: string): Pattern {
  let c = complements.get(source);
  if (!c) {
    c = new Complement(new Regex(source));
    if (complements.size > 500) complements.delete(complements.keys().next().value!);
    complements.set(source, c);
  }
  return c;
}

/** A pattern source matching exactly the given strings. */
export function literalsSource(strings: readonly string[]): string {
  const esc = (t: string) => [...t].map((ch) => `\\u{${ch.codePointAt(0)!.toString(16)}}`).join('');
  return `^(?:${strings.map(esc).join('|')})$`;
}
