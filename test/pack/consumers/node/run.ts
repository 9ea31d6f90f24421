// A Node script against the installed package: load the tiny model, answer once whole and once
// streamed, catch a typed error, and one across the worker protocol (a MessageChannel), with the
// error class imported from the main entry. Prints one JSON line for the test to read.
import { BadRequestError, ErnieError, FileFormatError, loadEngine, type ChatCompletion, type ChatCompletionChunk } from 'ernie-webgpu';
import { nodeFolder, nodeGpu } from 'ernie-webgpu/node';
import { exposeEngineHost, WorkerEngine } from 'ernie-webgpu/worker';

const [model, tokenizer] = process.argv.slice(2);
const engine = await loadEngine({ model: nodeFolder(model), tokenizer: nodeFolder(tokenizer), gpu: await nodeGpu(), kvCacheBytes: 1 << 22 });
const request = { messages: [{ role: 'user' as const, content: 'Hello' }], max_tokens: 4, temperature: 0 };
const whole: ChatCompletion = await engine.chat.completions.create(request);
let streamed = '';
const stream: AsyncIterable<ChatCompletionChunk> = await engine.chat.completions.create({ ...request, stream: true });
for await (const chunk of stream) streamed += chunk.choices[0]?.delta?.content ?? '';
let error = '';
try {
  await engine.chat.completions.create({ messages: [] });
} catch (e) {
  if (e instanceof BadRequestError && e instanceof ErnieError) error = `${e.code} ${e.param}`;
}
engine.dispose();

const channel = new MessageChannel();
exposeEngineHost(channel.port1, async () => {
  throw new FileFormatError('model.safetensors', 'truncated');
});
let workerError = '';
try {
  await WorkerEngine.create(channel.port2, { model: '/models/tiny/' });
} catch (e) {
  if (e instanceof FileFormatError) workerError = `${e.code} ${e.file}`;
}
channel.port1.close();
channel.port2.close();
console.log(JSON.stringify({ text: whole.choices[0].message.content, streamed, completionTokens: whole.usage.completion_tokens, error, workerError }));
