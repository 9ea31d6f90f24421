// JSON-constrained decoding. A recognizer reads the output byte by byte (UTF-8) and knows at
// every point whether the text so far can still become a valid document; token_table.ts turns
// that into the token ids that keep it so.
//
// A grammar is a sequence of parts: JSON values (a schema tree from json_schema.ts, or any
// value), literal text, and choices between literal texts, each followed by its own parts
// (how a forced tool call picks its function). Once every part is complete, only stop tokens
// are allowed, so generation ends as soon as the document does.
//
// The state is immutable: a set of stacks of frames, one per reading of the text still alive
// (anyOf options that share a prefix are followed side by side until the text tells them
// apart), so a trie walk can branch from it freely. Inside strings the recognizer decodes UTF-8
// and escapes to code points: it checks UTF-8 (byte-fallback pieces can form characters, and
// never turn a quote into U+FFFD) and feeds length and pattern rules.

import { ANY_OBJECT, type SchemaNode } from './json_schema';
import { accepting, finish, isWsByte, REJECT, startValue, stepArray, stepLiteral, stepNumber, stepObject, stepString, utf8, type Frame, type Stack, type Step } from './json_frames';
import { stackKey } from './json_state_key';

export type { AFrame, Frame, LFrame, NFrame, OFrame, SFrame, VFrame } from './json_frames';
export { stackKey, stateKey } from './json_state_key';

export { TokenTable, allowedTokens } from './token_table';

export type GrammarPart =
  | { json: SchemaNode }
  | { literal: string }
  | { choice: { literal: string; then: GrammarPart[] }[] };

export interface GrammarOptions {
  /**
   * Insignificant whitespace between JSON tokens. 'compact' (default): none, as OpenAI's strict
   * outputs. 'pretty': spaces, and a newline at the start of a run (indented output). 'any':
   * the four JSON whitespace characters.
   */
  whitespace?: 'compact' | 'pretty' | 'any';
  /** Longest run of insignificant whitespace ('pretty' and 'any'). Default 64. */
  maxWhitespace?: number;
  /** Deepest nesting of objects and arrays. Default 32. */
  maxDepth?: number;
}

/** Readings of the text followed at once; past it the most recent ones are dropped (stricter, never looser). */
const MAX_STACKS = 256;

export interface GrammarState {
  /** The readings alive; in each, the innermost frame last. An empty stack: the document is complete. */
  readonly stacks: readonly Stack[];
  /** Consecutive insignificant whitespace bytes just read. */
  readonly ws: number;
  readonly grammar: JsonGrammar;
}

export class JsonGrammar {
  readonly whitespace: 'compact' | 'pretty' | 'any';
  readonly maxWhitespace: number;
  readonly maxDepth: number;
  private readonly start: Stack;
  /** Per stack whose top a byte ended: the container's stack after it (null: none may end there). */
  private readonly ended = new WeakMap<Stack, Stack | null>();

  constructor(parts: GrammarPart[], options: GrammarOptions = {}) {
    this.whitespace = options.whitespace ?? 'compact';
    this.maxWhitespace = options.maxWhitespace ?? 64;
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
    return { stacks: [this.start], ws: 0, grammar: this };
  }

  /** Whether `b` may be read as insignificant whitespace after a run of `run` such bytes. */
  private wsOk(b: number, run: number): boolean {
    if (!isWsByte(b)) return false;
    switch (this.whitespace) {
      case 'compact': return false;
      case 'pretty': return b === 0x20 || (b === 0x0a && run === 0);
      case 'any': return true;
    }
  }

  /** Feeds one byte; null when the text can no longer be valid. */
  feed(state: GrammarState, b: number): GrammarState | null {
    if (state.stacks.length === 1) {
      const st = state.stacks[0]!;
      const last = st[st.length - 1];
      if (last?.k === 'S' && last.esc === 0 && last.need === 0 && last.r === null && last.key === null && !last.keep && b >= 0x20 && b < 0x80 && b !== 0x22 && b !== 0x5c) {
        // A plain character inside a free string changes nothing (the common case, kept cheap).
        return state.ws === 0 ? state : { stacks: state.stacks, ws: 0, grammar: this };
      }
    }
    if (isWsByte(b) && this.wsOk(b, state.ws) && state.stacks.every(wsStays)) {
      // Whitespace between tokens: every reading stays as it is (a mask walk relies on the same stacks).
      return state.ws + 1 > this.maxWhitespace ? null : { stacks: state.stacks, ws: state.ws + 1, grammar: this };
    }
    const out: Frame[][] = [];
    const ws = { any: false, all: true };
    for (const st of state.stacks) {
      this.run(st, b, state.ws, out, ws, false);
      if (out.length > MAX_STACKS) break;
    }
    if (out.length === 0) return null;
    let stacks: Stack[] = out;
    if (out.length > 1) {
      const seen = new Set<string>();
      stacks = out.filter((s) => {
        const k = stackKey(s);
        if (seen.has(k)) return false;
        seen.add(k);
        return true;
      }).slice(0, MAX_STACKS);
    }
    const wsRun = ws.any && ws.all ? state.ws + 1 : 0;
    if (wsRun > this.maxWhitespace) return null;
    return { stacks, ws: wsRun, grammar: this };
  }

  /** `owned`: the stack is a copy this call may change; else it is copied first (only when a step survives). */
  private run(stack: Stack, b: number, run: number, out: Frame[][], ws: { any: boolean; all: boolean }, owned: boolean): void {
    const top = stack[stack.length - 1];
    if (!top) return;
    const r0 = this.step(top, b, stack.length, run);
    if (r0 === REJECT) {
      // The top may end here and its container read the byte. That does not depend on the
      // byte: the container's stack is remembered per stack (a mask walk feeds it many bytes).
      let up = owned ? undefined : this.ended.get(stack);
      if (up === undefined) {
        const result = accepting(top);
        if (result < 0) up = null;
        else {
          const st = owned ? (stack as Frame[]) : stack.slice();
          st.pop();
          up = finish(st, top, result) ? st : null;
        }
        if (!owned) this.ended.set(stack, up);
      }
      if (up) this.run(up, b, run, out, ws, owned);
      return;
    }
    const steps = Array.isArray(r0) ? r0 : [r0];
    for (let i = 0; i < steps.length; i++) {
      const r = steps[i]!;
      const st = owned && i === steps.length - 1 ? (stack as Frame[]) : stack.slice();
      switch (r.t) {
        case 'stay':
          st[st.length - 1] = r.f;
          if (r.ws) ws.any = true;
          else ws.all = false;
          out.push(st);
          break;
        case 'push':
          st[st.length - 1] = r.f;
          st.push(r.child);
          ws.all = false;
          out.push(st);
          break;
        case 'refeed':
          st[st.length - 1] = r.f;
          st.push(r.child);
          this.run(st, b, run, out, ws, true);
          break;
        case 'done':
          st.pop();
          ws.all = false;
          if (finish(st, top, r.result)) out.push(st);
          break;
        case 'reject': {
          const result = accepting(top);
          if (result < 0) break;
          st.pop();
          if (finish(st, top, result)) this.run(st, b, run, out, ws, true);
          break;
        }
      }
    }
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
    return state.stacks.some((s) => {
      const stack = s.slice();
      while (stack.length > 0) {
        const top = stack[stack.length - 1]!;
        const result = top.root ? accepting(top) : -1;
        if (result < 0) return false;
        stack.pop();
        if (!finish(stack, top, result)) return false;
      }
      return true;
    });
  }

  /**
   * With whitespace 'any', how many more whitespace bytes of any kind `state` reads leaving its
   * readings as they are (feed() returns the same stacks); null when that does not hold.
   */
  freeWhitespace(state: GrammarState): number | null {
    if (this.whitespace !== 'any' || state.stacks.length === 0 || !state.stacks.every(wsStays)) return null;
    return this.maxWhitespace - state.ws;
  }

  /** Whether nothing but a stop token can follow. */
  isComplete(state: GrammarState): boolean {
    return state.stacks.every((s) => s.length === 0);
  }

  private step(f: Frame, b: number, depth: number, run: number): Step | Step[] {
    switch (f.k) {
      case 'V': {
        if (this.wsOk(b, run)) return { t: 'stay', f, ws: true };
        const frames = startValue(f.s, b, f.root, depth <= this.maxDepth, 0);
        // A one-byte enum value such as 7 stays as a finished literal: it ends at the next byte,
        // naming its place in the enum (a unique array compares its items by it).
        return frames.map((frame) => ({ t: 'stay', f: frame }) as Step);
      }
      case 'O': return stepObject(f, b, this.wsOk(b, run));
      case 'A': return stepArray(f, b, this.wsOk(b, run));
      case 'S': return stepString(f, b);
      case 'N': return stepNumber(f, b);
      case 'L': return stepLiteral(f, b);
    }
  }
}

/** Whether a reading's top reads insignificant whitespace without changing (where whitespace is allowed). */
function wsStays(st: Stack): boolean {
  const f = st[st.length - 1];
  return !!f && (f.k === 'V' || (f.k === 'O' && f.ph <= 3) || (f.k === 'A' && f.ph <= 2));
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

