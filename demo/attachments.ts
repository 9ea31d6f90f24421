// Images attached to the next message: from the file picker, a paste into the message box or a
// drop onto the conversation. Each is read as a data: URL (sent as an OpenAI image_url part) and
// shown as a removable thumbnail. Only enabled for a model that reads images; otherwise the
// Attach button is disabled and says why.
const MAX_IMAGE_BYTES = 20 * 1024 * 1024;

export interface AttachUi {
  button: HTMLButtonElement;
  input: HTMLInputElement;
  /** Why attaching is off (aria-describedby of the button). */
  reason: HTMLElement;
  list: HTMLElement;
  /** Where pastes land (the message box). */
  pasteTarget: HTMLElement;
  /** Where drops land (the conversation). */
  dropTarget: HTMLElement;
  /** Problems (not an image, too large). */
  onProblem: (text: string) => void;
}

export class Attachments {
  private urls: string[] = [];
  private enabled = false;

  constructor(private readonly ui: AttachUi) {
    ui.button.addEventListener('click', () => this.enabled && ui.input.click());
    ui.input.addEventListener('change', () => {
      void this.add([...(ui.input.files ?? [])]);
      ui.input.value = '';
    });
    ui.pasteTarget.addEventListener('paste', (e) => {
      const files = [...(e.clipboardData?.files ?? [])].filter((f) => f.type.startsWith('image/'));
      if (!files.length) return;
      e.preventDefault();
      void this.add(files);
    });
    ui.dropTarget.addEventListener('dragover', (e) => {
      if (!this.enabled || ![...(e.dataTransfer?.types ?? [])].includes('Files')) return;
      e.preventDefault();
      ui.dropTarget.classList.add('drop-here');
    });
    ui.dropTarget.addEventListener('dragleave', () => ui.dropTarget.classList.remove('drop-here'));
    ui.dropTarget.addEventListener('drop', (e) => {
      ui.dropTarget.classList.remove('drop-here');
      if (!this.enabled || !e.dataTransfer?.files.length) return;
      e.preventDefault();
      void this.add([...e.dataTransfer.files]);
    });
    this.setEnabled(false, 'Load a model first.');
  }

  /** Turns attaching on (a model that reads images) or off with the reason shown. */
  setEnabled(on: boolean, reason = ''): void {
    this.enabled = on;
    this.ui.button.disabled = !on;
    this.ui.reason.textContent = on ? 'Attach images (or paste or drop them).' : reason;
    if (!on) this.clear();
  }

  /** The attached images (data: URLs), in order. */
  get images(): string[] {
    return [...this.urls];
  }

  /** Empties the list (after sending). */
  clear(): void {
    this.urls = [];
    this.draw();
  }

  async add(files: File[]): Promise<void> {
    if (!this.enabled) return;
    for (const f of files) {
      if (!f.type.startsWith('image/')) this.ui.onProblem(`${f.name} is not an image (${f.type || 'unknown type'}).`);
      else if (f.size > MAX_IMAGE_BYTES) this.ui.onProblem(`${f.name} is larger than ${MAX_IMAGE_BYTES / 2 ** 20} MB; pick a smaller image.`);
      else this.urls.push(await dataUrl(f));
    }
    this.draw();
  }

  private draw(): void {
    this.ui.list.hidden = this.urls.length === 0;
    this.ui.list.replaceChildren(...this.urls.map((url, i) => {
      const li = document.createElement('li');
      const img = document.createElement('img');
      img.src = url;
      img.alt = `Attached image ${i + 1}`;
      const rm = document.createElement('button');
      rm.type = 'button';
      rm.textContent = '×';
      rm.setAttribute('aria-label', `Remove attached image ${i + 1}`);
      rm.addEventListener('click', () => {
        this.urls.splice(i, 1);
        this.draw();
        this.ui.button.focus();
      });
      li.append(img, rm);
      return li;
    }));
  }
}

function dataUrl(f: Blob): Promise<string> {
  return new Promise((resolve, reject) => {
    const r = new FileReader();
    r.onload = () => resolve(r.result as string);
    r.onerror = () => reject(r.error);
    r.readAsDataURL(f);
  });
}
