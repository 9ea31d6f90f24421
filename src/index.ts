// ernie-webgpu: ERNIE 4.5 MoE language models in the browser on WebGPU.
// Public API. Node-only helpers (nodeGpu, fromPath, nodeFolder) live in 'ernie-webgpu/node'.

// Load a model and talk to it (OpenAI-style).
export { loadEngine, loadTokenizer, type LoadEngineOptions, type LoadedEngine } from './engine/load.js';
export * from './api/index.js';

// Errors
export { ErnieError, BudgetError, FileFormatError, ConfigError, GpuError, DeviceLostError, type ErrorCode } from './errors.js';

// Files
export type { ByteSource, FolderSource } from './formats/source.js';
export { fromArrayBuffer, fromBlob, fromUrl, urlFolder, blobFolder, FileNotFoundError } from './formats/sources.js';
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
export type { LanguageModel, ModelStats, SamplingParams } from './engine/language_model.js';

// Routed experts on demand: the GPU expert cache, its RAM tier, the scheduler, the sources
export { type ExpertCacheOptions, defaultGpuExpertBytes } from './experts/budget.js';
export type { ExpertStats } from './experts/stats.js';
export type { ExpertSource, ExpertFormat, ExpertBytes } from './experts/source.js';
export { ExpertScheduler } from './experts/scheduler.js';
export { weightSourceExperts, packageExperts } from './model/ernie45/expert_source.js';
export { acquireDevice, type AcquiredDevice, type GpuFeatures } from './gpu/device.js';
export { GpuContext } from './gpu/context.js';

// Quantized packages (FORMAT.md): convert in the browser or Node, read with integrity checks
export { convertModel, type ConvertOptions, type ConvertProgress, type ConvertReport } from './convert/index.js';
export { openPackage, ErniePackage, memoryPackage, type PackageWriter, type Manifest } from './package/index.js';
export { openPackageWeights } from './model/ernie45/package_source.js';
