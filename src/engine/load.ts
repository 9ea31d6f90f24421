// From files to a ready Engine: read config + weights + tokenizer from a model folder (a URL,
// picked files, or a directory in Node: a package, verified, or an HF folder) or from one GGUF
// file (a File the user picked, a URL ending in .gguf, any ByteSource), upload to the GPU, wrap in
// the OpenAI-style API.
import { createEngine, type Engine } from '../api/engine.js';
import { samplingFromGenerationConfig } from '../sampling/params.js';
import { ErnieError, FileNotFoundError, MissingFileError } from '../errors.js';
import { fromBlob, fromUrl, urlFolder } from '../formats/sources.js';
import type { ByteSource, FolderSource } from '../formats/source.js';
import { GgufFile } from '../formats/gguf.js';
import { openGgufWeights } from '../model/ernie45/gguf_source.js';
import { loadWeights } from '../model/ernie45/weights.js';
import { ErnieForward } from '../model/ernie45/forward.js';
import { tokenizerFilesFromGguf } from '../text/gguf_tokenizer.js';
import type { SamplingParams } from '../sampling/params.js';
import { acquireDevice } from '../gpu/device.js';
import { GpuContext } from '../gpu/context.js';
import { folderFiles, type ModelFiles, parseJsonFile } from '../model/ernie45/load.js';
import type { LoadProgress } from '../model/ernie45/weights.js';
import { ErnieTokenizer } from '../text/tokenizer.js';
import type { TokenizerConfig } from '../text/convert.js';
import { GpuLanguageModel } from './gpu_model.js';
import { textForward, type GpuForward } from './gpu_forward.js';
import { openModelFolder } from './registry.js';
import type { ExpertCacheOptions } from '../experts/budget.js';
import { openModelStore, type ModelStore } from '../store/store.js';
import type { DownloadProgress } from '../store/progress.js';

export interface LoadEngineOptions {
  /**
   * The checkpoint: a folder (a FolderSource, or a base URL), or one GGUF file (a File/Blob the
   * user picked, a URL ending in .gguf, or a ByteSource). A GGUF brings its own tokenizer and
   * chat template; its quantized blocks stay quantized on the GPU.
   */
  model: FolderSource | string | Blob | ByteSource;
  /** Where tokenizer files live, when not beside the weights (or not the GGUF's own). */
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
  /**
   * Keep the package (`model` a base URL) in a model store: `true` opens the default one
   * (IndexedDB), or pass a ModelStore. A stored model loads without the network; one not stored
   * (or only in part) is downloaded into the store first.
   */
  store?: boolean | ModelStore;
  /** With `store`: 'full' (default) downloads every file before loading; 'lazy' the core first, expert shards when the engine asks for them. */
  download?: 'full' | 'lazy';
  /** With `store`: progress of the download (bytes, files, speed, time left). */
  onDownloadProgress?: (p: DownloadProgress) => void;
  /** VL models: images with more pixels than this (before resizing) are refused before decoding. Default 100 MP. */
  maxImagePixels?: number;
}

export interface LoadedEngine extends Engine {
  readonly gpu: GpuContext;
}

/**
 * The tokenizer from a folder or a model's side files (for a package: verified against the
 * manifest, and only the files it lists are read). tokenizer.json is preferred, else
 * tokenizer.model (+ added_tokens.json); chat_template.jinja, when there is one, is the template.
 */
export async function loadTokenizer(from: FolderSource | ModelFiles, signal?: AbortSignal): Promise<{ tokenizer: ErnieTokenizer; config: TokenizerConfig }> {
  const files = typeof from === 'function' ? folderFiles(from) : from;
  const json = async (path: string, bytes: Promise<Uint8Array | undefined>) => {
    const b = await bytes;
    return b === undefined ? undefined : parseJsonFile(path, b);
  };
  let config = (await json('tokenizer_config.json', files.read('tokenizer_config.json', signal))) as TokenizerConfig;
  // A chat_template.jinja beside it (newer HF repos, packages converted from them) is the
  // template, as in transformers. A plain folder is only probed when the config has none.
  const jinja = files.listsFiles || config?.chat_template === undefined ? await files.readOptional('chat_template.jinja', signal) : undefined;
  if (jinja) config = { ...config, chat_template: new TextDecoder().decode(jinja) };
  const tokenizerJson = (await json('tokenizer.json', files.readOptional('tokenizer.json', signal))) as object | undefined;
  let tokenizerModel: Uint8Array | undefined;
  let addedTokens: Record<string, number> | undefined;
  if (!tokenizerJson) {
    tokenizerModel = await files.readOptional('tokenizer.model', signal);
    if (!tokenizerModel) throw new MissingFileError('tokenizer.model', 'not found, and there is no tokenizer.json either: the tokenizer folder needs one of them');
    addedTokens = (await json('added_tokens.json', files.readOptional('added_tokens.json', signal))) as Record<string, number> | undefined;
  }
  return { tokenizer: ErnieTokenizer.fromFiles({ tokenizerJson, tokenizerModel, tokenizerConfig: config, addedTokens }), config };
}

/** The GGUF file `model` names, or null when it is a folder. */
function ggufFile(model: LoadEngineOptions['model']): ByteSource | null {
  if (typeof Blob !== 'undefined' && model instanceof Blob) return fromBlob(model);
  if (typeof model === 'string') return /\.gguf([?#]|$)/i.test(model) ? fromUrl(model) : null;
  if (typeof model === 'object' && model !== null && typeof (model as ByteSource).read === 'function') return model as ByteSource;
  return null;
}

export async function loadEngine(opts: LoadEngineOptions): Promise<LoadedEngine> {
  const asFolder = (f: FolderSource | string) => (typeof f === 'string' ? urlFolder(f) : f);
  // With a store, `model` is the package's base URL and the stored copy (downloaded first when
  // missing) is the folder that loads.
  let modelSource: LoadEngineOptions['model'] = opts.model;
  if (opts.store) {
    if (typeof opts.model !== 'string' || ggufFile(opts.model)) throw new ErnieError('BAD_REQUEST', 'loadEngine: `store` needs `model` to be the base URL of a package folder');
    const store = opts.store === true ? await openModelStore() : opts.store;
    modelSource = await store.open(opts.model, { mode: opts.download, signal: opts.signal, onProgress: opts.onDownloadProgress });
  }
  const file = ggufFile(modelSource);
  const gguf = file ? await GgufFile.open(file, opts.signal) : null;
  // A folder model is opened first by its family (model_type: a package's manifest, or config.json
  // + safetensors headers; no weight bytes yet): a package's tokenizer and generation config then
  // come from its verified files.
  const folder = gguf ? null : asFolder(modelSource as FolderSource | string);
  const opened = folder ? (await openModelFolder(folder, opts.signal)).opened : null;
  let tokenizer: ErnieTokenizer, tokenizerConfig: TokenizerConfig;
  if (opts.tokenizer) ({ tokenizer, config: tokenizerConfig } = await loadTokenizer(asFolder(opts.tokenizer), opts.signal));
  else if (gguf) {
    const files = tokenizerFilesFromGguf(gguf);
    tokenizer = ErnieTokenizer.fromFiles(files);
    tokenizerConfig = files.tokenizerConfig;
  } else ({ tokenizer, config: tokenizerConfig } = await loadTokenizer(opened!.files, opts.signal));
  const ctx = new GpuContext(await acquireDevice(opts.gpu));
  try {
    let forward: GpuForward;
    let defaults: SamplingParams = {};
    if (gguf) {
      const { config, weights } = await openGgufWeights(gguf);
      forward = textForward(new ErnieForward(ctx, config, await loadWeights(ctx, config, weights, opts), opts));
    } else {
      forward = await opened!.load(ctx, opts);
      const generation = await opened!.files.readOptional('generation_config.json', opts.signal);
      defaults = samplingFromGenerationConfig(generation === undefined ? undefined : parseJsonFile('generation_config.json', generation));
    }
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
