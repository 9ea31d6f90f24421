// From files to a ready Engine: read config + weights + tokenizer from model folders
// (URLs, picked files, or directories in Node), upload to the GPU, wrap in the OpenAI-style API.
import { createEngine, type Engine, type GenerationDefaults } from '../api/engine.js';
import { ErnieError } from '../errors.js';
import { ifFound, urlFolder } from '../formats/sources.js';
import type { FolderSource } from '../formats/source.js';
import { acquireDevice } from '../gpu/device.js';
import { GpuContext } from '../gpu/context.js';
import { loadErnieFromFolder, readJson } from '../model/ernie45/load.js';
import type { LoadProgress } from '../model/ernie45/weights.js';
import { ErnieTokenizer } from '../text/tokenizer.js';
import type { TokenizerConfig } from '../text/convert.js';
import { GpuLanguageModel } from './gpu_model.js';
import type { ExpertCacheOptions } from '../experts/budget.js';

export interface LoadEngineOptions {
  /** The checkpoint folder: a FolderSource or a base URL. */
  model: FolderSource | string;
  /** Where tokenizer files live, when not beside the weights. */
  tokenizer?: FolderSource | string;
  /** 'chat' for -PT chat models, 'base' for completion-only base models. */
  kind?: 'chat' | 'base';
  modelName?: string;
  /** navigator.gpu in a browser; nodeGpu() from 'ernie-webgpu/node' in Node. */
  gpu?: GPU;
  /** GPU memory for the KV cache; its capacity in tokens follows from it. */
  kvCacheBytes?: number;
  maxBatch?: number;
  /**
   * The routed-expert cache: `gpuBytes` (or `gpuExperts`: per layer / '25%') of GPU slots,
   * `ramBytes` (or `ramExperts`) of verified bytes in RAM, the eviction `policy`, `prefetch`.
   * Default: every expert resident when they fit 8 x the adapter's maxBufferSize (README).
   */
  expertCache?: ExpertCacheOptions;
  signal?: AbortSignal;
  onProgress?: (p: LoadProgress) => void;
}

export interface LoadedEngine extends Engine {
  readonly gpu: GpuContext;
}

export async function loadTokenizer(folder: FolderSource, signal?: AbortSignal): Promise<{ tokenizer: ErnieTokenizer; config: TokenizerConfig }> {
  const config = (await readJson(folder, 'tokenizer_config.json', signal)) as TokenizerConfig;
  const tokenizerJson = (await ifFound(() => readJson(folder, 'tokenizer.json', signal))) as object | undefined;
  let tokenizerModel: Uint8Array | undefined;
  if (!tokenizerJson) {
    const src = folder('tokenizer.model');
    tokenizerModel = await ifFound(async () => src.read(0, await src.size(), signal));
    if (!tokenizerModel) throw new ErnieError('MISSING_TENSOR', 'the model folder has neither tokenizer.json nor tokenizer.model');
  }
  const addedTokens = (await ifFound(() => readJson(folder, 'added_tokens.json', signal))) as Record<string, number> | undefined;
  return { tokenizer: ErnieTokenizer.fromFiles({ tokenizerJson, tokenizerModel, tokenizerConfig: config, addedTokens }), config };
}

export async function loadEngine(opts: LoadEngineOptions): Promise<LoadedEngine> {
  const asFolder = (f: FolderSource | string) => (typeof f === 'string' ? urlFolder(f) : f);
  const modelFolder = asFolder(opts.model);
  const { tokenizer, config: tokenizerConfig } = await loadTokenizer(asFolder(opts.tokenizer ?? opts.model), opts.signal);
  const ctx = new GpuContext(await acquireDevice(opts.gpu));
  try {
    const { forward } = await loadErnieFromFolder(ctx, modelFolder, opts);
    const defaults = (await ifFound(() => readJson(modelFolder, 'generation_config.json', opts.signal))) as GenerationDefaults | undefined;
    const model = new GpuLanguageModel(ctx, forward, tokenizer.vocabSize);
    const engine = createEngine({ model, tokenizer, tokenizerConfig, modelName: opts.modelName ?? 'ernie-4.5', kind: opts.kind ?? 'chat', defaults });
    const dispose = engine.dispose.bind(engine);
    return Object.assign(engine, {
      gpu: ctx,
      dispose: () => {
        dispose();
        ctx.destroy();
      },
    });
  } catch (e) {
    ctx.destroy();
    throw e;
  }
}
