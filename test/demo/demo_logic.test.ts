// The chat app's pure parts: honest tok/s, settings -> request fields, download error messages.
import { describe, expect, it } from 'vitest';
import { decodeTokensPerSecond } from '../../demo/stats.js';
import { DEFAULT_SETTINGS, requestFields } from '../../demo/settings.js';
import { explainStoreError } from '../../demo/downloads.js';
import { shortName } from '../../demo/names.js';
import { QuotaError } from '../../src/errors.js';

describe('decodeTokensPerSecond', () => {
  it('counts the tokens after the first over the time from the first to the last', () => {
    expect(decodeTokensPerSecond({ tokens: 11, firstTokenMs: 1000, lastTokenMs: 2000 })).toBe(10);
  });
  it('gives no speed for a reply of one token (e.g. stopped at once) or without timings', () => {
    expect(decodeTokensPerSecond({ tokens: 1, firstTokenMs: 5, lastTokenMs: 5 })).toBeUndefined();
    expect(decodeTokensPerSecond({ tokens: 0, firstTokenMs: undefined, lastTokenMs: undefined })).toBeUndefined();
    expect(decodeTokensPerSecond({ tokens: 3, firstTokenMs: 7, lastTokenMs: 7 })).toBeUndefined();
  });
});

describe('requestFields', () => {
  it('maps every setting to its request field', () => {
    expect(requestFields({ ...DEFAULT_SETTINGS, temperature: 0.3, topP: 0.5, maxTokens: 9, thinking: true, jsonMode: true, seed: '7' })).toEqual({
      temperature: 0.3, top_p: 0.5, max_tokens: 9, enable_thinking: true, response_format: { type: 'json_object' }, seed: 7,
    });
  });
  it('leaves out JSON mode when off and the seed when empty', () => {
    const f = requestFields({ ...DEFAULT_SETTINGS, seed: '' });
    expect(f).not.toHaveProperty('response_format');
    expect(f).not.toHaveProperty('seed');
  });
});

describe('explainStoreError', () => {
  it('says how much is missing and which stored models to delete when a download will not fit', () => {
    const e = new QuotaError('x', { needed: 5e9, available: 1e9, deletable: [{ id: 'https://h/models/old-model/', bytes: 2e9, lastUsed: 0 }] });
    expect(explainStoreError(e)).toBe('This model does not fit: it needs 5.00 GB more, 1.00 GB is free. Delete old-model (2.00 GB) below to make room, or free space on this device.');
  });
  it('names the model by its folder', () => {
    expect(shortName('https://h/a/ernie45-moe-tiny/')).toBe('ernie45-moe-tiny');
  });
});

describe('requestMessages', () => {
  it('puts the system prompt first, sends images as image_url parts after the text, and leaves out a failed turn', async () => {
    const { requestMessages } = await import('../../demo/request.js');
    const img = 'data:image/png;base64,AAAA';
    const out = requestMessages([
      { role: 'user', content: 'look', images: [img, img] },
      { role: 'assistant', content: '', error: 'refused' },
      { role: 'user', content: 'hi' },
      { role: 'assistant', content: 'hello', stopped: true, stats: '1 token' },
      { role: 'user', content: 'see', images: [img] },
    ], 'Be brief.');
    expect(out).toEqual([
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'hi' },
      { role: 'assistant', content: 'hello' },
      { role: 'user', content: [{ type: 'text', text: 'see' }, { type: 'image_url', image_url: { url: img } }] },
    ]);
    expect(requestMessages([{ role: 'user', content: 'x' }], '  ')).toEqual([{ role: 'user', content: 'x' }]);
  });
});

describe('packageBytes', () => {
  it('sums every file and shard of a manifest', async () => {
    const { packageBytes } = await import('../../demo/fit_check.js');
    expect(packageBytes({ files: [{ bytes: 10 }, { bytes: 5 }], shards: [{ bytes: 1000 }, { bytes: 24 }] })).toBe(1039);
    expect(packageBytes({})).toBe(0);
  });
});

describe('configHasVision', () => {
  it('is true for a config with a vision_config object (ERNIE-4.5-VL), false otherwise', async () => {
    const { configHasVision } = await import('../../demo/model_caps.js');
    expect(configHasVision({ vision_config: { depth: 2 } })).toBe(true);
    expect(configHasVision({ hidden_size: 8 })).toBe(false);
    expect(configHasVision({ vision_config: null })).toBe(false);
    expect(configHasVision(undefined)).toBe(false);
  });
});

describe('statsLine', () => {
  it('says tokens, speed when there is one, and the prompt with the reused part', async () => {
    const { statsLine } = await import('../../demo/stats.js');
    expect(statsLine(12, 8.54, { tokens: 40, cached: 28 })).toBe('12 tokens, 8.5 tok/s · prompt 40 tokens, 28 reused');
    expect(statsLine(12, 8.5, { tokens: 40, cached: 0 })).toBe('12 tokens, 8.5 tok/s · prompt 40 tokens');
    expect(statsLine(1, undefined)).toBe('1 token');
  });
});

describe('explainEngineError', () => {
  it('points a GPU memory failure to the expert budget, and a refused image turn to nothing in the settings', async () => {
    const { explainEngineError } = await import('../../demo/errors.js');
    const { GpuError } = await import('../../src/errors.js');
    const { BadRequestError } = await import('../../src/api/errors.js');
    expect(explainEngineError(new GpuError('GPU_LIMIT', 'buffer of 3 GB > maxBufferSize'))).toMatch(/Lower the GPU expert budget in Settings/);
    expect(explainEngineError(new BadRequestError('messages[1].content[1]', '"m" is a text-only model; it cannot read images. Send text parts only'))).toBe(
      'The request was refused: messages[1].content[1]: "m" is a text-only model; it cannot read images. Send text parts only.',
    );
    expect(explainEngineError(new BadRequestError('top_p', 'must be at most 1'))).toBe('The request was refused: top_p: must be at most 1. Check the settings.');
  });
});
