// The chat app: wires the model picker + download manager, the engine (a dedicated Worker, or a
// remote OpenAI-compatible server), the conversation view, the attachments, the settings and
// the saved chats together.
import { WorkerEngine } from '../src/worker/client.js';
import type { ChatCompletionChunk, ChatCompletionRequest } from '../src/api/types.js';
import { Attachments } from './attachments.js';
import { catalogue } from './catalogue.js';
import { renderChatList } from './chat_list.js';
import { ChatView } from './chat_view.js';
import { listConversations, newConversation, saveConversation, type Conversation, type Message } from './conversations.js';
import { Downloads } from './downloads.js';
import { explainEngineError, webgpuProblem } from './errors.js';
import { bindLocalPicker, type PickedModel } from './local_model.js';
import { folderHasVision, storedModelHasVision } from './model_caps.js';
import { shortName } from './names.js';
import { bindRemoteForm, explainRemoteError, type Connected } from './remote.js';
import { requestMessages } from './request.js';
import { bindSettingsForm, expertCacheOption, requestFields } from './settings.js';
import { decodeTokensPerSecond, statsLine } from './stats.js';
import { REQUEST_CHANNEL } from './worker_channel.js';
import { registerServiceWorker } from './sw_register.js';

/** What the chat needs of an engine: WorkerEngine and RemoteEngine both have it. */
interface ChatEngine {
  chat: { completions: { create(req: ChatCompletionRequest & { stream: true }): Promise<AsyncIterable<ChatCompletionChunk>> } };
}

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const status = $('status');
const promptBox = $<HTMLTextAreaElement>('prompt');
const sendBtn = $<HTMLButtonElement>('send'), stopBtn = $<HTMLButtonElement>('stop'), regenBtn = $<HTMLButtonElement>('regenerate');
const announce = $('announce');
const LAST_MODEL = 'ernie-demo-model';

/** Test and debugging hook: the requests the engine worker received, newest last. */
const hook = { requests: [] as Record<string, unknown>[], modelReady: false, webgpu: undefined as string | undefined, engine: '', loads: 0 };
(window as unknown as { __ernieDemo: typeof hook }).__ernieDemo = hook;
new BroadcastChannel(REQUEST_CHANNEL).onmessage = (e: MessageEvent<Record<string, unknown>>) => hook.requests.push(e.data);

registerServiceWorker();
document.querySelector<HTMLAnchorElement>('a.skip')!.addEventListener('click', (e) => {
  e.preventDefault();
  promptBox.focus();
});
const settings = bindSettingsForm($<HTMLFormElement>('settings'), () => undefined);
const view = new ChatView($('messages'), (index, text) => void resend(index, text));
const attachments = new Attachments({
  button: $('attach'), input: $('image-input'), reason: $('attach-why'), list: $('attached'),
  pasteTarget: promptBox, dropTarget: $('chat'), onProblem: (t) => setStatus(t),
});
let conv: Conversation = newConversation();
let engine: ChatEngine | null = null;
let workerEngine: WorkerEngine | null = null;
let worker: Worker | null = null;
let controller: AbortController | null = null;
/** The server's API root while chatting through one. */
let remoteUrl = '';

function setStatus(text: string): void {
  status.textContent = text;
}

function updateButtons(): void {
  const busy = controller !== null;
  sendBtn.disabled = !engine || busy;
  stopBtn.disabled = !busy;
  regenBtn.disabled = !engine || busy || !conv.messages.some((m) => m.role === 'user');
  view.editable = !!engine && !busy;
}

// ---- model picker + downloads ----
const list = catalogue();
$('catalogue').replaceChildren(...list.map((c, i) => {
  const l = document.createElement('label');
  l.className = 'row';
  l.innerHTML = `<input type="radio" name="model" value="${c.id}"${i === 0 ? ' checked' : ''} /> <span><span class="cat-name"></span><small></small></span>`;
  l.querySelector('.cat-name')!.textContent = c.name;
  l.querySelector('small')!.textContent = c.note;
  return l;
}));
$('model-url').addEventListener('input', () => (($('pick-url') as HTMLInputElement).checked = true));

const downloads = await Downloads.open(
  {
    progress: $('dl-progress'), progressText: $('dl-text'), pause: $('dl-pause'), cancel: $('dl-cancel'), fit: $('fit'),
    list: $('stored'), storage: $('storage'), persist: $('persist'),
  },
  (m) => void useModel(m.baseUrl, shortName(m.baseUrl)),
);

function pickedUrl(): string | undefined {
  const picked = (document.querySelector('input[name=model]:checked') as HTMLInputElement | null)?.value;
  return picked === 'url' ? $<HTMLInputElement>('model-url').value.trim() || undefined : list.find((c) => c.id === picked)?.url;
}
$<HTMLFormElement>('picker').addEventListener('change', () => {
  const url = pickedUrl();
  if (url) void downloads.showFit(url);
});
$<HTMLFormElement>('picker').addEventListener('submit', (e) => {
  e.preventDefault();
  const url = pickedUrl();
  if (!url) return setStatus('Pick a model, or enter the URL of a package folder (the one with manifest.json).');
  void downloads.start(url);
});
bindLocalPicker(
  { folderButton: $('pick-folder'), folderInput: $('folder-input'), ggufButton: $('pick-gguf'), ggufInput: $('gguf-input') },
  (m: PickedModel) => void useModel(m.source, m.name),
);

/** Loads a model into a fresh engine worker: a stored package's URL, or picked files. */
async function useModel(source: string | PickedModel['source'], name: string): Promise<void> {
  if (controller) controller.abort();
  workerEngine?.dispose();
  worker?.terminate();
  engine = workerEngine = null;
  hook.modelReady = false;
  attachments.setEnabled(false, 'Load a model first.');
  updateButtons();
  setStatus(`Loading ${name}…`);
  worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module', name: 'ernie-engine' });
  let loaded = false; // progress messages may still arrive after the load resolved
  try {
    workerEngine = await WorkerEngine.create(worker, {
      model: source,
      modelName: name,
      expertCache: expertCacheOption(settings),
      onProgress: (p) => loaded || setStatus(`Loading ${name} onto the GPU: ${p.tensorsDone}/${p.tensorsTotal} tensors`),
    });
    loaded = true;
    engine = workerEngine;
    hook.engine = 'worker';
    // on a phone, fold the model panel away so the conversation is in view
    if (matchMedia('(max-width: 700px)').matches) $<HTMLDetailsElement>('model-box').open = false;
    if (typeof source === 'string') localStorage.setItem(LAST_MODEL, source);
    const vision = typeof source === 'string' ? await storedModelHasVision(downloads.store, source) : source instanceof Map ? await folderHasVision(source) : false;
    attachments.setEnabled(vision, `${name} reads text only: images need a vision-language model such as ERNIE-4.5-VL-28B-A3B${source instanceof File ? ' (a .gguf holds the text model only)' : ''}.`);
    const experts = (await workerEngine.stats().catch(() => null))?.experts;
    setStatus(`Ready: ${name} on ${workerEngine.info.adapter || 'WebGPU'}, context ${workerEngine.info.contextLength} tokens${experts ? `, ${experts.gpu.slots} routed-expert slots on the GPU` : ''}.`);
    hook.modelReady = true;
    hook.loads++;
  } catch (e) {
    loaded = true;
    setStatus(`Could not load ${name}: ${explainEngineError(e)}`);
  }
  updateButtons();
}

// ---- remote fallback ----
bindRemoteForm({ form: $('remote-form'), url: $('remote-url'), key: $('remote-key'), text: $('remote-text') }, (c: Connected) => {
  workerEngine?.dispose();
  worker?.terminate();
  workerEngine = null;
  worker = null;
  engine = c.engine;
  hook.engine = 'remote';
  remoteUrl = c.baseURL;
  // the server decides what it reads: images are sent, and refused there if its model is text-only
  attachments.setEnabled(true);
  $('no-webgpu').hidden = true;
  setStatus(`Ready: ${c.model} on the server at ${c.baseURL} (the chat leaves this device).`);
  hook.modelReady = true;
  hook.loads++;
  updateButtons();
});
$('use-remote').addEventListener('click', () => {
  const box = $<HTMLDetailsElement>('remote-box');
  box.open = true;
  box.scrollIntoView({ block: 'nearest' });
  $('remote-url').focus();
});

// ---- chats ----
async function showChats(): Promise<void> {
  renderChatList($('chats'), await listConversations(), conv.id, openChat);
}

function openChat(c: Conversation): void {
  if (controller) return;
  conv = c;
  view.render(conv.messages);
  updateButtons();
  void showChats();
}

$('new-chat').addEventListener('click', () => {
  openChat(newConversation());
  promptBox.focus();
});

$<HTMLFormElement>('composer').addEventListener('submit', async (e) => {
  e.preventDefault();
  const text = promptBox.value.trim();
  if (!text || !engine || controller) return;
  promptBox.value = '';
  const images = attachments.images;
  attachments.clear();
  conv.messages.push({ role: 'user', content: text, ...(images.length ? { images } : {}) });
  view.render(conv.messages);
  await generate();
});
promptBox.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
    e.preventDefault();
    $<HTMLFormElement>('composer').requestSubmit();
  }
});
stopBtn.addEventListener('click', () => controller?.abort());
regenBtn.addEventListener('click', async () => {
  if (controller || !engine) return;
  if (conv.messages.at(-1)?.role === 'assistant') conv.messages.pop();
  view.render(conv.messages);
  await generate();
});

/** Edit-and-resend: message `index` gets the new text and everything after it is replaced. */
async function resend(index: number, text: string): Promise<void> {
  if (controller || !engine) return;
  const old = conv.messages[index]!;
  conv.messages = [...conv.messages.slice(0, index), { role: 'user', content: text, ...(old.images ? { images: old.images } : {}) }];
  view.render(conv.messages);
  await generate();
}

async function generate(): Promise<void> {
  if (!engine) return;
  const ac = new AbortController();
  controller = ac;
  updateButtons();
  void saveConversation(conv);
  const answer: Message = { role: 'assistant', content: '' };
  const bubble = view.startAnswer();
  announce.textContent = 'ERNIE is answering…';
  let first: number | undefined, last: number | undefined, chunks = 0, usageTokens: number | undefined;
  let prompt: { tokens: number; cached?: number } | undefined;
  try {
    const stream = await engine.chat.completions.create({
      ...requestFields(settings), messages: requestMessages(conv.messages, settings.systemPrompt), stream: true, stream_options: { include_usage: true }, signal: ac.signal,
    });
    for await (const chunk of stream) {
      if (chunk.usage) {
        usageTokens = chunk.usage.completion_tokens;
        prompt = { tokens: chunk.usage.prompt_tokens, cached: chunk.usage.prompt_tokens_details?.cached_tokens };
      }
      const d = chunk.choices[0]?.delta;
      if (!d?.content && !d?.reasoning_content) continue;
      const now = performance.now();
      first ??= now;
      last = now;
      chunks++;
      answer.content += d.content ?? '';
      if (d.reasoning_content) answer.reasoning = (answer.reasoning ?? '') + d.reasoning_content;
      view.update(bubble, answer);
    }
  } catch (e) {
    if (!ac.signal.aborted) answer.error = hook.engine === 'remote' && !(e instanceof Error && 'param' in e) ? explainRemoteError(remoteUrl, e) : explainEngineError(e);
  }
  // a stopped stream may end quietly or with an AbortError: either way it is marked stopped
  if (ac.signal.aborted) answer.stopped = true;
  const tokens = usageTokens ?? chunks;
  const tps = decodeTokensPerSecond({ tokens, firstTokenMs: first, lastTokenMs: last });
  if (tokens > 0 || !answer.error) answer.stats = statsLine(tokens, tps, prompt);
  bubble.removeAttribute('aria-busy');
  view.update(bubble, answer);
  announce.textContent = answer.error ? 'The answer failed.' : answer.stopped ? 'Stopped.' : 'Answer complete.';
  conv.messages.push(answer);
  controller = null;
  updateButtons();
  await saveConversation(conv);
  await showChats();
  promptBox.focus();
}

// ---- start ----
const problem = await webgpuProblem();
hook.webgpu = problem;
if (problem) {
  $('no-webgpu-text').textContent = `${problem} Or chat through a server: “Use a server instead”.`;
  $('no-webgpu').hidden = false;
  attachments.setEnabled(false, 'Connect to a server first (Use a server).');
  // the server form comes first: it is what works here
  const remoteBox = $<HTMLDetailsElement>('remote-box');
  remoteBox.open = true;
  $('side').prepend(remoteBox);
  $<HTMLDetailsElement>('model-box').open = false;
  setStatus('WebGPU is not available: models can be downloaded, but not run, in this browser. A server can run them (Use a server).');
}
const chats = await listConversations();
openChat(chats[0] ?? newConversation());
if (!problem) {
  const lastUrl = localStorage.getItem(LAST_MODEL);
  const stored = lastUrl ? (await downloads.store.list()).find((m) => m.baseUrl === lastUrl && m.complete) : undefined;
  if (stored) await useModel(stored.baseUrl, shortName(stored.baseUrl));
  else setStatus('Pick a model and press “Download and load”. It is stored on this device for offline use.');
}
updateButtons();
