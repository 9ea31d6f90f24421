// Stop strings, cut exactly. Text arrives in pieces (what the detokenizer can emit); a stop
// string may span several pieces. push() returns the text that is certainly before any stop
// string, holding back only the shortest tail that could still begin one: the longest suffix
// of the pending text that is a proper prefix of some stop string. Once a stop string is seen,
// the text before it is returned and everything from it on is dropped.

export interface StopResult {
  /** Text safe to emit now. */
  text: string;
  /** A stop string was found; nothing more will be emitted. */
  stopped: boolean;
  /** Which stop string ended the text (when stopped). */
  stop?: string;
}

export class StopMatcher {
  private held = '';
  private done = false;
  private readonly stops: readonly string[];

  constructor(stops: readonly string[]) {
    for (const s of stops) if (s === '') throw new RangeError('stop strings must not be empty');
    this.stops = [...new Set(stops)];
  }

  get stopped(): boolean {
    return this.done;
  }

  /** Characters currently held back. */
  get pending(): string {
    return this.held;
  }

  push(piece: string): StopResult {
    if (this.done) return { text: '', stopped: true };
    if (this.stops.length === 0) return { text: piece, stopped: false };
    const buf = this.held + piece;
    // Earliest occurrence of any stop string; a stop string cannot start inside the text
    // emitted earlier, because that text had no held suffix that could begin one.
    let at = -1;
    let which = '';
    for (const s of this.stops) {
      const i = buf.indexOf(s);
      if (i >= 0 && (at < 0 || i < at)) {
        at = i;
        which = s;
      }
    }
    if (at >= 0) {
      this.done = true;
      this.held = '';
      return { text: buf.slice(0, at), stopped: true, stop: which };
    }
    const keep = this.heldLength(buf);
    this.held = buf.slice(buf.length - keep);
    return { text: buf.slice(0, buf.length - keep), stopped: false };
  }

  /** End of generation without a stop string: releases what was held. */
  flush(): string {
    const out = this.done ? '' : this.held;
    this.held = '';
    return out;
  }

  /** Length of the longest suffix of `buf` that is a proper prefix of a stop string. */
  private heldLength(buf: string): number {
    let best = 0;
    for (const s of this.stops) {
      const max = Math.min(s.length - 1, buf.length);
      for (let n = max; n > best; n--) {
        if (buf.endsWith(s.slice(0, n))) {
          best = n;
          break;
        }
      }
    }
    return best;
  }
}
