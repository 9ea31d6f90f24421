// The download manager: downloads a package into the model store with bytes, speed, time left
// and cancel; lists stored models with their size; deletes them; shows storage used and quota;
// asks for persistent storage. A download that will not fit is refused by the store before any
// byte is written (QuotaError): the message says how much is missing and what to delete.
import { openModelStore, type ModelStore, type StoredModel } from '../src/store/index.js';
import { ErnieError, QuotaError } from '../src/errors.js';
import { bytes, duration, speed } from './format.js';

export interface DownloadUi {
  progress: HTMLProgressElement;
  progressText: HTMLElement;
  cancel: HTMLButtonElement;
  list: HTMLElement;
  storage: HTMLElement;
  persist: HTMLButtonElement;
}

export class Downloads {
  private controller: AbortController | null = null;
  private constructor(
    readonly store: ModelStore,
    private readonly ui: DownloadUi,
    private readonly onUse: (m: StoredModel) => void,
  ) {
    ui.cancel.addEventListener('click', () => this.controller?.abort());
    ui.persist.addEventListener('click', async () => {
      const granted = await this.store.persist();
      ui.persist.textContent = granted ? 'Storage is persistent' : 'The browser declined persistent storage';
      ui.persist.disabled = granted;
    });
  }

  static async open(ui: DownloadUi, onUse: (m: StoredModel) => void): Promise<Downloads> {
    const d = new Downloads(await openModelStore(), ui, onUse);
    await d.refresh();
    return d;
  }

  get busy(): boolean {
    return this.controller !== null;
  }

  /** Downloads (or resumes) a package; resolves with the stored model, rejects with a message a person can act on. */
  async download(url: string): Promise<StoredModel> {
    const ac = new AbortController();
    this.controller = ac;
    const { progress, progressText, cancel } = this.ui;
    progress.hidden = false;
    progress.value = 0;
    cancel.hidden = false;
    progressText.textContent = `Connecting to ${url}…`;
    try {
      const m = await this.store.download(url, {
        signal: ac.signal,
        onProgress: (p) => {
          progress.max = Math.max(1, p.bytesTotal);
          progress.value = p.bytesDone;
          progressText.textContent = `${bytes(p.bytesDone)} of ${bytes(p.bytesTotal)} · ${speed(p.bytesPerSecond)} · ${duration(p.etaSeconds)} left · file ${p.filesDone}/${p.filesTotal}`;
        },
      });
      progressText.textContent = `Stored ${bytes(m.bytesStored)} (${m.files.total} files).`;
      return m;
    } catch (e) {
      progressText.textContent = explainStoreError(e);
      throw e;
    } finally {
      this.controller = null;
      cancel.hidden = true;
      await this.refresh();
    }
  }

  async refresh(): Promise<void> {
    const [models, est] = await Promise.all([this.store.list(), this.store.estimate()]);
    this.ui.storage.textContent = `Storage: ${bytes(est.usage)} used of ${bytes(est.quota)} available to this site (${bytes(est.available)} free).`;
    this.ui.storage.dataset.usage = String(est.usage ?? '');
    const rows = models.map((m) => {
      const li = document.createElement('li');
      li.dataset.modelId = m.id;
      li.dataset.bytes = String(m.bytesStored);
      const name = document.createElement('span');
      name.className = 'model-name';
      name.textContent = `${shortName(m.id)} — ${bytes(m.bytesStored)}${m.complete ? '' : ` of ${bytes(m.bytesTotal)} (incomplete)`}`;
      const use = button('Use', `Use ${shortName(m.id)}`, () => this.onUse(m));
      use.disabled = !m.complete;
      const del = button('Delete', `Delete ${shortName(m.id)} from this device`, async () => {
        del.disabled = true;
        await this.store.delete(m.id);
        await this.refresh();
      });
      li.append(name, use, del);
      return li;
    });
    if (!rows.length) {
      const li = document.createElement('li');
      li.textContent = 'No models stored on this device yet.';
      rows.push(li);
    }
    this.ui.list.replaceChildren(...rows);
  }
}

function button(text: string, label: string, onClick: () => void): HTMLButtonElement {
  const b = document.createElement('button');
  b.type = 'button';
  b.textContent = text;
  b.setAttribute('aria-label', label);
  b.addEventListener('click', onClick);
  return b;
}

export function shortName(id: string): string {
  const parts = id.replace(/\/+$/, '').split('/');
  return parts[parts.length - 1] || id;
}

/** What to tell a person when a download fails. */
export function explainStoreError(e: unknown): string {
  if (e instanceof QuotaError) {
    const free = e.deletable.length ? ` Delete ${e.deletable.map((d) => `${shortName(d.id)} (${bytes(d.bytes)})`).join(', ')} below to make room, or free space on this device.` : ' Free space on this device (browser storage settings) and try again.';
    return `This model does not fit: it needs ${bytes(e.needed)} more, ${bytes(e.available)} is free.${free}`;
  }
  if ((e instanceof DOMException && e.name === 'AbortError') || (e instanceof ErnieError && e.code === 'ABORTED')) return 'Download cancelled; the bytes stored so far are kept, download again to resume.';
  if (e instanceof ErnieError) return `Download failed: ${e.message}`;
  return `Download failed: ${e instanceof Error ? e.message : String(e)}. Check the URL and your connection; the model host must allow CORS and Range requests.`;
}
