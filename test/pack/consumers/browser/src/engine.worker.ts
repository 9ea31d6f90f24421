import { exposeEngineHost } from 'ernie-webgpu/worker';

exposeEngineHost();
