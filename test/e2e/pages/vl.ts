// Page module for vl.browser.test.ts: the tiny ERNIE-4.5-VL checkpoint over HTTP, the fixture
// image decoded by the browser (createImageBitmap), preprocessed, and the VL forward on
// Chromium's WebGPU: pixel_values, logits of every position and greedy tokens go back to Node.
import { acquireDevice } from '../../../src/gpu/device.js';
import { GpuContext } from '../../../src/gpu/context.js';
import { urlFolder } from '../../../src/formats/sources.js';
import { SafetensorsModel } from '../../../src/formats/safetensors.js';
import { readJson } from '../../../src/model/ernie45/load.js';
import { browserImageToRgb } from '../../../src/image/browser.js';
import { parseVlConfig } from '../../../src/model/ernie45_vl/config.js';
import { parsePreprocessorConfig, preprocessImage } from '../../../src/model/ernie45_vl/preprocess.js';
import { visionPrefix } from '../../../src/model/ernie45_vl/tensors.js';
import { loadVisionWeights } from '../../../src/model/ernie45_vl/vision_weights.js';
import { VisionEncoder } from '../../../src/model/ernie45_vl/vision.js';
import { loadVlLmWeights } from '../../../src/model/ernie45_vl/lm_weights.js';
import { ErnieVlForward } from '../../../src/model/ernie45_vl/forward.js';
import { sample } from '../../../src/kernels/sample.js';

export interface VlCase {
  folder: string; // URL path of the checkpoint folder
  ids: number[];
  greedyTokens: number;
}

export async function tinyVl(c: VlCase): Promise<{ pixelValues: Float32Array; logits: Float32Array; greedy: number[]; badImage: string }> {
  const ctx = new GpuContext(await acquireDevice(navigator.gpu));
  try {
    const folder = urlFolder(location.origin + c.folder);
    const cfg = parseVlConfig(await readJson(folder, 'config.json'));
    const pre = parsePreprocessorConfig(await readJson(folder, 'preprocessor_config.json'));
    const blob = await (await fetch(location.origin + c.folder + 'test_image.png')).blob();
    const image = preprocessImage(await browserImageToRgb(blob, { source: 'test_image.png' }), pre);
    let badImage = '';
    try {
      await browserImageToRgb(new Blob(['<html>404</html>']), { source: 'missing.png' });
    } catch (e) {
      badImage = `${(e as { code?: string }).code}: ${(e as Error).message}`;
    }
    const st = await SafetensorsModel.open(folder);
    const { vision, resampler } = await loadVisionWeights(ctx, cfg, st, visionPrefix(st.names()));
    const model = new ErnieVlForward(ctx, cfg, await loadVlLmWeights(ctx, cfg, st), new VisionEncoder(ctx, cfg, vision, resampler), { maxBatch: 16 });
    const { logits } = await model.prefill(c.ids, [image], { allLogits: true });
    const result = ctx.createBuffer('token', 4);
    const greedy: number[] = [];
    for (let i = 0; i < c.greedyTokens; i++) {
      sample(ctx, { logits: model.logitsBuffer, row: 0, vocab: cfg.text.vocabSize, result, options: { temperature: 0 }, u: 0 });
      const [id] = await ctx.readU32(result, 0, 1);
      greedy.push(id);
      if (i < c.greedyTokens - 1) await model.decode([id]);
    }
    return { pixelValues: image.pixelValues, logits: logits!, greedy, badImage };
  } finally {
    ctx.destroy();
  }
}
