// Log-probabilities in OpenAI's shapes, from generate()'s 'token' events (the numbers come
// from the model: on the GPU, shaders/logprobs.wgsl). A token's text is its vocabulary string
// decoded as a token in the middle of a text (Metaspace's "▁" is a space, never stripped);
// a byte-fallback token is "bytes:\xAB" with its one byte, as OpenAI writes partial UTF-8.
import { applyStep, byteOf } from '../text/decoder';
import type { ErnieTokenizer } from '../text/tokenizer';
import type { TokenLogprobs } from '../sampling/params';
import type { ChatCompletionTokenLogprob, CompletionLogprobs, TopLogprob } from './types';

export interface TokenEvent {
  id: number;
  logprobs: TokenLogprobs;
}

const utf8 = new TextEncoder();

export class LogprobsFormatter {
  private readonly pieces = new Map<number, { token: string; bytes: number[] }>();

  constructor(private readonly tokenizer: ErnieTokenizer) {}

  /** The text and UTF-8 bytes of one token. */
  piece(id: number): { token: string; bytes: number[] } {
    let p = this.pieces.get(id);
    if (p) return p;
    const raw = this.tokenizer.idToToken(id) ?? '';
    const plan = this.tokenizer.decodePlan;
    const b = plan.byteFallback ? byteOf(raw) : -1;
    if (b >= 0) p = { token: `bytes:\\x${b.toString(16).padStart(2, '0')}`, bytes: [b] };
    else {
      let s = raw;
      if (!this.tokenizer.isSpecial(id)) for (const step of [...plan.before, ...plan.after]) if (step.kind !== 'strip') s = applyStep(step, s, 1);
      p = { token: s, bytes: Array.from(utf8.encode(s)) };
    }
    this.pieces.set(id, p);
    return p;
  }

  private top(id: number, logprob: number): TopLogprob {
    return { ...this.piece(id), logprob };
  }

  /** choices[].logprobs.content entries (chat). */
  chat(events: readonly TokenEvent[]): ChatCompletionTokenLogprob[] {
    return events.map((e) => ({ ...this.top(e.id, e.logprobs.logprob), top_logprobs: e.logprobs.top.map((t) => this.top(t.id, t.logprob)) }));
  }

  /** choices[].logprobs (completions); offsets count from `offset` characters into the choice's text. */
  completion(events: readonly TokenEvent[], offset: number): CompletionLogprobs {
    const out: CompletionLogprobs = { tokens: [], token_logprobs: [], top_logprobs: [], text_offset: [] };
    let at = offset;
    for (const e of events) {
      const token = this.piece(e.id).token;
      out.tokens.push(token);
      out.token_logprobs.push(e.logprobs.logprob);
      const top: Record<string, number> = {};
      for (const t of e.logprobs.top) top[this.piece(t.id).token] ??= t.logprob; // two ids, one text: the likelier
      out.top_logprobs.push(top);
      out.text_offset.push(at);
      at += token.length;
    }
    return out;
  }
}
