// Page module for worker.browser.test.ts: the same chat request through a WorkerEngine (model
// and WebGPU inside a dedicated worker) and through an Engine in the page itself.
import { WorkerEngine } from '../../../src/worker/index.js';
import { loadEngine } from '../../../src/engine/load.js';
import type { ChatCompletion, ChatCompletionChunk } from '../../../src/api/types.js';
import { BadRequestError } from '../../../src/api/errors.js';

export interface WorkerError {
  name: string;
  code?: string;
  param?: string | null;
  isBadRequestError: boolean;
}

export async function chatBothWays(arg: { model: string; tokenizer: string }): Promise<{ worker: string; page: string; streamed: string; progressEvents: number; adapter: string; badRequest: WorkerError | null }> {
  const model = location.origin + arg.model, tokenizer = location.origin + arg.tokenizer;
  const request = { messages: [{ role: 'user' as const, content: 'Hello from a worker' }], max_tokens: 12, temperature: 0.7, seed: 5 };

  let progressEvents = 0;
  const worker = new Worker(new URL('./engine_worker.ts', import.meta.url), { type: 'module' });
  const remote = await WorkerEngine.create(worker, { model, tokenizer, kvCacheBytes: 1 << 22, onProgress: () => progressEvents++ });
  const viaWorker = (await remote.chat.completions.create(request)) as ChatCompletion;
  let streamed = '';
  for await (const c of (await remote.chat.completions.create({ ...request, stream: true })) as AsyncIterable<ChatCompletionChunk>) streamed += c.choices[0]?.delta?.content ?? '';
  let badRequest: WorkerError | null = null;
  try {
    await remote.chat.completions.create({ ...request, top_p: 2 });
  } catch (e) {
    const err = e as BadRequestError;
    badRequest = { name: err.name, code: err.code, param: err.param, isBadRequestError: e instanceof BadRequestError };
  }
  remote.dispose();
  worker.terminate();

  const local = await loadEngine({ model, tokenizer, kvCacheBytes: 1 << 22 });
  const inPage = (await local.chat.completions.create(request)) as ChatCompletion;
  local.dispose();
  return { worker: viaWorker.choices[0].message.content ?? '', page: inPage.choices[0].message.content ?? '', streamed, progressEvents, adapter: remote.info.adapter, badRequest };
}
