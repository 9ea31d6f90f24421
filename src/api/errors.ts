// Errors of the engine API. All are ErnieErrors: switch on `code`; BadRequestError also names
// the offending request field in `param` (OpenAI's `param`, e.g. "messages[2].tool_call_id").

import { ErnieError } from '../errors';

export { AbortError } from '../errors';

export class BadRequestError extends ErnieError {
  /** The request field at fault, as a path: "temperature", "messages[1].content[0]". */
  readonly param: string | null;
  constructor(param: string | null, message: string, options?: { cause?: unknown }) {
    super('BAD_REQUEST', param ? `${param}: ${message}` : message, options);
    this.name = 'BadRequestError';
    this.param = param;
  }
}

/** The prompt plus the tokens asked for do not fit in the model's context. */
export class ContextOverflowError extends ErnieError {
  /** The field to change: "messages" / "prompt" when the prompt alone is too long, else "max_tokens". */
  readonly param: string;
  /**
   * `promptTokens` is a lower bound when `atLeast` (a prompt refused before tokenizing it all,
   * from its length in characters and the tokenizer's longest token).
   */
  constructor(
    readonly promptTokens: number,
    readonly maxTokens: number,
    readonly contextLength: number,
    options: { promptParam?: string; atLeast?: boolean } = {},
  ) {
    const promptParam = options.promptParam ?? 'messages';
    const fix =
      promptTokens >= contextLength
        ? 'shorten the prompt (drop or summarise earlier messages)'
        : `lower max_tokens to at most ${contextLength - promptTokens}, or shorten the prompt`;
    const size = options.atLeast ? `at least ${promptTokens} tokens (from its length in characters)` : `${promptTokens} tokens`;
    super(
      'CONTEXT_OVERFLOW',
      `the prompt is ${size} and ${maxTokens} more were asked for (max_tokens), ` +
        `${promptTokens + maxTokens} in all, but the model's context holds ${contextLength}: ${fix}`,
    );
    this.name = 'ContextOverflowError';
    this.param = promptTokens >= contextLength ? promptParam : 'max_tokens';
  }
}
