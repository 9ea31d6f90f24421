// Tool calls from the model's <tool_call> blocks (ERNIE45.md §2.5), read as the text grows so
// that a stream sends them as OpenAI does: a first delta with index, id, type, function.name
// and empty arguments once `"name": "..."` is complete, then argument pieces. The whole
// response runs the same reader over the final text, so both agree: `arguments` is the
// block's arguments JSON with the whitespace outside strings removed.
//
// A block that is not JSON with a name and object arguments, a call to a function the request
// did not declare, and arguments that do not match the tool's parameters are reported in the
// extension field tool_call_errors (raw block text and why) instead of tool_calls. In a
// stream a call whose name was already sent and whose arguments then fail carries that index
// in its tool_call_errors entry (its pieces were sent; the error says to disregard them).
import { validateJson } from '../sampling/json_schema';
import { CALL_CLOSE, CALL_OPEN, randomId } from '../text/assistant_format';
import type { ChatCompletionChunkToolCall, ChatToolCall, ToolCallError } from './types';
import type { ToolSchema } from './validate';

const HEADER = /^\s*\{\s*"name"\s*:\s*"((?:[^"\\]|\\.)*)"\s*,\s*"arguments"\s*:\s*/;

const callId = (): string => randomId('call_');

/**
 * The JSON value at the start of `s` without insignificant whitespace, up to the `}` that
 * closes the enclosing call object (or the end of `s`). A prefix of the text gives a prefix
 * of the result.
 */
export function compactArguments(s: string): string {
  let out = '';
  let depth = 0, inString = false, escaped = false;
  for (const ch of s) {
    if (inString) {
      out += ch;
      if (escaped) escaped = false;
      else if (ch === '\\') escaped = true;
      else if (ch === '"') inString = false;
      continue;
    }
    if (ch === ' ' || ch === '\n' || ch === '\t' || ch === '\r') continue;
    if (ch === '}' || ch === ']') {
      if (depth === 0) break; // the call object's own closing brace
      depth--;
    } else if (ch === '{' || ch === '[') depth++;
    else if (ch === '"') inString = true;
    out += ch;
  }
  return out;
}

/** Length of the longest suffix of `s` that is a proper prefix of `tag`. */
function partialTag(s: string, tag: string): number {
  for (let n = Math.min(tag.length - 1, s.length); n > 0; n--) if (s.endsWith(tag.slice(0, n))) return n;
  return 0;
}

interface Block {
  name: string | null;
  /** Index among announced calls, or -1. */
  index: number;
  id: string;
  sent: string;
  done: boolean;
}

export class ToolCallReader {
  private readonly blocks: Block[] = [];
  private readonly calls: ChatToolCall[] = [];
  private readonly errors: ToolCallError[] = [];
  private announced = 0;

  /** `streaming`: errors of calls already announced carry their index. */
  constructor(private readonly schemas: readonly ToolSchema[], private readonly streaming: boolean, private readonly makeId: () => string = callId) {}

  /** Deltas for `toolText` (the text from the first <tool_call> on); `final`: nothing more will come. */
  update(toolText: string, final: boolean): ChatCompletionChunkToolCall[] {
    const out: ChatCompletionChunkToolCall[] = [];
    let k = 0;
    for (let at = toolText.indexOf(CALL_OPEN); at >= 0; k++) {
      const start = at + CALL_OPEN.length;
      const close = toolText.indexOf(CALL_CLOSE, start);
      let body = toolText.slice(start, close < 0 ? undefined : close);
      const closed = close >= 0 || final;
      if (!closed) body = body.slice(0, body.length - partialTag(body, CALL_CLOSE));
      at = close < 0 ? -1 : toolText.indexOf(CALL_OPEN, close + CALL_CLOSE.length);
      const b = (this.blocks[k] ??= { name: null, index: -1, id: '', sent: '', done: false });
      if (b.done) continue;
      this.stream(b, body, out);
      if (closed) this.finish(b, body, out);
    }
    return out;
  }

  /** The calls and errors once update(…, true) has run. */
  result(): { calls: ChatToolCall[]; errors: ToolCallError[] } {
    return { calls: this.calls, errors: this.errors };
  }

  private stream(b: Block, body: string, out: ChatCompletionChunkToolCall[]): void {
    const m = HEADER.exec(body);
    if (!m) return;
    if (b.index < 0) {
      let name: string;
      try {
        name = JSON.parse(`"${m[1]}"`) as string;
      } catch {
        return;
      }
      if (!this.schemas.some((t) => t.name === name)) return; // reported when the block ends
      b.name = name;
      b.index = this.announced++;
      b.id = this.makeId();
      out.push({ index: b.index, id: b.id, type: 'function', function: { name, arguments: '' } });
    }
    const args = compactArguments(body.slice(m[0].length));
    if (args.startsWith('"')) return; // double-encoded arguments: sent decoded when the block ends
    if (args.length > b.sent.length) {
      out.push({ index: b.index, function: { arguments: args.slice(b.sent.length) } });
      b.sent = args;
    }
  }

  private finish(b: Block, body: string, out: ChatCompletionChunkToolCall[]): void {
    b.done = true;
    const fail = (error: string): void => {
      this.errors.push(this.streaming && b.index >= 0 ? { raw: body, error, index: b.index } : { raw: body, error });
    };
    let value: unknown;
    try {
      value = JSON.parse(body.trim());
    } catch (e) {
      return fail(`not valid JSON: ${(e as Error).message}`);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return fail('not a JSON object');
    const { name, arguments: raw } = value as { name?: unknown; arguments?: unknown };
    if (typeof name !== 'string' || name === '') return fail('missing "name"');
    const tool = this.schemas.find((t) => t.name === name);
    if (!tool) return fail(`calls "${name}", which is not one of the tools (${this.schemas.map((t) => t.name).join(', ') || 'none declared'})`);
    let args = raw ?? {};
    let text = b.index >= 0 ? b.sent : JSON.stringify(args);
    if (typeof args === 'string') {
      try {
        args = JSON.parse(args);
      } catch {
        return fail('"arguments" is a string that is not JSON');
      }
      text = compactArguments(raw as string);
    }
    if (typeof args !== 'object' || args === null || Array.isArray(args)) return fail('"arguments" is not an object');
    if (raw === undefined) text = '{}';
    const problem = validateJson(args, tool.check);
    if (problem) return fail(`the arguments do not match the parameters of "${name}": ${problem}`);
    if (b.index < 0) {
      // The header was not in the streamed form (e.g. "arguments" came first): send it all now.
      b.index = this.announced++;
      b.id = this.makeId();
      out.push({ index: b.index, id: b.id, type: 'function', function: { name, arguments: text } });
    } else if (text !== b.sent) {
      out.push({ index: b.index, function: { arguments: text.startsWith(b.sent) ? text.slice(b.sent.length) : text } });
    }
    this.calls.push({ id: b.id, type: 'function', function: { name, arguments: text } });
  }
}
