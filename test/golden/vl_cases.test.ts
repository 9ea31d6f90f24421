// The GPU VL forward against the f64 reference (itself checked against HF on the fixture) on
// prompts the fixture does not hold: two images of other sizes and aspects in one prompt, and a
// text-only prompt; logits and greedy tokens. (A random VL geometry in the -PT layout runs
// through the parity CLI in test/cli/vl_cli.test.ts.)
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fromPath } from '../../src/formats/node_source.js';
import { SafetensorsFile } from '../../src/formats/safetensors.js';
import { sample } from '../../src/kernels/sample.js';
import { type ErnieVlConfig, parseVlConfig } from '../../src/model/ernie45_vl/config.js';
import { ErnieVlForward } from '../../src/model/ernie45_vl/forward.js';
import { loadVlLmWeights } from '../../src/model/ernie45_vl/lm_weights.js';
import { type VisionPrefix, visionPrefix } from '../../src/model/ernie45_vl/tensors.js';
import { VisionEncoder } from '../../src/model/ernie45_vl/vision.js';
import { loadVisionWeights } from '../../src/model/ernie45_vl/vision_weights.js';
import type { WeightSource } from '../../src/model/ernie45/weights.js';
import type { GpuContext } from '../../src/gpu/context.js';
import { maxAbsDiff } from '../reference/ops.js';
import { type RefImage, referenceVlForward, referenceVlGreedy } from '../reference/vl_forward_ref.js';
import { gpuContext, randn, rng } from '../helpers/gpu.js';
import { VL, loadAllTensors } from '../helpers/vl_fixture.js';

async function gpuModel(ctx: GpuContext, cfg: ErnieVlConfig, src: WeightSource, prefix: VisionPrefix): Promise<ErnieVlForward> {
  const { vision, resampler } = await loadVisionWeights(ctx, cfg, src, prefix);
  return new ErnieVlForward(ctx, cfg, await loadVlLmWeights(ctx, cfg, src), new VisionEncoder(ctx, cfg, vision, resampler), { maxBatch: 8 });
}

async function greedyGpu(ctx: GpuContext, model: ErnieVlForward, ids: number[], images: RefImage[], steps: number): Promise<number[]> {
  model.truncate(0);
  await model.prefill(ids, images.map((im) => ({ pixelValues: Float32Array.from(im.pixelValues), grid: im.grid })));
  const result = ctx.createBuffer('token', 4);
  const out: number[] = [];
  for (let i = 0; i < steps; i++) {
    sample(ctx, { logits: model.logitsBuffer, row: 0, vocab: model.cfg.text.vocabSize, result, options: { temperature: 0 }, u: 0 });
    const [id] = await ctx.readU32(result, 0, 1);
    out.push(id);
    if (i < steps - 1) await model.decode([id]);
  }
  return out;
}

/** A prompt: text ids, then for each image START + one placeholder per merged patch + END, then text. */
function prompt(cfg: ErnieVlConfig, images: RefImage[], text: number[][]): number[] {
  const t = cfg.tokens, ids: number[] = [...text[0]];
  images.forEach((im, k) => {
    ids.push(t.imageStart, ...Array((im.grid.h * im.grid.w) / 4).fill(t.image), t.imageEnd, ...text[k + 1]);
  });
  return ids;
}

function randomImage(seed: number, h: number, w: number, patchDim: number): RefImage {
  return { pixelValues: randn(rng(seed), h * w * patchDim), grid: { t: 1, h, w } };
}

async function compare(ctx: GpuContext, cfg: ErnieVlConfig, model: ErnieVlForward, w: (n: string) => ArrayLike<number>, prefix: VisionPrefix, ids: number[], images: RefImage[], greedySteps = 3) {
  model.truncate(0);
  const { logits } = await model.prefill(ids, images.map((im) => ({ pixelValues: Float32Array.from(im.pixelValues), grid: im.grid })), { allLogits: true });
  const want = referenceVlForward(cfg, w, prefix, ids, images);
  const diff = maxAbsDiff(logits!, want.logits);
  expect(diff).toBeLessThan(1e-4);
  if (greedySteps > 0) expect(await greedyGpu(ctx, model, ids, images, greedySteps)).toEqual(referenceVlGreedy(cfg, w, prefix, ids, images, greedySteps));
  return diff;
}

describe('tiny VL fixture: prompts the fixture does not hold', () => {
  it('two images (4x8 and 8x4 patches) in one prompt, then a text-only prompt', async () => {
    const ctx = await gpuContext();
    const cfg = parseVlConfig(JSON.parse(readFileSync(`${VL}/config.json`, 'utf8')));
    const st = await SafetensorsFile.open(fromPath(`${VL}/model.safetensors`));
    const weights = await loadAllTensors(`${VL}/model.safetensors`);
    const w = (n: string) => weights.get(n)!;
    const model = await gpuModel(ctx, cfg, st, visionPrefix(st.names()));
    const images = [randomImage(1, 4, 8, 588), randomImage(2, 8, 4, 588)];
    const d2 = await compare(ctx, cfg, model, w, 'model.vision_model.', prompt(cfg, images, [[5, 17], [9, 10, 11], [33]]), images);
    const d0 = await compare(ctx, cfg, model, w, 'model.vision_model.', [5, 17, 33, 44, 55, 66, 77], [], 0);
    console.log(`tiny VL, GPU vs f64 reference: two images ${d2.toExponential(2)}, text only ${d0.toExponential(2)}`);
  });
});

describe('turns appended after the cache, and prefix reuse', () => {
  it('prompt + generated tokens + a second turn with another image, then back to a prefix and a different turn: logits equal the f64 reference over the whole sequence', async () => {
    const ctx = await gpuContext();
    const cfg = parseVlConfig(JSON.parse(readFileSync(`${VL}/config.json`, 'utf8')));
    const st = await SafetensorsFile.open(fromPath(`${VL}/model.safetensors`));
    const weights = await loadAllTensors(`${VL}/model.safetensors`);
    const w = (n: string) => weights.get(n)!;
    const model = await gpuModel(ctx, cfg, st, visionPrefix(st.names()));
    const img1 = randomImage(3, 4, 8, 588), img2 = randomImage(4, 6, 4, 588);
    const gpuImage = (im: RefImage) => ({ pixelValues: Float32Array.from(im.pixelValues), grid: im.grid });
    const turn1 = prompt(cfg, [img1], [[5, 17], [33]]);
    model.truncate(0);
    await model.prefill(turn1, [gpuImage(img1)]);
    await model.decode([40]);
    await model.decode([41]);
    const turn2 = prompt(cfg, [img2], [[50], [51, 52]]);
    const { logits } = await model.prefill(turn2, [gpuImage(img2)], { allLogits: true });
    const all = [...turn1, 40, 41, ...turn2];
    const want = referenceVlForward(cfg, w, 'model.vision_model.', all, [img1, img2]);
    const V = cfg.text.vocabSize;
    expect(maxAbsDiff(logits!, want.logits.subarray((all.length - turn2.length) * V))).toBeLessThan(1e-4);

    // keep turn 1 (its image's KV stays), drop the rest, append another turn
    model.truncate(turn1.length);
    const turn3 = [60, 61, 62];
    const again = await model.prefill(turn3, [], { allLogits: true });
    const all3 = [...turn1, ...turn3];
    const want3 = referenceVlForward(cfg, w, 'model.vision_model.', all3, [img1]);
    expect(maxAbsDiff(again.logits!, want3.logits.subarray(turn1.length * V))).toBeLessThan(1e-4);
  });
});
