// Splits what the model wrote into reasoning, answer and tool calls (ERNIE45.md §2.5):
//   [reasoning]\n</think>\n\n\n<response>\nanswer\n</response>\n
//   [reasoning]\n</think>\n\n\n<tool_call>\n{"name": ..., "arguments": {...}}\n</tool_call>\n...
// PT models (no thinking, no <response>) write the answer bare, with tool-call blocks after it.
// A tool-call block that is not valid JSON with a name and object arguments is reported in
// toolCallErrors with its raw text instead of being dropped silently.
import { CALL_CLOSE, CALL_OPEN, randomId, RESP_CLOSE, RESP_OPEN, THINK_CLOSE, THINK_OPEN } from './assistant_format';

export interface ParsedToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

export interface ToolCallError {
  /** The block's text between the tags, untrimmed. */
  raw: string;
  error: string;
}

export interface AssistantOutput {
  content: string;
  /** null when thinking was off. */
  reasoning_content: string | null;
  tool_calls: ParsedToolCall[];
  toolCallErrors: ToolCallError[];
}

export interface ParseOptions {
  /** The prompt opened a <think> block: text before </think> is reasoning. */
  thinking: boolean;
  /** Id for the n-th parsed call (default: call_ + random hex). */
  makeId?: (index: number) => string;
}

const callId = (): string => randomId('call_');

export function parseAssistantOutput(text: string, options: ParseOptions): AssistantOutput {
  let rest = text;
  let reasoning: string | null = null;
  if (options.thinking) {
    const end = rest.indexOf(THINK_CLOSE);
    // No </think> yet: everything so far is reasoning.
    const head = end < 0 ? rest : rest.slice(0, end);
    reasoning = (head.startsWith(THINK_OPEN) ? head.slice(THINK_OPEN.length) : head).trim();
    rest = end < 0 ? '' : rest.slice(end + THINK_CLOSE.length);
  }

  const firstCall = rest.indexOf(CALL_OPEN);
  const resp = rest.indexOf(RESP_OPEN);
  let content: string;
  if (resp >= 0 && (firstCall < 0 || resp < firstCall)) {
    const start = resp + RESP_OPEN.length;
    const close = rest.indexOf(RESP_CLOSE, start);
    content = rest.slice(start, close < 0 ? undefined : close);
  } else if (resp >= 0) {
    content = ''; // a tool call came first
  } else {
    content = firstCall < 0 ? rest : rest.slice(0, firstCall);
  }

  const tool_calls: ParsedToolCall[] = [];
  const toolCallErrors: ToolCallError[] = [];
  const makeId = options.makeId ?? callId;
  for (let at = firstCall; at >= 0; at = rest.indexOf(CALL_OPEN, at)) {
    const start = at + CALL_OPEN.length;
    const close = rest.indexOf(CALL_CLOSE, start);
    const raw = rest.slice(start, close < 0 ? undefined : close); // an unclosed last block is kept
    at = close < 0 ? rest.length : close + CALL_CLOSE.length;
    const parsed = parseCall(raw);
    if ('error' in parsed) toolCallErrors.push({ raw, error: parsed.error });
    else tool_calls.push({ id: makeId(tool_calls.length), type: 'function', function: parsed });
  }
  return { content: content.trim(), reasoning_content: reasoning, tool_calls, toolCallErrors };
}

function parseCall(raw: string): { name: string; arguments: string } | { error: string } {
  let value: unknown;
  try {
    value = JSON.parse(raw.trim());
  } catch (e) {
    return { error: `not valid JSON: ${(e as Error).message}` };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { error: 'not a JSON object' };
  const { name, arguments: args } = value as { name?: unknown; arguments?: unknown };
  if (typeof name !== 'string' || name === '') return { error: 'missing "name"' };
  let obj = args ?? {};
  if (typeof obj === 'string') {
    // Some outputs double-encode the arguments; accept a string holding a JSON object.
    try { obj = JSON.parse(obj); } catch { return { error: '"arguments" is a string that is not JSON' }; }
  }
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) return { error: '"arguments" is not an object' };
  return { name, arguments: JSON.stringify(obj) };
}
