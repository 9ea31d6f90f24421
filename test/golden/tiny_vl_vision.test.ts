// The GPU vision tower + resampler of the tiny VL fixture: its image features equal HF's (the
// fixture's hidden_0 at the placeholder positions holds them) and the f64 reference's, also
// with the per-row work in several chunks, and for a video (frames attend to themselves only;
// frame pairs are merged).
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeImage } from '../../src/image/decode.js';
import { fromPath } from '../../src/formats/node_source.js';
import { SafetensorsFile } from '../../src/formats/safetensors.js';
import { parseVlConfig } from '../../src/model/ernie45_vl/config.js';
import { parsePreprocessorConfig, preprocessImage } from '../../src/model/ernie45_vl/preprocess.js';
import { visionPrefix } from '../../src/model/ernie45_vl/tensors.js';
import { VisionEncoder } from '../../src/model/ernie45_vl/vision.js';
import { loadVisionWeights } from '../../src/model/ernie45_vl/vision_weights.js';
import type { GpuContext } from '../../src/gpu/context.js';
import { maxAbsDiff } from '../reference/ops.js';
import { referenceResampler, referenceVisionTower } from '../reference/vl_forward_ref.js';
import { gpuContext, randn, rng } from '../helpers/gpu.js';
import { VL, loadAllTensors } from '../helpers/vl_fixture.js';

const cfg = parseVlConfig(JSON.parse(readFileSync(`${VL}/config.json`, 'utf8')));
let ctx: GpuContext;
let weights: Map<string, Float32Array>;
let encoder: VisionEncoder;
let loaded: Awaited<ReturnType<typeof loadVisionWeights>>;

beforeAll(async () => {
  ctx = await gpuContext();
  const st = await SafetensorsFile.open(fromPath(`${VL}/model.safetensors`));
  loaded = await loadVisionWeights(ctx, cfg, st, visionPrefix(st.names()));
  encoder = new VisionEncoder(ctx, cfg, loaded.vision, loaded.resampler);
  weights = await loadAllTensors(`${VL}/model.safetensors`);
});

describe('GPU vision tower + resampler', () => {
  it('the fixture image: features equal HF\'s embeddings at the 12 placeholders', async () => {
    const pre = parsePreprocessorConfig(JSON.parse(readFileSync(`${VL}/preprocessor_config.json`, 'utf8')));
    const patches = preprocessImage(decodeImage(readFileSync(`${VL}/test_image.png`)), pre);
    const features = encoder.encode(patches);
    const got = await ctx.readF32(features, 0, 12 * 128);
    const hidden0 = (await loadAllTensors(`${VL}/reference.safetensors`, ['image_grid_thw'])).get('hidden_0')!;
    const diff = maxAbsDiff(got, hidden0.subarray(3 * 128, 15 * 128));
    console.log(`VL image features on the GPU vs HF: max |diff| ${diff.toExponential(2)}`);
    expect(diff).toBeLessThan(1e-4);
  });

  it('per-row work in chunks of 8 rows (6 in the tower, 2 in the resampler) matches the f64 reference', async () => {
    const grid = { t: 1, h: 6, w: 8 };
    const pixelValues = randn(rng(3), 48 * 588);
    const chunked = new VisionEncoder(ctx, cfg, loaded.vision, loaded.resampler, { chunkRows: 8 });
    const got = await ctx.readF32(chunked.encode({ pixelValues, grid }), 0, 12 * 128);
    const w = (n: string) => weights.get(n)!;
    const want = referenceResampler(cfg, w, referenceVisionTower(cfg, w, 'model.vision_model.', [{ pixelValues, grid }]), [grid]);
    expect(maxAbsDiff(got, want)).toBeLessThan(1e-4);
  });

  it('a 4-frame video: attention per frame, temporal merge of frame pairs (0,1), (2,3) match the f64 reference', async () => {
    const grid = { t: 4, h: 2, w: 4 };
    const pixelValues = randn(rng(5), 32 * 588);
    const got = await ctx.readF32(encoder.encode({ pixelValues, grid }), 0, 4 * 128);
    const w = (n: string) => weights.get(n)!;
    const want = referenceResampler(cfg, w, referenceVisionTower(cfg, w, 'model.vision_model.', [{ pixelValues, grid }]), [grid]);
    expect(want.length).toBe(4 * 128); // 4 frames x 2 windows / 2
    expect(maxAbsDiff(got, want)).toBeLessThan(1e-4);
  });

  it('pixel values that do not match the grid are a BAD_REQUEST error; an image over the binding limit a GPU_LIMIT error', () => {
    expect(() => encoder.encode({ pixelValues: new Float32Array(10), grid: { t: 1, h: 2, w: 2 } })).toThrow(expect.objectContaining({ code: 'BAD_REQUEST' }));
    const small = new VisionEncoder(ctx, cfg, loaded.vision, loaded.resampler, { maxBindingBytes: 4096 });
    expect(() => small.encode({ pixelValues: new Float32Array(4 * 588), grid: { t: 1, h: 2, w: 2 } })).toThrow(expect.objectContaining({ code: 'GPU_LIMIT' }));
  });
});
