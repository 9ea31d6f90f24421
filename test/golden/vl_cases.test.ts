// The GPU VL forward against the f64 reference (itself checked against HF on the fixture) on
// cases the fixture does not cover: two images of other sizes and aspects in one prompt, a
// text-only prompt, and a random VL geometry (other widths, mrope_section [4, 4, 8], two dense
// lead layers, untied head, vision experts narrower than text experts) in the original -PT
// checkpoint layout (vision_model.* names, transposed routers, a [2, E] router bias).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fromPath } from '../../src/formats/node_source.js';
import { SafetensorsFile } from '../../src/formats/safetensors.js';
import { sample } from '../../src/kernels/sample.js';
import { type ErnieVlConfig, parseVlConfig } from '../../src/model/ernie45_vl/config.js';
import { ErnieVlForward } from '../../src/model/ernie45_vl/forward.js';
import { loadVlLmWeights } from '../../src/model/ernie45_vl/lm_weights.js';
import { type VisionPrefix, expectedVlTensors, visionPrefix } from '../../src/model/ernie45_vl/tensors.js';
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

async function compare(ctx: GpuContext, cfg: ErnieVlConfig, model: ErnieVlForward, w: (n: string) => ArrayLike<number>, prefix: VisionPrefix, ids: number[], images: RefImage[]) {
  model.truncate(0);
  const { logits } = await model.prefill(ids, images.map((im) => ({ pixelValues: Float32Array.from(im.pixelValues), grid: im.grid })), { allLogits: true });
  const want = referenceVlForward(cfg, w, prefix, ids, images);
  const diff = maxAbsDiff(logits!, want.logits);
  expect(diff).toBeLessThan(1e-4);
  expect(await greedyGpu(ctx, model, ids, images, 3)).toEqual(referenceVlGreedy(cfg, w, prefix, ids, images, 3));
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
    const d0 = await compare(ctx, cfg, model, w, 'model.vision_model.', [5, 17, 33, 44, 55, 66, 77], []);
    console.log(`tiny VL, GPU vs f64 reference: two images ${d2.toExponential(2)}, text only ${d0.toExponential(2)}`);
  });
});

describe('a random VL geometry in the original -PT layout', () => {
  const cfg = parseVlConfig({
    model_type: 'ernie4_5_vl_moe',
    image_token_id: 290, image_start_token_id: 291, image_end_token_id: 292, video_token_id: 295, video_start_token_id: 293, video_end_token_id: 294,
    text_config: {
      vocab_size: 300, hidden_size: 96, num_hidden_layers: 4, mlp_layer_types: ['dense', 'dense', 'sparse', 'sparse'],
      num_attention_heads: 3, num_key_value_heads: 1, head_dim: 32, intermediate_size: 80, moe_intermediate_size: [40, 24],
      moe_k: 2, moe_num_experts: 6, moe_num_shared_experts: 1, rms_norm_eps: 1e-6, tie_word_embeddings: false,
      rope_parameters: { rope_type: 'default', rope_theta: 10000, mrope_section: [4, 4, 8] },
    },
    vision_config: { depth: 2, hidden_size: 48, intermediate_size: 80, num_heads: 3, patch_size: 14, spatial_merge_size: 2, temporal_merge_size: 2, rope_parameters: { rope_theta: 10000 } },
  });
  const prefix: VisionPrefix = 'vision_model.';

  it('matches the f64 reference: logits and greedy tokens, images of 4x6 and 6x4 patches', async () => {
    const ctx = await gpuContext();
    const r = rng(42);
    const values = new Map<string, Float32Array>();
    const shapes = new Map<string, number[]>();
    for (const t of expectedVlTensors(cfg, prefix)) {
      const n = t.shape.reduce((a, b) => a * b, 1);
      const norm = t.shape.length === 1 && /norm|\.ln\.|linear\.3|after_norm/.test(t.name) && t.name.endsWith('weight');
      const router = t.name.includes('mlp.gate.weight');
      values.set(t.name, norm ? randn(r, n, 0.1).map((x) => 1 + x) : randn(r, n, router ? 0.3 : t.name.includes('e_score') ? 0.05 : 0.08));
      shapes.set(t.name, t.shape);
    }
    const src: WeightSource = {
      has: (n) => values.has(n),
      info: (n) => ({ shape: shapes.get(n)!, dtype: 'F32' }),
      readF32: async (n) => values.get(n)!,
      readRaw: async (n) => new Uint8Array(values.get(n)!.buffer),
    };
    const model = await gpuModel(ctx, cfg, src, visionPrefix(values.keys()));
    const images = [randomImage(7, 4, 6, 588), randomImage(8, 6, 4, 588)];
    const diff = await compare(ctx, cfg, model, (n) => values.get(n)!, prefix, prompt(cfg, images, [[1, 2, 3], [4], [5, 6]]), images);
    console.log(`random VL geometry, GPU vs f64 reference: ${diff.toExponential(2)}`);
  });
});
