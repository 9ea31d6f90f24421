// Load an ERNIE-4.5-VL model from an HF checkpoint folder: config.json (either spelling),
// preprocessor_config.json (optional: the processor's defaults otherwise) and safetensors.
import type { GpuContext } from '../../gpu/context.js';
import { SafetensorsModel } from '../../formats/safetensors.js';
import type { FolderSource } from '../../formats/source.js';
import { ifFound } from '../../formats/sources.js';
import type { ForwardOptions } from '../ernie45/forward.js';
import { readJson } from '../ernie45/load.js';
import { type ErnieVlConfig, parseVlConfig } from './config.js';
import { ErnieVlForward } from './forward.js';
import { loadVlLmWeights } from './lm_weights.js';
import { type PreprocessorConfig, parsePreprocessorConfig } from './preprocess.js';
import { visionPrefix } from './tensors.js';
import { VisionEncoder } from './vision.js';
import { loadVisionWeights } from './vision_weights.js';

/** True when the folder's config.json declares model_type "ernie4_5_vl_moe". */
export async function isVlFolder(folder: FolderSource, signal?: AbortSignal): Promise<boolean> {
  const cfg = await ifFound(() => readJson(folder, 'config.json', signal));
  return typeof cfg === 'object' && cfg !== null && (cfg as { model_type?: unknown }).model_type === 'ernie4_5_vl_moe';
}

export interface VlLoadOptions extends ForwardOptions {
  signal?: AbortSignal;
  maxBindingBytes?: number;
}

export async function loadErnieVlFromFolder(
  ctx: GpuContext,
  folder: FolderSource,
  opts: VlLoadOptions = {},
): Promise<{ config: ErnieVlConfig; preprocessor: PreprocessorConfig; forward: ErnieVlForward }> {
  const config = parseVlConfig(await readJson(folder, 'config.json', opts.signal));
  const preprocessor = parsePreprocessorConfig((await ifFound(() => readJson(folder, 'preprocessor_config.json', opts.signal))) ?? {});
  const src = await SafetensorsModel.open(folder, opts.signal);
  const { vision, resampler } = await loadVisionWeights(ctx, config, src, visionPrefix(src.names(), 'model.safetensors'), opts.signal);
  const lm = await loadVlLmWeights(ctx, config, src, opts);
  const encoder = new VisionEncoder(ctx, config, vision, resampler, { maxBindingBytes: opts.maxBindingBytes });
  return { config, preprocessor, forward: new ErnieVlForward(ctx, config, lm, encoder, opts) };
}
