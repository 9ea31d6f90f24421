// The demo's engine worker: owns WebGPU and the model. Models load from the model store
// (IndexedDB), which the page's download manager filled, so a stored model loads offline.
// Every chat request the engine receives is announced on the "ernie-demo-requests"
// BroadcastChannel (the page keeps the last ones for its tests and its "last request" view).
import { exposeEngineHost, type EngineFactory } from '../src/worker/index.js';
import { loadEngine } from '../src/engine/load.js';
import { openModelStore } from '../src/store/index.js';

import { REQUEST_CHANNEL } from './worker_channel.js';
const channel = new BroadcastChannel(REQUEST_CHANNEL);

const factory: EngineFactory = async (options, onProgress) => {
  if (typeof options.model !== 'string') throw new TypeError('the demo loads models by package URL');
  const store = await openModelStore();
  const engine = await loadEngine({ model: options.model, store, download: 'full', modelName: options.modelName, onProgress });
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
