// The remote fallback: an OpenAI-compatible server (`ernie-webgpu serve --cors <this origin>`,
// vLLM, a hosted ERNIE endpoint) when this browser cannot run the model. The URL is remembered
// in localStorage; the key only for this tab (sessionStorage).
import { RemoteEngine } from '../src/remote/remote_engine.js';
import { ErnieError } from '../src/errors.js';

const URL_KEY = 'ernie-demo-remote-url';
const KEY_KEY = 'ernie-demo-remote-key';

export interface Connected {
  engine: RemoteEngine;
  baseURL: string;
  model: string;
}

export function bindRemoteForm(ui: { form: HTMLFormElement; url: HTMLInputElement; key: HTMLInputElement; text: HTMLElement }, onConnect: (c: Connected) => void): void {
  ui.url.value = localStorage.getItem(URL_KEY) ?? '';
  ui.key.value = sessionStorage.getItem(KEY_KEY) ?? '';
  ui.form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const baseURL = ui.url.value.trim().replace(/\/+$/, '');
    if (!/^https?:\/\//.test(baseURL)) {
      ui.text.textContent = 'Enter the API root, e.g. http://127.0.0.1:8080/v1 or https://host/v1.';
      return;
    }
    ui.text.textContent = `Connecting to ${baseURL}…`;
    try {
      const probe = new RemoteEngine({ baseURL, apiKey: ui.key.value || undefined });
      const [model] = await probe.models();
      if (!model) throw new ErnieError('FETCH_FAILED', `${baseURL}/models lists no model`);
      localStorage.setItem(URL_KEY, baseURL);
      sessionStorage.setItem(KEY_KEY, ui.key.value);
      ui.text.textContent = `Connected: ${model} at ${baseURL}.`;
      onConnect({ engine: new RemoteEngine({ baseURL, apiKey: ui.key.value || undefined, model }), baseURL, model });
    } catch (err) {
      ui.text.textContent = explainRemoteError(baseURL, err);
    }
  });
}

export function explainRemoteError(baseURL: string, e: unknown): string {
  const status = (e as { status?: number }).status;
  if (status === 401 || status === 403) return `${baseURL} refused the API key (HTTP ${status}). Check the key.`;
  if (status === 0 || status === undefined) {
    return `Could not reach ${baseURL} (${e instanceof Error ? e.message : String(e)}). Check the URL, that the server runs, and that it allows this page's origin (${location.origin}): \`ernie-webgpu serve … --cors ${location.origin}\`.`;
  }
  return `${baseURL}: ${e instanceof Error ? e.message : String(e)}`;
}
