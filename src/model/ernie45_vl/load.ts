// Load an ERNIE-4.5-VL model from a model folder: an ernie-webgpu package (manifest.json whose
// config has model_type ernie4_5_vl_moe; every shard SHA-256-verified before upload, quantized
// layouts kept as the kernels read them) or an HF checkpoint folder (config.json in either
// spelling, preprocessor_config.json optional: the processor's defaults otherwise, safetensors).
import { ErnieError } from '../../errors.js';
import type { GpuContext } from '../../gpu/context.js';
import { SafetensorsModel } from '../../formats/safetensors.js';
import type { FolderSource } from '../../formats/source.js';
import { ifFound, isMissingFile } from '../../formats/sources.js';
import type { ExpertCacheOptions } from '../../experts/budget.js';
import type { ExpertSource } from '../../experts/source.js';
import { isVlConfig } from '../../package/family.js';
import { MANIFEST_FILE } from '../../package/manifest.js';
import type { ErniePackage } from '../../package/reader.js';
import type { ForwardOptions } from '../ernie45/forward.js';
import { parseJsonFile, readJson } from '../ernie45/load.js';
import { openPackageWeights } from '../ernie45/package_source.js';
import type { WeightSource } from '../ernie45/weights.js';
import { type ErnieVlConfig, parseVlConfig } from './config.js';
import { ErnieVlForward } from './forward.js';
import { loadVlLmWeights, vlExperts } from './lm_weights.js';
import { type PreprocessorConfig, parsePreprocessorConfig } from './preprocess.js';
import { type VisionPrefix, visionPrefix } from './tensors.js';
import { VisionEncoder } from './vision.js';
import { loadVisionWeights } from './vision_weights.js';

/** The preprocessor's settings travel in a package as this file (role "other"); absent means the processor's defaults. */
export const PREPROCESSOR_FILE = 'preprocessor_config.json';

/** True when the folder holds an ERNIE-4.5-VL model: a package whose config, or a config.json, declares model_type "ernie4_5_vl_moe". */
export async function isVlFolder(folder: FolderSource, signal?: AbortSignal): Promise<boolean> {
  const manifest = await ifFound(() => readJson(folder, MANIFEST_FILE, signal));
  if (manifest !== undefined) return isVlConfig((manifest as { config?: unknown } | null)?.config);
  return isVlConfig(await ifFound(() => readJson(folder, 'config.json', signal)));
}

export interface VlLoadOptions extends ForwardOptions {
  signal?: AbortSignal;
  maxBindingBytes?: number;
  /** GPU and RAM budgets of the expert cache, text and vision experts alike (src/experts/budget.ts). */
  expertCache?: ExpertCacheOptions;
}

export interface OpenedVl {
  format: 'package' | 'safetensors';
  config: ErnieVlConfig;
  preprocessor: PreprocessorConfig;
  weights: WeightSource;
  /** Where the checkpoint keeps the vision tower (packages: always `model.vision_model.`). */
  prefix: VisionPrefix;
  /** Packages: the text and vision experts from their verified shards. */
  experts?: ExpertSource;
  pkg?: ErniePackage;
}

/**
 * Opens a VL model folder without uploading anything: a package is tried first (only an
 * answer that means "absent" moves on to config.json, as for text models).
 */
export async function openVlFolder(folder: FolderSource, signal?: AbortSignal): Promise<OpenedVl> {
  try {
    const { weights, pkg } = await openPackageWeights(folder, signal);
    const vl = pkg.family.vl;
    if (!vl) throw new ErnieError('UNSUPPORTED', `${MANIFEST_FILE}: the package holds a text model (model_type ${JSON.stringify(pkg.manifest.config.model_type)}), not ERNIE-4.5-VL`);
    const pre = pkg.fileInfo(PREPROCESSOR_FILE) ? parseJsonFile(PREPROCESSOR_FILE, await pkg.readFile(PREPROCESSOR_FILE, signal)) : {};
    return { format: 'package', config: vl, preprocessor: parsePreprocessorConfig(pre), weights, prefix: 'model.vision_model.', experts: vlExperts(vl, weights, pkg), pkg };
  } catch (err) {
    if (!isMissingFile(err)) throw err;
  }
  const config = parseVlConfig(await readJson(folder, 'config.json', signal));
  const preprocessor = parsePreprocessorConfig((await ifFound(() => readJson(folder, PREPROCESSOR_FILE, signal))) ?? {});
  const weights = await SafetensorsModel.open(folder, signal);
  return { format: 'safetensors', config, preprocessor, weights, prefix: visionPrefix(weights.names(), 'model.safetensors') };
}

/** Uploads an opened VL model and builds its forward pass (vision tower, resampler, dual-MoE language stack). */
export async function loadErnieVl(
  ctx: GpuContext,
  source: FolderSource | OpenedVl,
  opts: VlLoadOptions = {},
): Promise<{ config: ErnieVlConfig; preprocessor: PreprocessorConfig; forward: ErnieVlForward; format: OpenedVl['format'] }> {
  const m = typeof source === 'function' ? await openVlFolder(source, opts.signal) : source;
  const { vision, resampler } = await loadVisionWeights(ctx, m.config, m.weights, m.prefix, opts.signal);
  const lm = await loadVlLmWeights(ctx, m.config, m.weights, { ...opts, experts: m.experts });
  const encoder = new VisionEncoder(ctx, m.config, vision, resampler, { maxBindingBytes: opts.maxBindingBytes });
  return { config: m.config, preprocessor: m.preprocessor, forward: new ErnieVlForward(ctx, m.config, lm, encoder, opts), format: m.format };
}

/** A VL package or HF folder (kept for callers of the first VL loader). */
export const loadErnieVlFromFolder = (ctx: GpuContext, folder: FolderSource, opts: VlLoadOptions = {}) => loadErnieVl(ctx, folder, opts);
