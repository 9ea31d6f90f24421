// The tiny VL fixture through the GPU VL forward (vision tower, resampler, feature scatter,
// 3D RoPE, dual MoE) against HF transformers: logits of every position, hidden states per
// layer, and the 16 greedy tokens decoded one per step through the KV cache.
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeImage } from '../../src/image/decode.js';
import { fromPath } from '../../src/formats/node_source.js';
import { SafetensorsFile } from '../../src/formats/safetensors.js';
import { sample } from '../../src/kernels/sample.js';
import { parseVlConfig } from '../../src/model/ernie45_vl/config.js';
import { ErnieVlForward } from '../../src/model/ernie45_vl/forward.js';
import { loadVlLmWeights } from '../../src/model/ernie45_vl/lm_weights.js';
import { parsePreprocessorConfig, preprocessImage } from '../../src/model/ernie45_vl/preprocess.js';
import { visionPrefix } from '../../src/model/ernie45_vl/tensors.js';
import { VisionEncoder } from '../../src/model/ernie45_vl/vision.js';
import { loadVisionWeights } from '../../src/model/ernie45_vl/vision_weights.js';
import type { GpuContext } from '../../src/gpu/context.js';
import { maxAbsDiff } from '../reference/ops.js';
import { gpuContext } from '../helpers/gpu.js';
import { VL, loadAllTensors } from '../helpers/vl_fixture.js';
import type { VisionInput } from '../../src/model/ernie45_vl/vision.js';

const cfg = parseVlConfig(JSON.parse(readFileSync(`${VL}/config.json`, 'utf8')));
const ref = JSON.parse(readFileSync(`${VL}/reference.json`, 'utf8')) as { input_ids: number[]; greedy: number[] };
let ctx: GpuContext;
let model: ErnieVlForward;
let image: VisionInput;
let refs: Map<string, Float32Array>;

beforeAll(async () => {
  ctx = await gpuContext();
  const st = await SafetensorsFile.open(fromPath(`${VL}/model.safetensors`));
  const { vision, resampler } = await loadVisionWeights(ctx, cfg, st, visionPrefix(st.names()));
  model = new ErnieVlForward(ctx, cfg, await loadVlLmWeights(ctx, cfg, st), new VisionEncoder(ctx, cfg, vision, resampler), { maxBatch: 8 });
  const pre = parsePreprocessorConfig(JSON.parse(readFileSync(`${VL}/preprocessor_config.json`, 'utf8')));
  image = preprocessImage(decodeImage(readFileSync(`${VL}/test_image.png`)), pre);
  refs = await loadAllTensors(`${VL}/reference.safetensors`, ['image_grid_thw']);
});

describe('ernie45-vl-tiny on the GPU vs HF transformers', () => {
  it('logits of every position within 1e-4 and hidden states per layer (prompt in chunks of 8 tokens)', async () => {
    model.truncate(0);
    const { logits, hidden } = await model.prefill(ref.input_ids, [image], { allLogits: true, captureHidden: true });
    const diff = maxAbsDiff(logits!, refs.get('logits')!);
    console.log(`tiny VL on the GPU vs HF: max |logit diff| ${diff.toExponential(2)}`);
    expect(diff).toBeLessThan(1e-4);
    expect(hidden!.length).toBe(4);
    for (let l = 0; l < 4; l++) expect(maxAbsDiff(hidden![l], refs.get(`hidden_${l}`)!), `hidden ${l}`).toBeLessThan(1e-4);
  });

  it('16 greedy tokens, one per step through the KV cache', async () => {
    model.truncate(0);
    await model.prefill(ref.input_ids, [image]);
    const result = ctx.createBuffer('token', 4);
    const out: number[] = [];
    for (let i = 0; i < 16; i++) {
      sample(ctx, { logits: model.logitsBuffer, row: 0, vocab: cfg.text.vocabSize, result, options: { temperature: 0 }, u: 0 });
      const [id] = await ctx.readU32(result, 0, 1);
      out.push(id);
      if (i < 15) await model.decode([id]);
    }
    expect(out).toEqual(ref.greedy);
  });

  it('ids whose placeholders do not match the image are a BAD_REQUEST error; an aborted prefill an ABORTED one', async () => {
    model.truncate(0);
    await expect(model.prefill(ref.input_ids.slice(0, 10), [image])).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    const ac = new AbortController();
    ac.abort();
    await expect(model.prefill(ref.input_ids, [image], { signal: ac.signal })).rejects.toMatchObject({ code: 'ABORTED' });
    expect(model.length).toBe(0);
  });

  it('a prompt with images past the KV cache is CONTEXT_OVERFLOW before any image is encoded', async () => {
    const st = await SafetensorsFile.open(fromPath(`${VL}/model.safetensors`));
    const { vision, resampler } = await loadVisionWeights(ctx, cfg, st, visionPrefix(st.names()));
    const encoder = new VisionEncoder(ctx, cfg, vision, resampler);
    let encoded = 0;
    const counting = Object.assign(Object.create(encoder), { encode: (im: VisionInput) => (encoded++, encoder.encode(im)) });
    // 16 tokens of K and V for 3 layers of 2 heads x 32 dims: 16 * 2 * 3 * 256 bytes
    const small = new ErnieVlForward(ctx, cfg, await loadVlLmWeights(ctx, cfg, st), counting, { kvCacheBytes: 16 * 2 * 3 * 256 });
    expect(small.text.kv.capacity).toBe(16);
    await expect(small.prefill(ref.input_ids, [image])).rejects.toMatchObject({ code: 'CONTEXT_OVERFLOW' });
    expect(encoded).toBe(0);
  });
});
