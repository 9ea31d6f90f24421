// The model families the engine loads, by config.json's `model_type`: each gives its config
// parser and, for a checkpoint folder, how to open it (side files first, no weight bytes) and
// load it onto the GPU as a GpuForward. loadEngine dispatches through familyOf(); nothing
// else in the engine assumes a text model.
//   ernie4_5, ernie4_5_moe    text (dense / MoE): an ernie-webgpu package or an HF folder
//   ernie4_5_vl_moe           VL (either config spelling): an ernie-webgpu package or an HF folder
import { ConfigError, ErnieError, FileFormatError } from '../errors.js';
import type { FolderSource } from '../formats/source.js';
import { ifFound, readWholeFile } from '../formats/sources.js';
import type { GpuContext } from '../gpu/context.js';
import { parseConfig } from '../model/ernie45/config.js';
import { folderFiles, loadErnie, packageFiles, type LoadOptions, type ModelFiles, openFolderWeights, readJson } from '../model/ernie45/load.js';
import { parseVlConfig } from '../model/ernie45_vl/config.js';
import { loadErnieVl, openVlFolder } from '../model/ernie45_vl/load.js';
import { MANIFEST_FILE } from '../package/manifest.js';
import { textForward, vlForward, type GpuForward, type VlForwardOptions } from './gpu_forward.js';

export type FamilyLoadOptions = LoadOptions & VlForwardOptions & { maxBindingBytes?: number };

/** A checkpoint opened (config and side files read, weights not yet): load() uploads it. */
export interface OpenedCheckpoint {
  /** Tokenizer, chat template and generation config files beside the weights (verified in a package). */
  files: ModelFiles;
  load(ctx: GpuContext, opts: FamilyLoadOptions): Promise<GpuForward>;
}

export interface ModelFamily {
  readonly name: 'ernie4_5' | 'ernie4_5_vl';
  /** config.json `model_type` values this family reads. */
  readonly modelTypes: readonly string[];
  readonly vision: boolean;
  /** Parses and checks config.json (ConfigError naming the field otherwise). */
  parseConfig(raw: unknown): object;
  open(folder: FolderSource, signal?: AbortSignal): Promise<OpenedCheckpoint>;
}

const TEXT: ModelFamily = {
  name: 'ernie4_5',
  modelTypes: ['ernie4_5', 'ernie4_5_moe'],
  vision: false,
  parseConfig: (raw) => parseConfig(raw),
  async open(folder, signal) {
    const opened = await openFolderWeights(folder, signal);
    return { files: opened.files, load: async (ctx, opts) => textForward((await loadErnie(ctx, opened, opts)).forward) };
  },
};

const VL: ModelFamily = {
  name: 'ernie4_5_vl',
  modelTypes: ['ernie4_5_vl_moe'],
  vision: true,
  parseConfig: (raw) => parseVlConfig(raw),
  open: (folder, signal) => openVlCheckpoint(folder, signal),
};

export const MODEL_FAMILIES: readonly ModelFamily[] = [TEXT, VL];

/** The family that reads this model_type, or a ConfigError listing the supported ones. */
export function familyOf(modelType: unknown, file = 'config.json'): ModelFamily {
  const f = MODEL_FAMILIES.find((m) => m.modelTypes.includes(modelType as string));
  if (f) return f;
  const known = MODEL_FAMILIES.flatMap((m) => m.modelTypes).map((t) => `"${t}"`).join(', ');
  throw new ConfigError(`${file}: model_type ${JSON.stringify(modelType)} is not supported; expected one of ${known}`);
}

/**
 * The model_type a folder declares: a package's manifest `config`, else config.json. A folder with
 * neither reads as text, whose open() then reports what is missing.
 */
export async function folderModelType(folder: FolderSource, signal?: AbortSignal): Promise<{ modelType: unknown; file: string }> {
  const manifest = await ifFound(() => readJson(folder, MANIFEST_FILE, signal));
  if (manifest !== undefined) {
    const cfg = (manifest as { config?: { model_type?: unknown } } | null)?.config;
    return { modelType: typeof cfg === 'object' && cfg !== null ? cfg.model_type : undefined, file: MANIFEST_FILE };
  }
  const cfg = await ifFound(() => readJson(folder, 'config.json', signal));
  if (cfg === undefined) return { modelType: 'ernie4_5_moe', file: 'config.json' };
  return { modelType: (cfg as { model_type?: unknown } | null)?.model_type, file: 'config.json' };
}

/** The family of a checkpoint folder (see folderModelType). */
export async function familyOfFolder(folder: FolderSource, signal?: AbortSignal): Promise<ModelFamily> {
  const { modelType, file } = await folderModelType(folder, signal);
  // a manifest without a model_type is the text package format's own error to report
  if (modelType === undefined && file === MANIFEST_FILE) return TEXT;
  return familyOf(modelType, file);
}

/**
 * The folder's family, and the checkpoint opened by it. The folder is read through a view that
 * remembers whole reads of manifest.json and config.json, so detecting the family costs no
 * second request for either.
 */
export async function openModelFolder(folder: FolderSource, signal?: AbortSignal): Promise<{ family: ModelFamily; opened: OpenedCheckpoint }> {
  const view = rememberWholeReads(folder, [MANIFEST_FILE, 'config.json']);
  const family = await familyOfFolder(view, signal);
  return { family, opened: await family.open(view, signal) };
}

function rememberWholeReads(folder: FolderSource, paths: readonly string[]): FolderSource {
  const memo = new Map<string, Promise<Uint8Array>>();
  return (path) => {
    const src = folder(path);
    if (!paths.includes(path)) return src;
    return {
      name: src.name,
      size: (s) => src.size(s),
      read: (offset, length, s) => src.read(offset, length, s),
      async readAll(maxBytes, s) {
        let bytes = memo.get(path);
        if (!bytes) memo.set(path, (bytes = readWholeFile(src, maxBytes, s))); // a failure (absent) is remembered too
        const b = await bytes;
        if (b.length > maxBytes) throw new FileFormatError(src.name, `is ${b.length} bytes, more than the ${maxBytes}-byte limit for this file`);
        return b;
      },
    };
  };
}

/**
 * Opens an ERNIE-4.5-VL checkpoint: an ernie-webgpu VL package (SHA-256 checked, text experts
 * through the expert cache) or an HF folder (config.json in either spelling,
 * preprocessor_config.json, safetensors).
 */
export async function openVlCheckpoint(folder: FolderSource, signal?: AbortSignal): Promise<OpenedCheckpoint> {
  const opened = await openVlFolder(folder, signal); // a bad config fails before the GPU is set up
  return {
    files: opened.pkg ? packageFiles(opened.pkg) : folderFiles(folder),
    async load(ctx, opts) {
      const { preprocessor, forward } = await loadErnieVl(ctx, opened, opts);
      return vlForward(forward, preprocessor, opts);
    },
  };
}
