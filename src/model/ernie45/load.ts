// Load an ERNIE 4.5 model from an HF checkpoint folder (config.json + safetensors, single
// file or sharded) given as a FolderSource: a URL, picked files, or a directory in Node.
import { FileFormatError } from '../../errors.js';
import type { GpuContext } from '../../gpu/context.js';
import { SafetensorsModel } from '../../formats/safetensors.js';
import type { FolderSource } from '../../formats/source.js';
import { type ErnieConfig, parseConfig } from './config.js';
import { ErnieForward, type ForwardOptions } from './forward.js';
import { type LoadProgress, loadWeights } from './weights.js';

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
  onProgress?: (p: LoadProgress) => void;
}

export async function loadErnieFromFolder(ctx: GpuContext, folder: FolderSource, opts: LoadOptions = {}): Promise<{ config: ErnieConfig; forward: ErnieForward }> {
  const config = parseConfig(await readJson(folder, 'config.json', opts.signal));
  const checkpoint = await SafetensorsModel.open(folder, opts.signal);
  const weights = await loadWeights(ctx, config, checkpoint, opts);
  return { config, forward: new ErnieForward(ctx, config, weights, opts) };
}
