// The demo's engine worker: owns WebGPU and the model. A package URL loads from the model store
// (IndexedDB), which the page's download manager filled, so a stored model loads offline; a
// picked folder or .gguf file (or a .gguf URL) loads as it is, without the store.
// Every chat request the engine receives is announced on the "ernie-demo-requests"
// BroadcastChannel (the page keeps the last ones for its tests and its "last request" view).
import { exposeEngineHost, modelSource, type EngineFactory } from '../src/worker/index.js';
import { loadEngine } from '../src/engine/load.js';
import { blobFolder, urlFolder } from '../src/formats/sources.js';
import { openModelStore } from '../src/store/index.js';

import { REQUEST_CHANNEL } from './worker_channel.js';
const channel = new BroadcastChannel(REQUEST_CHANNEL);

const factory: EngineFactory = async (options, onProgress) => {
  const source = modelSource(options.model, (m) => (typeof m === 'string' ? urlFolder(m) : blobFolder(m)));
  const engine = typeof options.model === 'string' && typeof source !== 'string'
    ? await loadEngine({ model: options.model, store: await openModelStore(), download: 'full', modelName: options.modelName, expertCache: options.expertCache, onProgress })
    : await loadEngine({ model: source, modelName: options.modelName, expertCache: options.expertCache, onProgress });
  const create = engine.chat.completions.create.bind(engine.chat.completions) as (req: unknown) => Promise<unknown>;
  (engine.chat.completions as { create: unknown }).create = (req: Record<string, unknown>) => {
    const { signal: _signal, ...plain } = req;
    channel.postMessage(plain);
    return create(req);
  };
  const info = engine.gpu.adapterInfo;
  return { engine, adapter: `${info.vendor} ${info.architecture} ${info.description}`.trim(), deviceLost: engine.gpu.device.lost };
};

exposeEngineHost(undefined, factory);
