// Sampling helpers the API drives: seeded numbers, stop strings, JSON-constrained decoding,
// the one definition of sampling parameters (params.ts), and the CPU reference of a SampleStep.
export { Rng, randomSeed } from './rng';
export { StopMatcher } from './stop';
export type { StopResult } from './stop';
export { compileJsonSchema } from './json_schema';
export { validateJson } from './json_schema_validate';
export { SchemaError, ANY, ANY_OBJECT } from './json_schema_types';
export type { SchemaNode, PropNode } from './json_schema_types';
export { JsonGrammar, TokenTable, allowedTokens } from './json_grammar';
export type { GrammarPart, GrammarOptions, GrammarState } from './json_grammar';
export { processLogits, sampleProcessed, sampleLogits } from './cpu_sampler';
export { resolveSampling, samplingFromGenerationConfig, penalised, SAMPLING_OFF } from './params';
export type { SamplingParams, ResolvedSampling, SampleStep, LogitAdjustments } from './params';
