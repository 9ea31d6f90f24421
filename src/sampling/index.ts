// Sampling helpers the API drives: seeded numbers, stop strings, JSON-constrained decoding,
// and the CPU reference of SamplingParams.
export { Rng, randomSeed } from './rng';
export { StopMatcher } from './stop';
export type { StopResult } from './stop';
export { compileJsonSchema, validateJson, SchemaError, ANY, ANY_OBJECT } from './json_schema';
export type { SchemaNode, PropNode } from './json_schema';
export { JsonGrammar, TokenTable, allowedTokens } from './json_grammar';
export type { GrammarPart, GrammarOptions, GrammarState } from './json_grammar';
export { processLogits, sampleProcessed, sampleLogits } from './cpu_sampler';
