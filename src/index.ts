// ernie-webgpu: ERNIE 4.5 MoE language models in the browser on WebGPU.
// Public API. Node-only helpers (nodeGpu, fromPath, nodeFolder) live in 'ernie-webgpu/node'.

// Load a model and talk to it (OpenAI-style).
export { loadEngine, loadTokenizer, type LoadEngineOptions, type LoadedEngine } from './engine/load.js';
export * from './api/index.js';
// The same interface over any OpenAI-compatible server (ours, vLLM, FastDeploy, hosted ERNIE).
export { RemoteEngine, RemoteError, type RemoteEngineOptions } from './remote/remote_engine.js';

// Errors
export {
  ErnieError, BudgetError, FileFormatError, ConfigError, MissingFileError, NonFiniteError, GpuError, DeviceLostError, HttpError, IntegrityError, QuotaError,
  type DeletableModel, type ErrorCode, type HttpFailure,
} from './errors.js';

// Files
export type { ByteSource, FolderSource } from './formats/source.js';
export { fromArrayBuffer, fromBlob, fromUrl, urlFolder, blobFolder, FileNotFoundError, isMissingFile, type UrlOptions, type UrlFolderOptions } from './formats/sources.js';
export { httpRequest, bodyChunks, type HttpOptions, type HttpRequestOptions, type RetryPolicy, type RetryEvent, type ByteRange } from './formats/http.js';
export { SafetensorsFile, SafetensorsModel } from './formats/safetensors.js';
export { GgufFile } from './formats/gguf.js';

// Text
export { ErnieTokenizer } from './text/tokenizer.js';
export { TextStreamer } from './text/streamer.js';
export { ChatTemplate, renderChat, parseAssistantOutput } from './text/chat_template.js';

// Lower level: the model and the GPU
export { parseConfig, isMoeLayer, type ErnieConfig, type MoeConfig } from './model/ernie45/config.js';
export { loadErnieFromFolder } from './model/ernie45/load.js';
export { ErnieForward } from './model/ernie45/forward.js';
export { loadWeights, type WeightSource, type LoadProgress } from './model/ernie45/weights.js';
export { openGgufWeights } from './model/ernie45/gguf_source.js';
export { GpuLanguageModel } from './engine/gpu_model.js';
export type { LanguageModel, ModelStats, SampleStep } from './engine/language_model.js';
export { resolveSampling, samplingFromGenerationConfig, SAMPLING_OFF } from './sampling/params.js';
export type { SamplingParams, ResolvedSampling } from './sampling/params.js';

// Routed experts on demand: the GPU expert cache, its RAM tier, the scheduler, the sources
export { type ExpertCacheOptions, defaultGpuExpertBytes } from './experts/budget.js';
export { type ExpertStats, expertStatsDelta } from './experts/stats.js';
export { type ExpertSource, type ExpertFormat, type ExpertBytes, expertSets } from './experts/source.js';
export { ExpertScheduler } from './experts/scheduler.js';
export { weightSourceExperts, packageExperts } from './model/ernie45/expert_source.js';
export { acquireDevice, type AcquiredDevice, type GpuFeatures } from './gpu/device.js';
export { GpuContext } from './gpu/context.js';

// Quantized packages (FORMAT.md): convert in the browser or Node, read with integrity checks
export { convertModel, type ConvertOptions, type ConvertProgress, type ConvertReport } from './convert/index.js';
export { openPackage, ErniePackage, memoryPackage, type PackageWriter, type Manifest } from './package/index.js';
export { openPackageWeights } from './model/ernie45/package_source.js';

// Model store: packages downloaded into IndexedDB, resumable and verified
export * from './store/index.js';
