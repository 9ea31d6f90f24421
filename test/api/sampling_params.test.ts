// The one definition of sampling parameters: a request's fields override the model's
// generation_config defaults field by field, an explicit "off" included; unset fields fall
// through to the defaults, then to the built-in values.
import { describe, expect, it } from 'vitest';
import { createEngine } from '../../src/api/engine';
import type { ChatCompletionRequest } from '../../src/api/types';
import { ConfigError } from '../../src/errors';
import type { SampleStep } from '../../src/engine/language_model';
import { SAMPLING_OFF, resolveSampling, samplingFromGenerationConfig, type SamplingParams } from '../../src/sampling/params';
import { MODEL_NAME, tinyTokenizer } from './helpers';
import { ScriptedModel } from './scripted_model';

const tok = tinyTokenizer();

/** A scripted model that keeps every step it was asked to sample. */
class RecordingModel extends ScriptedModel {
  readonly steps: SampleStep[] = [];
  override async sample(step: SampleStep): Promise<number> {
    this.steps.push(step);
    return super.sample(step);
  }
}

/** generation_config.json of a model whose defaults are all "on". */
const GENERATION_CONFIG = { temperature: 0.6, top_p: 0.8, top_k: 40, min_p: 0.05, repetition_penalty: 1.3, frequency_penalty: 0.4, presence_penalty: 0.2, do_sample: true };
const DEFAULTS = samplingFromGenerationConfig(GENERATION_CONFIG);

/** Request field -> [resolved field, the value that means "off", another explicit value]. */
const FIELDS: [keyof ChatCompletionRequest & string, keyof SamplingParams, number, number][] = [
  ['temperature', 'temperature', 1, 0],
  ['top_p', 'topP', 1, 0.5],
  ['top_k', 'topK', 0, 3],
  ['min_p', 'minP', 0, 0.1],
  ['repetition_penalty', 'repetitionPenalty', 1, 1.1],
  ['frequency_penalty', 'frequencyPenalty', 0, -0.5],
  ['presence_penalty', 'presencePenalty', 0, 1.5],
];

async function stepsOf(req: Partial<ChatCompletionRequest>): Promise<SampleStep[]> {
  const script = [tok.encode('a b c', { addSpecialTokens: false })].flat();
  const model = new RecordingModel(script, tok.stopTokenIds[0]!, tok.vocabSize);
  const engine = createEngine({ model, tokenizer: tok, modelName: MODEL_NAME, kind: 'chat', defaults: DEFAULTS });
  await engine.chat.completions.create({ messages: [{ role: 'user', content: 'Hi' }], max_tokens: 8, seed: 1, ...req });
  return model.steps;
}

describe('sampling parameters', () => {
  it('generation_config.json keys map to the one definition; do_sample false is greedy', () => {
    expect(DEFAULTS).toEqual({ temperature: 0.6, topP: 0.8, topK: 40, minP: 0.05, repetitionPenalty: 1.3, frequencyPenalty: 0.4, presencePenalty: 0.2 });
    expect(samplingFromGenerationConfig({ do_sample: false, temperature: 0.9, top_k: -1 })).toEqual({ temperature: 0, topK: 0 });
    expect(samplingFromGenerationConfig(undefined)).toEqual({});
    const bad = (() => {
      try {
        samplingFromGenerationConfig({ top_p: '0.9' });
      } catch (e) {
        return e;
      }
    })();
    expect(bad).toBeInstanceOf(ConfigError);
    expect((bad as Error).message).toContain('generation_config.json: "top_p"');
  });

  it('resolve: request, then defaults, then the built-in values, field by field', () => {
    expect(resolveSampling({}, {})).toEqual(SAMPLING_OFF);
    expect(resolveSampling({}, DEFAULTS)).toEqual({ ...SAMPLING_OFF, ...DEFAULTS });
    expect(resolveSampling({ repetitionPenalty: 1, topK: 0 }, DEFAULTS)).toEqual({ ...SAMPLING_OFF, ...DEFAULTS, repetitionPenalty: 1, topK: 0 });
    expect(resolveSampling({ minP: 0.2 }, {})).toEqual({ ...SAMPLING_OFF, minP: 0.2 });
  });

  it('a request without sampling fields samples with generation_config.json defaults, penalties tracked', async () => {
    const steps = await stepsOf({});
    expect(steps.length).toBeGreaterThan(2);
    for (const s of steps) expect(s).toMatchObject(DEFAULTS);
    expect(steps[2]!.penaltyTokens).toHaveLength(2);
  });

  it.each(FIELDS)('%s: an explicit "off" (%s = %d) and another value override the default; absent keeps it', async (key, field, off, other) => {
    for (const value of [off, other]) {
      const steps = await stepsOf({ [key]: value });
      for (const s of steps) {
        expect(s[field], `${key}: ${value}`).toBe(value);
        // the other fields keep their defaults
        for (const [, f] of FIELDS) if (f !== field) expect(s[f]).toBe(DEFAULTS[f]);
      }
    }
    const steps = await stepsOf({ [key]: null });
    expect(steps[0]![field]).toBe(DEFAULTS[field]);
  });

  it('repetition_penalty 1 with the other penalties 0 turns penalties off over a default that has them on', async () => {
    const steps = await stepsOf({ repetition_penalty: 1, frequency_penalty: 0, presence_penalty: 0 });
    for (const s of steps) {
      expect(s).toMatchObject({ repetitionPenalty: 1, frequencyPenalty: 0, presencePenalty: 0 });
      expect(s.penaltyTokens).toEqual([]);
    }
  });
});
