// The OpenAI-style engine API: public exports.
export { Engine, createEngine } from './engine';
export type { EngineOptions, ChatCompletions, Completions } from './engine';
export type { GenStats } from './generate';
export { BadRequestError, ContextOverflowError, AbortError } from './errors';
export type { PartialOutput } from '../errors';
export { validateChatRequest, validateCompletionRequest, IGNORED_FIELDS } from './validate';
export type { ValidationContext, NormalizedChatRequest, NormalizedCompletionRequest, NormalizedCommon, ToolChoiceNorm } from './validate';
export { splitOutput } from './output';
export type { OutputOptions, OutputView, ThinkingMode } from './output';
export { RequestQueue } from './queue';
export type * from './types';
