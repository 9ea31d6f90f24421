// The patterns of one set of string rules read together as one automaton over character
// classes (for the mask walks of string_masks.ts and string_tails.ts): its classes are the
// code points every pattern treats alike, its states the tuples of the patterns' states, and a
// transition is one table lookup once computed. It also knows whether no text can kill a state,
// and how many characters of a set of classes a state survives whatever their order (a
// URI's path: any number; the 8 alphanumerics of a counted repetition: 8).

import { segmentAt, type Pattern } from './regex';

/** Class bits of safeDepth(): classes 0..30 one bit each; bit 31 stands for every class from 31 on. */
export const classBit = (c: number): number => 1 << (c < 31 ? c : 31);

export class RulesAutomaton {
  readonly classCount: number;
  /** Class of each code point: starts[i] .. starts[i + 1] - 1 are of class segClass[i]. */
  private readonly starts: Int32Array;
  private readonly segClass: Int32Array;
  private readonly ascii = new Int32Array(128);
  /** part[c * n + i]: pattern i's class for class c. */
  private readonly part: Int32Array;
  /** States: tuple[s * n + i] is pattern i's state. */
  private readonly tuples: number[] = [];
  private readonly byTuple = new Map<string, number>();
  /** trans[s][c]: the state after class c; -1 dead, -2 not computed yet. */
  private readonly trans: Int32Array[] = [];
  /** Per state: 1 when no text can kill it, 0 when one can, -1 not asked yet. */
  private readonly eternal: number[] = [];

  constructor(readonly patterns: readonly Pattern[]) {
    const cuts = new Set<number>([0]);
    for (const p of patterns) for (const x of p.classStarts) cuts.add(x);
    this.starts = Int32Array.from([...cuts].sort((a, b) => a - b));
    this.segClass = new Int32Array(this.starts.length);
    const byParts = new Map<string, number>();
    const parts: number[] = [];
    for (let j = 0; j < this.starts.length; j++) {
      const cp = this.starts[j]!;
      const ps = patterns.map((p) => p.classOf(cp));
      const key = ps.join(',');
      let c = byParts.get(key);
      if (c === undefined) {
        byParts.set(key, (c = byParts.size));
        parts.push(...ps);
      }
      this.segClass[j] = c;
    }
    this.classCount = byParts.size;
    this.part = Int32Array.from(parts);
    for (let cp = 0; cp < 128; cp++) this.ascii[cp] = this.segmentClass(cp);
  }

  classOf(cp: number): number {
    return cp < 128 ? this.ascii[cp]! : this.segmentClass(cp);
  }

  private segmentClass(cp: number): number {
    return this.segClass[segmentAt(this.starts, cp)]!;
  }

  /** The state of the patterns' states `rs` (-1 when one is dead). */
  state(rs: readonly number[]): number {
    for (const s of rs) if (s < 0) return -1;
    const key = rs.join(',');
    let id = this.byTuple.get(key);
    if (id === undefined) {
      id = this.trans.length;
      this.byTuple.set(key, id);
      this.tuples.push(...rs);
      this.trans.push(new Int32Array(this.classCount).fill(-2));
      this.eternal.push(-1);
    }
    return id;
  }

  /** The patterns' states of state `s`. */
  parts(s: number): number[] {
    const n = this.patterns.length;
    return this.tuples.slice(s * n, s * n + n);
  }

  /** The state after a code point of class `c` (-1: a pattern died). */
  step(s: number, c: number): number {
    const t = this.trans[s]!;
    const hit = t[c]!;
    if (hit !== -2) return hit;
    const n = this.patterns.length;
    const next: number[] = [];
    for (let i = 0; i < n; i++) next.push(this.patterns[i]!.stepClass(this.tuples[s * n + i]!, this.part[c * n + i]!));
    const id = this.state(next);
    this.trans[s]![c] = id;
    return id;
  }

  /** Whether the text read so far matches every pattern. */
  accepts(s: number): boolean {
    let k = this.accepting[s];
    if (k === undefined) {
      const n = this.patterns.length;
      k = 1;
      for (let i = 0; i < n; i++) if (!this.patterns[i]!.accepts(this.tuples[s * n + i]!)) k = 0;
      this.accepting[s] = k;
    }
    return k === 1;
  }

  private readonly accepting: number[] = [];

  /** The class bits of the classes `s` survives (bit 31: every class from 31 on). */
  liveMask(s: number): number {
    let m = this.live[s];
    if (m === undefined) {
      let over = this.classCount > 31;
      m = 0;
      for (let c = 0; c < this.classCount; c++) {
        const ok = this.step(s, c) >= 0;
        if (c < 31) {
          if (ok) m |= 1 << c;
        } else if (!ok) over = false;
      }
      if (over) m |= 1 << 31;
      this.live[s] = m;
    }
    return m;
  }

  private readonly live: number[] = [];

  /** Whether no text read from `s` on can kill it. */
  immortal(s: number): boolean {
    let e = this.eternal[s]!;
    if (e < 0) {
      const n = this.patterns.length;
      e = 1;
      for (let i = 0; i < n; i++) if (!this.patterns[i]!.immortal(this.tuples[s * n + i]!)) e = 0;
      this.eternal[s] = e;
    }
    return e === 1;
  }

  /**
   * How many characters of the classes in `bits` (class bits: see classBit; bit 31 is every
   * class from 31 on) can be read from `s` in any order without killing it: Infinity when
   * any number can, else at most `cap` (a caller asking about texts of at most cap characters).
   */
  safeDepth(s: number, bits: number, cap: number): number {
    const key = s * 4294967296 + (bits >>> 0);
    const known = this.depths.get(key);
    if (known !== undefined && (known === Infinity || known < this.depthCaps.get(key)! || known >= cap)) return known;
    const classes: number[] = [];
    for (let c = 0; c < this.classCount; c++) if ((bits & classBit(c)) !== 0) classes.push(c);
    let frontier = [s];
    const seen = new Set<string>([String(s)]);
    let depth = Infinity;
    for (let d = 0; d < cap; d++) {
      if (frontier.every((x) => this.immortal(x))) break;
      const next = new Set<number>();
      for (const x of frontier) {
        for (const c of classes) {
          const y = this.step(x, c);
          if (y < 0) {
            depth = d;
            break;
          }
          next.add(y);
        }
        if (depth === d) break;
      }
      if (depth === d) break;
      frontier = [...next].sort((a, b) => a - b);
      const k = frontier.join(',');
      if (seen.has(k)) break; // the same states again: nothing new can happen
      seen.add(k);
      if (d === cap - 1) depth = cap;
    }
    this.depths.set(key, depth);
    this.depthCaps.set(key, cap);
    return depth;
  }

  private readonly depths = new Map<number, number>();
  private readonly depthCaps = new Map<number, number>();
}

const automata = new WeakMap<readonly Pattern[], RulesAutomaton>();

/** The automaton of a list of patterns (once per list). */
export function rulesAutomaton(patterns: readonly Pattern[]): RulesAutomaton {
  let a = automata.get(patterns);
  if (!a) automata.set(patterns, (a = new RulesAutomaton(patterns)));
  return a;
}
