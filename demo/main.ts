// Demo page: loads the bundled tiny ERNIE 4.5 MoE checkpoint over HTTP (Range requests)
// and streams chat completions through the OpenAI-style API, in the page's WebGPU.
import { loadEngine, urlFolder, type ChatMessageParam } from '../src/index.js';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const status = $('status'), log = $('log'), form = $<HTMLFormElement>('form');
const input = $<HTMLInputElement>('prompt'), send = $<HTMLButtonElement>('send'), stop = $<HTMLButtonElement>('stop');

const base = new URL('../test/fixtures/', location.href).href;
// The folders' file lists, so the loader never probes for optional files that are not there
// (each probe would be a red 404 in the console). A package folder needs no list: its manifest is one.
const engine = await loadEngine({
  model: urlFolder(`${base}ernie45-moe-tiny/`, { files: ['config.json', 'generation_config.json', 'model.safetensors'] }),
  tokenizer: urlFolder(`${base}ernie-tokenizer-tiny/`, { files: ['tokenizer_config.json', 'tokenizer.model'] }),
  onProgress: (p) => (status.textContent = `Loading weights: ${p.tensorsDone}/${p.tensorsTotal} tensors`),
}).catch((e: Error) => {
  status.textContent = `Could not start: ${e.message}`;
  throw e;
});
status.textContent = `Ready on ${engine.gpu.adapterInfo.vendor} ${engine.gpu.adapterInfo.architecture} (context ${engine.contextLength} tokens)`;
send.disabled = false;

const messages: ChatMessageParam[] = [{ role: 'system', content: 'You are a tiny random model.' }];
let controller: AbortController | null = null;

form.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const text = input.value.trim();
  if (!text || controller) return;
  messages.push({ role: 'user', content: text });
  log.textContent += `user: ${text}\nassistant: `;
  controller = new AbortController();
  send.disabled = true;
  stop.disabled = false;
  let answer = '';
  try {
    const stream = await engine.chat.completions.create({ messages, stream: true, max_tokens: 48, temperature: 0.8, signal: controller.signal });
    for await (const chunk of stream) {
      const piece = chunk.choices[0]?.delta?.content ?? '';
      answer += piece;
      log.textContent += piece;
    }
    const s = engine.lastStats;
    if (s) status.textContent = `${s.completionTokens} tokens, ${s.cachedTokens} prompt tokens reused, ${(s.completionTokens / (s.decodeMs / 1000)).toFixed(1)} tok/s`;
  } catch (e) {
    log.textContent += `\n[error: ${(e as Error).message}]`;
  } finally {
    messages.push({ role: 'assistant', content: answer });
    log.textContent += '\n';
    controller = null;
    send.disabled = false;
    stop.disabled = true;
  }
});
stop.addEventListener('click', () => controller?.abort());
