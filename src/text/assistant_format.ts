// The tags of ERNIE 4.5's assistant turn (ERNIE45.md §2.5), one definition for the parsers that
// read it (text/assistant_output.ts, api/output.ts, api/tool_calls.ts) and the engine, and the
// random ids OpenAI-style responses and tool calls carry.

export const THINK_OPEN = '<think>';
export const THINK_CLOSE = '</think>';
export const RESP_OPEN = '<response>';
export const RESP_CLOSE = '</response>';
export const CALL_OPEN = '<tool_call>';
export const CALL_CLOSE = '</tool_call>';

/** `prefix` + 24 random hex digits ("call_…", "chatcmpl-…"). */
export function randomId(prefix: string): string {
  const b = new Uint8Array(12);
  globalThis.crypto.getRandomValues(b);
  return prefix + Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}
