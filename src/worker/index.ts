// ernie-webgpu/worker: run the engine in a Web Worker.
//   worker.ts:  import { exposeEngineHost } from 'ernie-webgpu/worker'; exposeEngineHost();
//   page:       const engine = await WorkerEngine.create(new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' }), { model: url });
export { exposeEngineHost, EngineHost, modelSource, type EngineFactory, type HostedEngine } from './host.js';
export { installErrorTransfer, registerErrorClass } from './error_transfer.js';
export { WorkerEngine, type WorkerEngineOptions } from './client.js';
export type { WorkerLoadOptions, EngineInfo, EngineHostApi } from './protocol.js';
