// The chat app: wires the model picker + download manager, the engine worker, the conversation
// view, the settings and the saved chats together. The engine runs in a dedicated Worker.
import { WorkerEngine } from '../src/worker/client.js';
import { catalogue } from './catalogue.js';
import { ChatView } from './chat_view.js';
import { listConversations, newConversation, saveConversation, type Conversation, type Message } from './conversations.js';
import { Downloads, shortName } from './downloads.js';
import { explainEngineError, webgpuProblem } from './errors.js';
import { bindSettingsForm, requestFields } from './settings.js';
import { decodeTokensPerSecond } from './stats.js';
import { REQUEST_CHANNEL } from './worker_channel.js';
import { registerServiceWorker } from './sw_register.js';

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const status = $('status');
const promptBox = $<HTMLTextAreaElement>('prompt');
const sendBtn = $<HTMLButtonElement>('send'), stopBtn = $<HTMLButtonElement>('stop'), regenBtn = $<HTMLButtonElement>('regenerate');
const LAST_MODEL = 'ernie-demo-model';

/** Test and debugging hook: the requests the engine worker received, newest last. */
const hook = { requests: [] as Record<string, unknown>[], modelReady: false, webgpu: undefined as string | undefined };
(window as unknown as { __ernieDemo: typeof hook }).__ernieDemo = hook;
new BroadcastChannel(REQUEST_CHANNEL).onmessage = (e: MessageEvent<Record<string, unknown>>) => hook.requests.push(e.data);

registerServiceWorker();
const settings = bindSettingsForm($<HTMLFormElement>('settings'), () => undefined);
const view = new ChatView($('messages'));
let conv: Conversation = newConversation();
let engine: WorkerEngine | null = null;
let worker: Worker | null = null;
let controller: AbortController | null = null;

function setStatus(text: string): void {
  status.textContent = text;
}

function updateButtons(): void {
  const busy = controller !== null;
  sendBtn.disabled = !engine || busy;
  stopBtn.disabled = !busy;
  regenBtn.disabled = !engine || busy || !conv.messages.some((m) => m.role === 'user');
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
  { progress: $('dl-progress'), progressText: $('dl-text'), cancel: $('dl-cancel'), list: $('stored'), storage: $('storage'), persist: $('persist') },
  (m) => void useModel(m.baseUrl),
);

$<HTMLFormElement>('picker').addEventListener('submit', async (e) => {
  e.preventDefault();
  if (downloads.busy) return;
  const picked = (document.querySelector('input[name=model]:checked') as HTMLInputElement | null)?.value;
  const url = picked === 'url' ? $<HTMLInputElement>('model-url').value.trim() : list.find((c) => c.id === picked)?.url;
  if (!url) return setStatus('Pick a model, or enter the URL of a package folder (the one with manifest.json).');
  try {
    const m = await downloads.download(url);
    await useModel(m.baseUrl);
  } catch {
    // the model already on the GPU (if any) keeps answering
    if (!engine) setStatus('No model loaded: see the download message.');
  }
});

async function useModel(url: string): Promise<void> {
  engine?.dispose();
  worker?.terminate();
  engine = null;
  hook.modelReady = false;
  updateButtons();
  setStatus(`Loading ${shortName(url)}…`);
  worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module', name: 'ernie-engine' });
  let loaded = false; // progress messages may still arrive after the load resolved
  try {
    engine = await WorkerEngine.create(worker, {
      model: url,
      modelName: shortName(url),
      onProgress: (p) => loaded || setStatus(`Loading ${shortName(url)} onto the GPU: ${p.tensorsDone}/${p.tensorsTotal} tensors`),
    });
    loaded = true;
    // on a phone, fold the model panel away so the conversation is in view
    if (matchMedia('(max-width: 700px)').matches) $<HTMLDetailsElement>('model-box').open = false;
    localStorage.setItem(LAST_MODEL, url);
    setStatus(`Ready: ${shortName(url)} on ${engine.info.adapter || 'WebGPU'}, context ${engine.info.contextLength} tokens.`);
    hook.modelReady = true;
  } catch (e) {
    loaded = true;
    setStatus(`Could not load ${shortName(url)}: ${explainEngineError(e)}`);
  }
  updateButtons();
}

// ---- chats ----
async function showChats(): Promise<void> {
  const all = await listConversations();
  $('chats').replaceChildren(...all.map((c) => {
    const li = document.createElement('li');
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'chat';
    b.textContent = c.title;
    if (c.id === conv.id) b.setAttribute('aria-current', 'true');
    b.addEventListener('click', () => openChat(c));
    li.append(b);
    return li;
  }));
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
  conv.messages.push({ role: 'user', content: text });
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

async function generate(): Promise<void> {
  if (!engine) return;
  const ac = new AbortController();
  controller = ac;
  updateButtons();
  void saveConversation(conv);
  const answer: Message = { role: 'assistant', content: '' };
  const bubble = view.startAnswer();
  const history = conv.messages.filter((m) => !m.error).map((m) => ({ role: m.role, content: m.content }));
  const messages = settings.systemPrompt.trim() ? [{ role: 'system' as const, content: settings.systemPrompt }, ...history] : history;
  let first: number | undefined, last: number | undefined, chunks = 0, usageTokens: number | undefined;
  try {
    const stream = await engine.chat.completions.create({ ...requestFields(settings), messages, stream: true, stream_options: { include_usage: true }, signal: ac.signal });
    for await (const chunk of stream) {
      if (chunk.usage) usageTokens = chunk.usage.completion_tokens;
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
    if (!ac.signal.aborted) answer.error = explainEngineError(e);
  }
  // a stopped stream may end quietly or with an AbortError: either way it is marked stopped
  if (ac.signal.aborted) answer.stopped = true;
  const tokens = usageTokens ?? chunks;
  const tps = decodeTokensPerSecond({ tokens, firstTokenMs: first, lastTokenMs: last });
  answer.stats = `${tokens} token${tokens === 1 ? '' : 's'}${tps === undefined ? '' : `, ${tps.toFixed(1)} tok/s`}`;
  bubble.removeAttribute('aria-busy');
  view.update(bubble, answer);
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
  const box = $('no-webgpu');
  box.textContent = problem;
  box.hidden = false;
  setStatus('WebGPU is not available: models can be downloaded, but not run, in this browser.');
}
const chats = await listConversations();
openChat(chats[0] ?? newConversation());
if (!problem) {
  const lastUrl = localStorage.getItem(LAST_MODEL);
  const stored = lastUrl ? (await downloads.store.list()).find((m) => m.baseUrl === lastUrl && m.complete) : undefined;
  if (stored) await useModel(stored.baseUrl);
  else setStatus('Pick a model and press “Download and load”. It is stored on this device for offline use.');
}
updateButtons();
