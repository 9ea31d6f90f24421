// The sampling parameters, defined once. A request, the model's generation_config.json and the
// built-in values are all `SamplingParams`; a field left undefined is unset and the next source
// decides: request ?? generation_config ?? SAMPLING_OFF (resolveSampling). An explicit value,
// "off" included (repetition_penalty 1, top_k 0, temperature 1), always wins over a default.
import { ConfigError } from '../errors';

export interface SamplingParams {
  /** [0, 2]; 0 = greedy. */
  temperature?: number;
  /** (0, 1]; 1 = off. */
  topP?: number;
  /** >= 0; 0 = off. */
  topK?: number;
  /** [0, 1]; keep tokens with p >= minP * p_max; 0 = off. */
  minP?: number;
  /** > 0, HF-style over the generated tokens; 1 = off. */
  repetitionPenalty?: number;
  /** [-2, 2]: minus count * f on tokens already generated; 0 = off. */
  frequencyPenalty?: number;
  /** [-2, 2]: minus p once on tokens already generated; 0 = off. */
  presencePenalty?: number;
}

/** Every field set: what the sampler runs with. */
export type ResolvedSampling = Required<SamplingParams>;

/** The built-in values: plain sampling at temperature 1, every filter and penalty off. */
export const SAMPLING_OFF: Readonly<ResolvedSampling> = Object.freeze({
  temperature: 1, topP: 1, topK: 0, minP: 0, repetitionPenalty: 1, frequencyPenalty: 0, presencePenalty: 0,
});

const FIELDS = Object.keys(SAMPLING_OFF) as (keyof SamplingParams)[];

/** The one resolve step: each field from the first source that sets it. */
export function resolveSampling(request: SamplingParams, defaults: SamplingParams = {}): ResolvedSampling {
  const out = { ...SAMPLING_OFF };
  for (const k of FIELDS) out[k] = request[k] ?? defaults[k] ?? SAMPLING_OFF[k];
  return out;
}

/** Whether any penalty is on (the penalised tokens then need tracking). */
export function penalised(s: Pick<ResolvedSampling, 'repetitionPenalty' | 'frequencyPenalty' | 'presencePenalty'>): boolean {
  return s.repetitionPenalty !== 1 || s.frequencyPenalty !== 0 || s.presencePenalty !== 0;
}

/** One sampling step: the resolved parameters plus what changes per token. */
export interface SampleStep extends ResolvedSampling {
  /** Uniform random number in [0, 1) drawn by the caller's seeded generator. */
  u: number;
  /** Tokens the penalties look at (usually the generated ones), with repeats. */
  penaltyTokens: readonly number[];
  /** Added to the logits before sampling. */
  logitBias: ReadonlyMap<number, number>;
  /** When set, only these token ids may be sampled (grammar-constrained decoding). */
  allowedTokens?: Uint32Array | null;
  /**
   * The same as a bitmask (bit id & 31 of word id >>> 5; ids past it are not allowed), as
   * TokenTable.allowedMask computes it. When both are set, an id must be in both.
   */
  allowedMask?: Uint32Array | null;
  /**
   * When set (0-20), the model also computes log-probabilities of the sampled token and this
   * many alternatives (LanguageModel.lastLogprobs), in the same pass.
   */
  logprobs?: number | null;
}

/** The most alternatives a request may ask for per token (OpenAI's top_logprobs bound). */
export const MAX_TOP_LOGPROBS = 20;

/** Log-probabilities of one sampled token under the model's logits (natural log, before bias, penalties, masks and temperature). */
export interface TokenLogprobs {
  logprob: number;
  /** The most likely tokens, best first (lowest id first on ties). */
  top: { id: number; logprob: number }[];
}

/** What the logit-processing kernels read of a step. */
export type LogitAdjustments = Pick<SampleStep, 'repetitionPenalty' | 'frequencyPenalty' | 'presencePenalty' | 'penaltyTokens' | 'logitBias'>;

/** generation_config.json key -> field. */
const GENERATION_CONFIG_KEYS: Record<string, keyof SamplingParams> = {
  temperature: 'temperature',
  top_p: 'topP',
  top_k: 'topK',
  min_p: 'minP',
  repetition_penalty: 'repetitionPenalty',
  frequency_penalty: 'frequencyPenalty',
  presence_penalty: 'presencePenalty',
};

/**
 * The sampling defaults of an HF generation_config.json. `do_sample: false` means greedy
 * (temperature 0), as in transformers. Other keys are ignored; a sampling key that is not a
 * finite number is a ConfigError naming the file.
 */
export function samplingFromGenerationConfig(json: unknown, file = 'generation_config.json'): SamplingParams {
  if (json === undefined || json === null) return {};
  if (typeof json !== 'object' || Array.isArray(json)) throw new ConfigError(`${file}: must be a JSON object`);
  const g = json as Record<string, unknown>;
  const out: SamplingParams = {};
  for (const [key, field] of Object.entries(GENERATION_CONFIG_KEYS)) {
    const v = g[key];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new ConfigError(`${file}: "${key}" must be a number, got ${JSON.stringify(v)}`);
    out[field] = field === 'topK' && v < 0 ? 0 : v;
  }
  if (g.do_sample === false) out.temperature = 0;
  return out;
}
