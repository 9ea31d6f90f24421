// Page module for vl_chat.browser.test.ts: image chats with the tiny VL model through a
// WorkerEngine (model, WebGPU, image decoding inside a dedicated worker), streamed: the fixture
// image as a data: URL and as a Blob, thinking off and on.
import { WorkerEngine } from '../../../src/worker/index.js';
import type { ChatCompletion, ChatCompletionChunk, ChatCompletionRequest, ChatMessageParam } from '../../../src/api/types.js';

export interface StreamedChat {
  content: string;
  reasoning: string;
  /** Chunks that carried reasoning_content. */
  reasoningChunks: number;
  promptTokens: number;
  finish: string | null;
}

export interface VlChatResult {
  dataUrl: StreamedChat;
  blob: StreamedChat;
  blobUrl: StreamedChat;
  bitmap: StreamedChat;
  imageData: StreamedChat;
  thinking: StreamedChat;
  /** The thinking request, not streamed: its message. */
  thinkingWhole: { content: string | null; reasoning: string | null };
  badImage: { name: string; code?: string; message: string };
}

async function streamed(engine: WorkerEngine, req: ChatCompletionRequest): Promise<StreamedChat> {
  const out: StreamedChat = { content: '', reasoning: '', reasoningChunks: 0, promptTokens: 0, finish: null };
  const stream = (await engine.chat.completions.create({ ...req, stream: true, stream_options: { include_usage: true } })) as AsyncIterable<ChatCompletionChunk>;
  for await (const c of stream) {
    const d = c.choices[0]?.delta;
    if (d?.content) out.content += d.content;
    if (d?.reasoning_content) (out.reasoning += d.reasoning_content), out.reasoningChunks++;
    if (c.choices[0]?.finish_reason) out.finish = c.choices[0].finish_reason;
    if (c.usage) out.promptTokens = c.usage.prompt_tokens;
  }
  return out;
}

export async function vlChat(arg: { model: string; tokenizer: string }): Promise<VlChatResult> {
  const png = await (await fetch(location.origin + arg.model + 'test_image.png')).blob();
  const bytes = new Uint8Array(await png.arrayBuffer());
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  const dataUrl = `data:image/png;base64,${btoa(bin)}`;
  const ask = (image: ChatMessageParam extends never ? never : object): ChatMessageParam[] => [{ role: 'user', content: [image as never, { type: 'text', text: 'What is in the picture?' }] }];

  const worker = new Worker(new URL('./engine_worker.ts', import.meta.url), { type: 'module' });
  const engine = await WorkerEngine.create(worker, { model: location.origin + arg.model, tokenizer: location.origin + arg.tokenizer, kvCacheBytes: 256 * 1536, maxBatch: 8 });
  try {
    const common = { temperature: 0, max_tokens: 4 };
    const viaUrl = await streamed(engine, { ...common, messages: ask({ type: 'image_url', image_url: { url: dataUrl } }) });
    const viaBlob = await streamed(engine, { ...common, messages: ask({ type: 'image', image: png }) });
    const url = URL.createObjectURL(png);
    const viaBlobUrl = await streamed(engine, { ...common, messages: ask({ type: 'image_url', image_url: { url } }) });
    URL.revokeObjectURL(url);
    const bitmap = await createImageBitmap(png, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
    const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
    canvas.getContext('2d')!.drawImage(bitmap, 0, 0);
    const pixels = canvas.getContext('2d')!.getImageData(0, 0, bitmap.width, bitmap.height);
    const viaBitmap = await streamed(engine, { ...common, messages: ask({ type: 'image', image: bitmap }) });
    const viaImageData = await streamed(engine, { ...common, messages: ask({ type: 'image', image: pixels }) });
    const thinking = await streamed(engine, { ...common, enable_thinking: true, messages: ask({ type: 'image', image: png }) });
    const whole = (await engine.chat.completions.create({ ...common, enable_thinking: true, messages: ask({ type: 'image_url', image_url: { url: dataUrl } }) })) as ChatCompletion;
    let badImage: VlChatResult['badImage'] = { name: '', message: '' };
    try {
      await engine.chat.completions.create({ ...common, messages: ask({ type: 'image', image: new Blob(['<html>404</html>']) }) });
    } catch (e) {
      badImage = { name: (e as Error).name, code: (e as { code?: string }).code, message: (e as Error).message };
    }
    return {
      dataUrl: viaUrl,
      blob: viaBlob,
      blobUrl: viaBlobUrl,
      bitmap: viaBitmap,
      imageData: viaImageData,
      thinking,
      thinkingWhole: { content: whole.choices[0]!.message.content, reasoning: whole.choices[0]!.message.reasoning_content ?? null },
      badImage,
    };
  } finally {
    engine.dispose();
    worker.terminate();
  }
}
