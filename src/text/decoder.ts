// Token strings -> text, following the `decoder` section of tokenizer.json with the semantics
// of HF tokenizers (the Rust library transformers runs), which tokenizers.js does not match
// everywhere: an invalid byte-fallback run becomes one U+FFFD per byte, and unknown ids are
// dropped rather than turned into <unk>. Supported: Sequence of Replace (string pattern),
// ByteFallback, Fuse, Strip, Metaspace; no decoder (tokens joined by spaces).
//
// The plan is split into per-token steps, an optional byte-fallback grouping, and steps applied
// to the fused string, so that streamer.ts can run the very same plan incrementally.

import { ErnieError } from '../errors';

export type TokenStep =
  | { kind: 'replace'; pattern: string; content: string }
  | { kind: 'strip'; content: string; start: number; stop: number }
  /** Metaspace: ▁ -> space, and the first token loses its ▁s unless prepend_scheme is never. */
  | { kind: 'metaspace'; replacement: string; stripFirst: boolean };

/** What the json describes, in the shape the streamer needs. */
export interface DecodePlan {
  /** Per-token steps before the byte-fallback grouping. */
  before: TokenStep[];
  byteFallback: boolean;
  /** Per-token steps after grouping (a decoded byte run counts as one token). */
  after: TokenStep[];
  /** How the final tokens are joined: '' under any decoder, ' ' when there is none. */
  joiner: '' | ' ';
  /** Strip steps applied to the fused text; null when there is none. */
  fusedStrip: { content: string; start: number; stop: number } | null;
  /** Steps the incremental path cannot replay (e.g. a Replace after Fuse): decode whole text. */
  wholeText: TokenStep[];
}

const bad = (msg: string): never => {
  throw new ErnieError('UNSUPPORTED', `tokenizer.json decoder: ${msg}`);
};

function flatten(json: unknown): Record<string, unknown>[] {
  if (json == null) return [];
  const d = json as Record<string, unknown>;
  if (d.type === 'Sequence') {
    if (!Array.isArray(d.decoders)) bad('Sequence without decoders');
    return (d.decoders as unknown[]).flatMap(flatten);
  }
  return [d];
}

function oneChar(s: unknown, what: string): string {
  if (typeof s !== 'string' || Array.from(s).length !== 1) bad(`${what} must be one character`);
  return s as string;
}

/** Compiles a tokenizer.json `decoder` value. Unknown decoder types are an UNSUPPORTED error. */
export function compileDecoder(json: unknown): DecodePlan {
  const plan: DecodePlan = { before: [], byteFallback: false, after: [], joiner: '', fusedStrip: null, wholeText: [] };
  if (json == null) return { ...plan, joiner: ' ' }; // no decoder at all: tokens joined by spaces
  const steps = flatten(json);
  let fused = false;
  for (const d of steps) {
    let step: TokenStep | null = null;
    switch (d.type) {
      case 'Replace': {
        const p = d.pattern as Record<string, unknown> | undefined;
        if (!p || typeof p.String !== 'string') bad('only string patterns are supported in Replace');
        step = { kind: 'replace', pattern: p!.String as string, content: String(d.content ?? '') };
        break;
      }
      case 'Strip':
        step = { kind: 'strip', content: oneChar(d.content, 'Strip content'), start: Number(d.start ?? 0), stop: Number(d.stop ?? 0) };
        break;
      case 'Metaspace': {
        const scheme = d.prepend_scheme ?? (d.add_prefix_space === false ? 'never' : 'always');
        step = { kind: 'metaspace', replacement: oneChar(d.replacement ?? '▁', 'Metaspace replacement'), stripFirst: scheme !== 'never' };
        break;
      }
      case 'ByteFallback':
        if (plan.byteFallback || fused) bad('ByteFallback must come once, before Fuse');
        plan.byteFallback = true;
        continue;
      case 'Fuse':
        fused = true;
        continue;
      default:
        bad(`decoder type ${JSON.stringify(d.type)} is not supported`);
    }
    if (!fused) (plan.byteFallback ? plan.after : plan.before).push(step!);
    else if (step!.kind === 'strip' && plan.fusedStrip === null && plan.wholeText.length === 0) plan.fusedStrip = step as DecodePlan['fusedStrip'];
    else plan.wholeText.push(step!);
  }
  return plan;
}

/** Applies one per-token step; `index` is the token's position in the decoded list. */
export function applyStep(step: TokenStep, token: string, index: number): string {
  switch (step.kind) {
    case 'replace':
      return step.pattern === '' ? token : token.split(step.pattern).join(step.content);
    case 'strip':
      return stripChars(token, step.content, step.start, step.stop);
    case 'metaspace': {
      // Rust drops every replacement char of the first token (not just one) when prepending.
      const to = index === 0 && step.stripFirst ? '' : ' ';
      return token.split(step.replacement).join(to);
    }
  }
}

/** Removes up to `start` leading and `stop` trailing `content` chars. */
export function stripChars(s: string, content: string, start: number, stop: number): string {
  let a = 0;
  for (let i = 0; i < start && s.startsWith(content, a); i++) a += content.length;
  let b = s.length;
  for (let i = 0; i < stop && b - content.length >= a && s.endsWith(content, b); i++) b -= content.length;
  return s.slice(a, b);
}

/** The byte of a `<0xAB>` token, or -1. */
export function byteOf(token: string): number {
  if (token.length !== 6 || !token.startsWith('<0x') || token[5] !== '>') return -1;
  const hex = token.slice(3, 5);
  return /^[0-9a-fA-F]{2}$/.test(hex) ? parseInt(hex, 16) : -1;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** A finished byte-fallback run: its text, or one U+FFFD per byte when it is not valid UTF-8. */
export function decodeByteRun(bytes: number[]): string {
  try {
    return strictUtf8.decode(Uint8Array.from(bytes));
  } catch {
    return '\uFFFD'.repeat(bytes.length);
  }
}

/** Full decode of token strings (special tokens already filtered out). */
export function runPlan(plan: DecodePlan, tokens: string[]): string {
  let list = tokens.map((t, i) => plan.before.reduce((s, step) => applyStep(step, s, i), t));
  if (plan.byteFallback) {
    const grouped: string[] = [];
    let run: number[] = [];
    for (const t of list) {
      const b = byteOf(t);
      if (b >= 0) { run.push(b); continue; }
      if (run.length) { grouped.push(decodeByteRun(run)); run = []; }
      grouped.push(t);
    }
    if (run.length) grouped.push(decodeByteRun(run));
    list = grouped;
  }
  list = list.map((t, i) => plan.after.reduce((s, step) => applyStep(step, s, i), t));
  let text = list.join(plan.joiner);
  if (plan.fusedStrip) text = stripChars(text, plan.fusedStrip.content, plan.fusedStrip.start, plan.fusedStrip.stop);
  for (const step of plan.wholeText) text = applyStep(step, text, 0); // one fused token, index 0
  return text;
}
