// Incremental detokenizer: push(id) returns only text that can no longer change, and
// the concatenation of every push() plus flush() equals tokenizer.decode(allIds).
//
// It replays the decoder plan (decoder.ts) token by token:
//  - byte-fallback tokens (<0xE4><0xB8><0xAD>) are held until the run ends, because HF
//    decodes a run as a whole: a run that ends invalid becomes one U+FFFD per byte, even the
//    bytes of characters that were complete inside it. So no half character is ever emitted;
//  - the Strip after Fuse (the space the Metaspace prefix added) is applied to the very start
//    of the stream only, and trailing characters a final Strip could remove are held back;
//  - decoders it cannot replay step by step fall back to re-decoding the whole sequence.

import { applyStep, byteOf, decodeByteRun, stripChars, type DecodePlan } from './decoder';

export interface StreamerOptions {
  /** Same meaning as decode()'s option. Default false. */
  skipSpecialTokens?: boolean;
  /**
   * The ids continue text that came before (a completion's prompt): the start-of-text rules
   * (Metaspace dropping the first token's space, the Strip of the prefix space) do not apply, so
   * a continuation " experts" keeps its space (decoders replayed step by step; the whole-text
   * fallback decodes as decode() does). Default false: the text starts here, as decode().
   */
  continuation?: boolean;
}

/** What the streamer needs from a tokenizer. */
export interface DetokenizerSource {
  readonly decodePlan: DecodePlan;
  idToToken(id: number): string | undefined;
  isSpecial(id: number): boolean;
  decode(ids: ArrayLike<number>, options?: { skipSpecialTokens?: boolean }): string;
}

export class TextStreamer {
  private readonly plan: DecodePlan;
  private readonly skip: boolean;
  /** Tokens accepted so far (after skipping): the index per-token steps see. */
  private count = 0;
  /** Tokens after byte grouping so far. */
  private groupedCount = 0;
  private run: number[] = [];
  /** Leading Strip chars still allowed to be removed (0 once other text was seen). */
  private startLeft: number;
  /** Index of the first pushed token as the decoder steps see it: 1 for a continuation. */
  private readonly first: number;
  /** Trailing chars held back because a final Strip may remove them. */
  private held = '';
  /** Fallback path: every id, and the text already returned. */
  private readonly all: number[] = [];
  private emitted = '';
  private readonly whole: boolean;

  constructor(private readonly source: DetokenizerSource, options: StreamerOptions = {}) {
    this.plan = source.decodePlan;
    this.skip = options.skipSpecialTokens ?? false;
    this.first = options.continuation ? 1 : 0;
    this.count = this.groupedCount = this.first;
    this.startLeft = options.continuation ? 0 : (this.plan.fusedStrip?.start ?? 0);
    this.whole = this.plan.wholeText.length > 0;
  }

  /** Feeds one id; returns the text it completes (often '', never a partial character). */
  push(id: number): string {
    if (this.whole) return this.pushWhole(id);
    const token = this.source.idToToken(id);
    if (token === undefined || (this.skip && this.source.isSpecial(id))) return '';
    const t = this.plan.before.reduce((s, step) => applyStep(step, s, this.count), token);
    this.count++;
    if (this.plan.byteFallback) {
      const b = byteOf(t);
      if (b >= 0) {
        this.run.push(b);
        return '';
      }
      return this.endRun() + this.emitGrouped(t);
    }
    return this.emitGrouped(t);
  }

  /** Feeds several ids; returns their completed text. */
  pushAll(ids: Iterable<number>): string {
    let out = '';
    for (const id of ids) out += this.push(id);
    return out;
  }

  /** Ends the stream: returns whatever was held back. The streamer can then be reused. */
  flush(): string {
    let out: string;
    if (this.whole) {
      const full = this.source.decode(this.all, { skipSpecialTokens: this.skip });
      out = full.slice(commonPrefix(full, this.emitted));
    } else {
      // Held chars are at the very end, so the final Strip removes them: drop them.
      out = this.endRun();
    }
    this.reset();
    return out;
  }

  reset(): void {
    this.count = this.groupedCount = this.first;
    this.run = [];
    this.startLeft = this.first ? 0 : (this.plan.fusedStrip?.start ?? 0);
    this.held = '';
    this.all.length = 0;
    this.emitted = '';
  }

  private endRun(): string {
    if (this.run.length === 0) return '';
    const text = decodeByteRun(this.run);
    this.run = [];
    return this.emitGrouped(text);
  }

  private emitGrouped(token: string): string {
    const t = this.plan.after.reduce((s, step) => applyStep(step, s, this.groupedCount), token);
    this.groupedCount++;
    const joined = this.plan.joiner === ' ' && this.groupedCount > 1 ? ' ' + t : t;
    return this.emitText(joined);
  }

  /** Applies the fused Strip to the stream's start and end. */
  private emitText(text: string): string {
    const strip = this.plan.fusedStrip;
    if (!strip) return text;
    let s = text;
    while (this.startLeft > 0 && s.startsWith(strip.content)) {
      s = s.slice(strip.content.length);
      this.startLeft--;
    }
    if (s === '') return '';
    this.startLeft = 0;
    if (strip.stop === 0) return s;
    s = this.held + s;
    const kept = stripChars(s, strip.content, 0, strip.stop);
    this.held = s.slice(kept.length);
    return kept;
  }

  /** Generic path: re-decode everything, emit what extends the text already sent. */
  private pushWhole(id: number): string {
    this.all.push(id);
    // A trailing byte run may still become a character (or turn invalid): decode without it,
    // looking through ids decode ignores (unknown, or special when skipping).
    let n = this.all.length;
    while (this.plan.byteFallback && n > 0) {
      const id = this.all[n - 1]!;
      const t = this.source.idToToken(id);
      const ignored = t === undefined || (this.skip && this.source.isSpecial(id));
      if (!ignored && byteOf(t) < 0) break;
      n--;
    }
    const full = this.source.decode(this.all.slice(0, n), { skipSpecialTokens: this.skip });
    if (!full.startsWith(this.emitted)) return '';
    // The last chars may still change (a Replace pattern could complete): keep them back.
    const keep = Math.max(1, ...this.plan.wholeText.map((s) => (s.kind === 'replace' ? s.pattern.length : 1)));
    let end = full.length - keep;
    if (end > 0 && isHighSurrogate(full.charCodeAt(end - 1))) end--;
    if (end <= this.emitted.length) return '';
    const out = full.slice(this.emitted.length, end);
    this.emitted += out;
    return out;
  }
}

const isHighSurrogate = (c: number): boolean => c >= 0xd800 && c <= 0xdbff;

function commonPrefix(a: string, b: string): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}
