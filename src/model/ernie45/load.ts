// Load an ERNIE 4.5 model from a model folder given as a FolderSource (a URL, picked files, or a
// directory in Node): an ernie-webgpu package (manifest.json, verified shards) or an HF checkpoint
// folder (config.json + safetensors, single file or sharded).
import { FileFormatError, FileNotFoundError } from '../../errors.js';
import type { GpuContext } from '../../gpu/context.js';
import { SafetensorsModel } from '../../formats/safetensors.js';
import type { FolderSource } from '../../formats/source.js';
import { ifFound, isMissingFile, readWholeFile } from '../../formats/sources.js';
import { type ErnieConfig, parseConfig } from './config.js';
import { ErnieForward, type ForwardOptions } from './forward.js';
import { type LoadProgress, loadWeights, type WeightSource } from './weights.js';
import { openPackageWeights } from './package_source.js';
import { MANIFEST_FILE } from '../../package/manifest.js';
import type { ErniePackage } from '../../package/reader.js';
import type { ExpertCacheOptions } from '../../experts/budget.js';
import type { ExpertSource } from '../../experts/source.js';
import { packageExperts } from './expert_source.js';
import { checkTensorBudget } from '../../package/tensors.js';

/** Side files (config, tokenizer, template, generation config) are refused above this size. */
export const MAX_SIDE_FILE_BYTES = 64 * 1024 * 1024;

/**
 * How a model's side files are read. For a package they come from its manifest: listed files are
 * read and checked against their SHA-256, unlisted ones are absent without a request. For a plain
 * folder an optional file is probed, and "absent" is whatever isMissingFile() says (404/410, an SPA
 * fallback's HTML page, an S3-style 403).
 */
export interface ModelFiles {
  /** A required file's bytes; a missing one is a FileNotFoundError naming it. */
  read(path: string, signal?: AbortSignal): Promise<Uint8Array>;
  /** An optional file's bytes, or undefined when the model has none. */
  readOptional(path: string, signal?: AbortSignal): Promise<Uint8Array | undefined>;
  /** True when absent files are known without a request (a package's manifest lists them). */
  readonly listsFiles: boolean;
}

/** Side files of a plain folder, probed. */
/** A package's side files: only those its manifest lists, each SHA-256 checked when read. */
export function packageFiles(pkg: ErniePackage): ModelFiles {
  return {
    read: (path, s) => pkg.readFile(path, s),
    readOptional: async (path, s) => (pkg.fileInfo(path) ? pkg.readFile(path, s) : undefined),
    listsFiles: true,
  };
}

export function folderFiles(folder: FolderSource): ModelFiles {
  const read = (path: string, signal?: AbortSignal) => readWholeFile(folder(path), MAX_SIDE_FILE_BYTES, signal);
  return { read, readOptional: (path, signal) => ifFound(() => read(path, signal)), listsFiles: false };
}

/** A JSON file's value; malformed JSON is a FileFormatError naming the file. */
export function parseJsonFile(path: string, bytes: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    throw new FileFormatError(path, `not valid JSON (${(e as Error).message})`);
  }
}

export async function readJson(folder: FolderSource, path: string, signal?: AbortSignal): Promise<unknown> {
  const src = folder(path);
  return parseJsonFile(src.name, await readWholeFile(src, MAX_SIDE_FILE_BYTES, signal));
}

export interface LoadOptions extends ForwardOptions {
  signal?: AbortSignal;
  /** Cap on one storage binding (default: the device's limit); the vocabulary matrix and expert stacks are split to fit. */
  maxBindingBytes?: number;
  onProgress?: (p: LoadProgress) => void;
  /** GPU and RAM budgets of the routed-expert cache (src/experts/budget.ts). */
  expertCache?: ExpertCacheOptions;
}

export interface OpenedModel {
  format: 'package' | 'safetensors';
  config: ErnieConfig;
  weights: WeightSource;
  files: ModelFiles;
  /** Routed experts from the package's verified shards (packages only; else read from `weights`). */
  experts?: ExpertSource;
}

/**
 * A package folder (manifest.json) or an HF checkpoint folder (config.json + safetensors). The
 * manifest is tried first; only an answer that means "absent" (isMissingFile: 404, soft-404 HTML,
 * S3-style 403) moves on to config.json, so a static host's answers for the missing manifest
 * cannot end the load of an HF folder, while a malformed manifest is reported as such.
 */
export async function openFolderWeights(folder: FolderSource, signal?: AbortSignal): Promise<OpenedModel> {
  let noManifest: unknown;
  try {
    const { config, weights, pkg } = await openPackageWeights(folder, signal);
    return { format: 'package', config, weights, files: packageFiles(pkg), experts: config.moe ? packageExperts(config, pkg, weights) : undefined };
  } catch (err) {
    if (!isMissingFile(err)) throw err;
    noManifest = err;
  }
  let config: unknown;
  try {
    config = await readJson(folder, 'config.json', signal);
  } catch (err) {
    if (!isMissingFile(err)) throw err;
    throw new FileNotFoundError(
      err instanceof FileNotFoundError ? (err.code as 'BAD_FILE' | 'FETCH_FAILED') : 'FETCH_FAILED',
      'config.json',
      `the model folder has neither ${MANIFEST_FILE} (an ernie-webgpu package) nor config.json (a Hugging Face checkpoint). ${MANIFEST_FILE}: ${(noManifest as Error).message}; config.json: ${(err as Error).message}`,
      { cause: err },
    );
  }
  const parsed = parseConfig(config);
  const weights = await SafetensorsModel.open(folder, signal);
  // Before anything is sized from it: the checkpoint's tensor count bounds the layers and experts.
  checkTensorBudget(parsed, weights.names().length, { file: 'config.json', checkpoint: 'the safetensors checkpoint' });
  return { format: 'safetensors', config: parsed, weights, files: folderFiles(folder) };
}

export async function loadErnieFromFolder(ctx: GpuContext, folder: FolderSource, opts: LoadOptions = {}): Promise<{ config: ErnieConfig; forward: ErnieForward }> {
  return loadErnie(ctx, await openFolderWeights(folder, opts.signal), opts);
}

/** Uploads an opened model's weights and builds its forward pass. */
export async function loadErnie(ctx: GpuContext, model: OpenedModel, opts: LoadOptions = {}): Promise<{ config: ErnieConfig; forward: ErnieForward }> {
  const weights = await loadWeights(ctx, model.config, model.weights, { ...opts, experts: model.experts });
  return { config: model.config, forward: new ErnieForward(ctx, model.config, weights, opts) };
}
