// What the user sees of the model's text while it is still being written: reasoning (before
// </think>), the answer (inside <response>...</response> when the model uses it, else up to the
// first <tool_call> when tools are on), both trimmed. `final` = false gives the part of each
// that can no longer change: a tail that could still become a tag, and trailing whitespace
// (trimmed at the end), are held back. Every non-final view is a prefix of every later view,
// so streamed deltas add up to the non-streamed message exactly.
//
// The formats are ERNIE45.md §2.5; parseAssistantOutput (src/text) reads the tool calls.

import { CALL_OPEN, RESP_CLOSE, RESP_OPEN, THINK_CLOSE, THINK_OPEN } from '../text/assistant_format';

/** 'auto': thinking when the text starts with <think>. */
export type ThinkingMode = 'yes' | 'no' | 'auto';

export interface OutputOptions {
  thinking: ThinkingMode;
  /** Cut the answer at the first <tool_call>. */
  tools: boolean;
}

export interface OutputView {
  /** null when the model did not think (or it is not yet known). */
  reasoning: string | null;
  content: string;
  /** Text from the first <tool_call> on (tools only), for parseAssistantOutput. */
  toolText: string;
  /** Whether the reasoning part is present (thinking decided yes). */
  thinking: boolean;
}

/** Length of the longest suffix of `s` that is a proper prefix of one of `tags`. */
function partialTagLength(s: string, tags: readonly string[]): number {
  let best = 0;
  for (const tag of tags) {
    for (let n = Math.min(tag.length - 1, s.length); n > best; n--) {
      if (s.endsWith(tag.slice(0, n))) {
        best = n;
        break;
      }
    }
  }
  return best;
}

/** `s` minus a tail that could still grow into one of `tags`. */
function settled(s: string, tags: readonly string[], final: boolean): string {
  return final ? s : s.slice(0, s.length - partialTagLength(s, tags));
}

/** Final views are trimmed; partial ones keep only what trimming can no longer remove. */
const trimView = (s: string): string => s.trim();

/**
 * Where the answer starts in `text` (after the reasoning), or null while the text is still
 * reasoning or could still turn out to be (thinking 'auto' before the first characters decide).
 * `searchFrom`: no </think> starts before it (the text up to there was asked about already).
 */
export function answerStart(text: string, thinking: ThinkingMode, searchFrom = 0): number | null {
  if (thinking === 'no') return 0;
  if (thinking === 'auto' && !text.startsWith(THINK_OPEN)) return THINK_OPEN.startsWith(text) ? null : 0;
  const end = text.indexOf(THINK_CLOSE, searchFrom); // searchFrom: where a </think> could start (text before it was searched)
  return end < 0 ? null : end + THINK_CLOSE.length;
}

export function splitOutput(text: string, options: OutputOptions, final: boolean): OutputView {
  let thinking = options.thinking === 'yes';
  if (options.thinking === 'auto') {
    if (text.startsWith(THINK_OPEN)) thinking = true;
    else if (!final && THINK_OPEN.startsWith(text)) return { reasoning: null, content: '', toolText: '', thinking: false }; // undecided
  }

  let rest = text;
  let reasoning: string | null = null;
  if (thinking) {
    const end = rest.indexOf(THINK_CLOSE);
    let head = end < 0 ? settled(rest, [THINK_CLOSE], final) : rest.slice(0, end);
    if (head.startsWith(THINK_OPEN)) head = head.slice(THINK_OPEN.length);
    else if (!final && end < 0 && THINK_OPEN.startsWith(head)) head = ''; // maybe "<think" still coming
    reasoning = trimView(head);
    if (end < 0) return { reasoning, content: '', toolText: '', thinking };
    rest = rest.slice(end + THINK_CLOSE.length);
  }

  const lead = rest.trimStart();
  if (!final && lead.length < RESP_OPEN.length && RESP_OPEN.startsWith(lead)) {
    return { reasoning, content: '', toolText: '', thinking }; // maybe "<response>" still coming
  }
  let region: string;
  let toolText = '';
  if (lead.startsWith(RESP_OPEN)) {
    const inner = lead.slice(RESP_OPEN.length);
    const close = inner.indexOf(RESP_CLOSE);
    region = close >= 0 ? inner.slice(0, close) : settled(inner, [RESP_CLOSE], final);
    if (options.tools && close >= 0) {
      const after = inner.slice(close + RESP_CLOSE.length);
      const call = after.indexOf(CALL_OPEN);
      toolText = call >= 0 ? after.slice(call) : '';
    }
  } else if (options.tools) {
    const call = rest.indexOf(CALL_OPEN);
    region = call >= 0 ? rest.slice(0, call) : settled(rest, [CALL_OPEN], final);
    toolText = call >= 0 ? rest.slice(call) : '';
  } else {
    region = rest;
  }
  return { reasoning, content: trimView(region), toolText, thinking };
}

/**
 * Turns successive views into deltas. Partial views are prefixes of later ones by
 * construction; `take` returns what is new.
 */
export class DeltaTracker {
  private sentReasoning = '';
  private sentContent = '';

  take(view: OutputView): { reasoning: string; content: string } {
    const r = view.reasoning ?? '';
    const reasoning = r.startsWith(this.sentReasoning) ? r.slice(this.sentReasoning.length) : '';
    const content = view.content.startsWith(this.sentContent) ? view.content.slice(this.sentContent.length) : '';
    this.sentReasoning += reasoning;
    this.sentContent += content;
    return { reasoning, content };
  }
}
