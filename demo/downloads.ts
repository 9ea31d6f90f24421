// The download manager: downloads a package into the model store with bytes, speed and time
// left; Pause (the download is aborted, what is stored stays) and Resume (download again: the
// store fetches only the rest, by Range from the last stored chunk); Cancel (stops and deletes
// the partial model); lists stored models with their size, resumes or deletes them; shows
// storage used and quota; asks for persistent storage. Before a download starts, checkFit()
// warns when it will not fit (and the store refuses it before any byte is written).
import { openModelStore, type ModelStore, type StoredModel } from '../src/store/index.js';
import { normalizeBaseUrl } from '../src/store/store.js';
import { ErnieError, QuotaError } from '../src/errors.js';
import { checkFit } from './fit_check.js';
import { bytes, duration, speed } from './format.js';
import { shortName } from './names.js';

export interface DownloadUi {
  progress: HTMLProgressElement;
  progressText: HTMLElement;
  pause: HTMLButtonElement;
  cancel: HTMLButtonElement;
  /** The size / will-not-fit line for the picked package. */
  fit: HTMLElement;
  list: HTMLElement;
  storage: HTMLElement;
  persist: HTMLButtonElement;
}

type Stop = 'pause' | 'cancel';

export class Downloads {
  private controller: AbortController | null = null;
  private stopping: Stop | null = null;
  /** The URL of the paused download (Resume continues it). */
  private paused: string | null = null;

  private constructor(
    readonly store: ModelStore,
    private readonly ui: DownloadUi,
    private readonly onDone: (m: StoredModel) => void,
  ) {
    ui.pause.addEventListener('click', () => {
      if (this.controller) this.stop('pause');
      else if (this.paused) void this.start(this.paused);
    });
    ui.cancel.addEventListener('click', () => {
      if (this.controller) this.stop('cancel');
      else if (this.paused) void this.discard(this.paused);
    });
    ui.persist.addEventListener('click', () => void this.persist());
  }

  static async open(ui: DownloadUi, onDone: (m: StoredModel) => void): Promise<Downloads> {
    const d = new Downloads(await openModelStore(), ui, onDone);
    await d.refresh();
    return d;
  }

  get busy(): boolean {
    return this.controller !== null;
  }

  /** Shows the package's size against the free storage; false when it will not fit. */
  async showFit(url: string): Promise<boolean> {
    try {
      const r = await checkFit(this.store, url);
      this.ui.fit.textContent = r.text;
      this.ui.fit.classList.toggle('warn', !r.fits);
      this.ui.fit.setAttribute('role', r.fits ? 'status' : 'alert');
      return r.fits;
    } catch {
      this.ui.fit.textContent = '';
      return true; // the download itself says what is wrong with the URL
    }
  }

  /**
   * Downloads (or resumes) a package and hands the stored model to `onDone`. Resolves when it is
   * stored, paused, cancelled or refused (the progress line says which).
   */
  async start(url: string): Promise<void> {
    if (this.controller) return;
    if (!(await this.showFit(url))) return;
    const ac = new AbortController();
    this.controller = ac;
    this.stopping = null;
    this.paused = null;
    const { progress, progressText, pause, cancel } = this.ui;
    progress.hidden = false;
    progress.removeAttribute('value');
    pause.hidden = cancel.hidden = false;
    pause.textContent = 'Pause';
    cancel.textContent = 'Cancel download';
    progressText.textContent = `Connecting to ${url}…`;
    void this.store.persist().then((granted) => granted && this.showPersisted(true), () => undefined);
    let done: StoredModel | undefined;
    try {
      done = await this.store.download(url, {
        signal: ac.signal,
        onProgress: (p) => {
          progress.max = Math.max(1, p.bytesTotal);
          progress.value = p.bytesDone;
          progressText.textContent = `${bytes(p.bytesDone)} of ${bytes(p.bytesTotal)} · ${speed(p.bytesPerSecond)} · ${duration(p.etaSeconds)} left · file ${p.filesDone}/${p.filesTotal}`;
        },
      });
      progressText.textContent = `Stored ${bytes(done.bytesStored)} (${done.files.total} files).`;
      pause.hidden = cancel.hidden = true;
    } catch (e) {
      const why = this.stopping;
      if (why === 'pause') {
        this.paused = url;
        const m = await this.store.get(normalizedId(url));
        progressText.textContent = `Paused at ${bytes(m?.bytesStored)} of ${bytes(m?.bytesTotal)}. Resume fetches only the rest.`;
        pause.textContent = 'Resume';
      } else if (why === 'cancel') {
        await this.discard(url);
      } else {
        progressText.textContent = explainStoreError(e);
        pause.hidden = cancel.hidden = true;
      }
    } finally {
      this.controller = null;
      await this.refresh();
    }
    if (done) this.onDone(done);
  }

  private stop(why: Stop): void {
    this.stopping = why;
    this.controller?.abort();
  }

  /** Cancel: the partial model is deleted (a complete one is left alone). */
  private async discard(url: string): Promise<void> {
    const id = normalizedId(url);
    const m = await this.store.get(id);
    if (m && !m.complete) await this.store.delete(id);
    this.paused = null;
    this.ui.pause.hidden = this.ui.cancel.hidden = true;
    this.ui.progress.hidden = true;
    this.ui.progressText.textContent = `Download cancelled; the ${bytes(m?.bytesStored ?? 0)} stored so far were deleted.`;
    await this.refresh();
  }

  private async persist(): Promise<void> {
    this.showPersisted(await this.store.persist());
  }

  private showPersisted(granted: boolean): void {
    this.ui.persist.textContent = granted ? 'Storage is persistent' : 'The browser declined persistent storage';
    this.ui.persist.disabled = granted;
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
      const use = m.complete
        ? button('Use', `Use ${shortName(m.id)}`, () => this.onDone(m))
        : button('Resume', `Resume downloading ${shortName(m.id)}`, () => void this.start(m.baseUrl));
      use.disabled = !m.complete && this.busy;
      const del = button('Delete', `Delete ${shortName(m.id)} from this device`, async () => {
        del.disabled = true;
        if (this.paused === m.baseUrl) return this.discard(m.baseUrl);
        await this.store.delete(m.id);
        await this.refresh();
      });
      del.disabled = this.busy;
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

/** The store's id of a package URL (the base URL with one trailing slash). */
function normalizedId(url: string): string {
  const { base, query } = normalizeBaseUrl(url);
  return base + query;
}

function button(text: string, label: string, onClick: () => void): HTMLButtonElement {
  const b = document.createElement('button');
  b.type = 'button';
  b.textContent = text;
  b.setAttribute('aria-label', label);
  b.addEventListener('click', onClick);
  return b;
}

/** What to tell a person when a download fails. */
export function explainStoreError(e: unknown): string {
  if (e instanceof QuotaError) {
    const free = e.deletable.length ? ` Delete ${e.deletable.map((d) => `${shortName(d.id)} (${bytes(d.bytes)})`).join(', ')} below to make room, or free space on this device.` : ' Free space on this device (browser storage settings) and try again.';
    return `This model does not fit: it needs ${bytes(e.needed)} more, ${bytes(e.available)} is free.${free}`;
  }
  if (e instanceof ErnieError) return `Download failed: ${e.message}`;
  return `Download failed: ${e instanceof Error ? e.message : String(e)}. Check the URL and your connection; the model host must allow CORS and Range requests.`;
}
