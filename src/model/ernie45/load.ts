// Load an ERNIE 4.5 model from an HF checkpoint folder (config.json + safetensors, single
// file or sharded) given as a FolderSource: a URL, picked files, or a directory in Node.
import { FileFormatError } from '../../errors.js';
import type { GpuContext } from '../../gpu/context.js';
import { SafetensorsModel } from '../../formats/safetensors.js';
import type { FolderSource } from '../../formats/source.js';
import { type ErnieConfig, parseConfig } from './config.js';
import { ErnieForward, type ForwardOptions } from './forward.js';
import { type LoadProgress, loadWeights, type WeightSource } from './weights.js';
import { openPackageWeights } from './package_source.js';
import { MANIFEST_FILE } from '../../package/manifest.js';
import { ifFound } from '../../formats/sources.js';
import type { ExpertCacheOptions } from '../../experts/budget.js';
import type { ExpertSource } from '../../experts/source.js';
import { packageExperts } from './expert_source.js';

export async function readJson(folder: FolderSource, path: string, signal?: AbortSignal): Promise<unknown> {
  const src = folder(path);
  const bytes = await src.read(0, await src.size(), signal);
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    throw new FileFormatError(src.name, `not valid JSON (${(e as Error).message})`);
  }
}

export interface LoadOptions extends ForwardOptions {
  signal?: AbortSignal;
  /** Cap on one storage binding (default: the device's limit); the vocabulary matrix and expert stacks are split to fit. */
  maxBindingBytes?: number;
  onProgress?: (p: LoadProgress) => void;
  /** GPU and RAM budgets of the routed-expert cache (src/experts/budget.ts). */
  expertCache?: ExpertCacheOptions;
}

/** A package folder (manifest.json) or an HF checkpoint folder (config.json + safetensors). */
export async function openFolderWeights(folder: FolderSource, signal?: AbortSignal): Promise<{ config: ErnieConfig; weights: WeightSource; experts?: ExpertSource }> {
  if ((await ifFound(() => folder(MANIFEST_FILE).size())) !== undefined) {
    const { config, weights, pkg } = await openPackageWeights(folder, signal);
    // routed experts come from their verified shards
    return { config, weights, experts: config.moe ? packageExperts(config, pkg, weights) : undefined };
  }
  return { config: parseConfig(await readJson(folder, 'config.json', signal)), weights: await SafetensorsModel.open(folder, signal) };
}

export async function loadErnieFromFolder(ctx: GpuContext, folder: FolderSource, opts: LoadOptions = {}): Promise<{ config: ErnieConfig; forward: ErnieForward }> {
  const { config, weights: source, experts } = await openFolderWeights(folder, opts.signal);
  const weights = await loadWeights(ctx, config, source, { ...opts, experts });
  return { config, forward: new ErnieForward(ctx, config, weights, opts) };
}
