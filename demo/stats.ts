// Honest generation speed: decode tokens per second counts the tokens after the first one over
// the time between the first and the last token (the first token's wait is prompt processing).
// Fewer than two tokens give no speed at all, so a reply stopped after one token shows none.
export interface TokenTiming {
  /** Tokens generated (usage.completion_tokens, or the content chunks counted). */
  tokens: number;
  firstTokenMs: number | undefined;
  lastTokenMs: number | undefined;
}

export function decodeTokensPerSecond(t: TokenTiming): number | undefined {
  if (t.tokens < 2 || t.firstTokenMs === undefined || t.lastTokenMs === undefined) return undefined;
  const ms = t.lastTokenMs - t.firstTokenMs;
  return ms > 0 ? ((t.tokens - 1) * 1000) / ms : undefined;
}

/** The stats line of an answer: tokens, decode speed, and the prompt with how much of it was reused from the last request's KV cache. */
export function statsLine(tokens: number, tokensPerSecond: number | undefined, prompt?: { tokens: number; cached?: number }): string {
  const head = `${tokens} token${tokens === 1 ? '' : 's'}${tokensPerSecond === undefined ? '' : `, ${tokensPerSecond.toFixed(1)} tok/s`}`;
  if (!prompt) return head;
  return `${head} · prompt ${prompt.tokens} token${prompt.tokens === 1 ? '' : 's'}${prompt.cached ? `, ${prompt.cached} reused` : ''}`;
}
