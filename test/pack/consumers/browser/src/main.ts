// What a Vite + TypeScript app writes (README "Use it from a web worker"): the engine in a worker,
// a stream read on the page, typed errors checked with instanceof.
import { BadRequestError, DeviceLostError, ErnieError, type ChatCompletionChunk, type ErrorCode } from 'ernie-webgpu';
import { WorkerEngine } from 'ernie-webgpu/worker';

export async function start(modelUrl: string, out: HTMLElement): Promise<void> {
  if (!navigator.gpu) throw new Error('this browser has no WebGPU');
  const adapter: GPUAdapter | null = await navigator.gpu.requestAdapter();
  out.textContent = adapter?.info.description ?? '';
  const worker = new Worker(new URL('./engine.worker.ts', import.meta.url), { type: 'module' });
  const engine = await WorkerEngine.create(worker, { model: modelUrl, onProgress: (p) => console.log(p.tensorsDone, p.tensorsTotal) });
  const stream: AsyncIterable<ChatCompletionChunk> = await engine.chat.completions.create({
    messages: [{ role: 'user', content: 'Hello' }],
    stream: true,
  });
  for await (const chunk of stream) out.append(chunk.choices[0]?.delta?.content ?? '');
  try {
    await engine.chat.completions.create({ messages: [] });
  } catch (e) {
    if (e instanceof BadRequestError) console.log(e.param);
    else if (e instanceof DeviceLostError) console.log(e.reason);
    else if (e instanceof ErnieError) {
      const code: ErrorCode = e.code;
      console.log(code);
    }
  }
}
