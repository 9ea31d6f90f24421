// "A folder or .gguf file on this device": a model folder (a package, or config.json +
// safetensors + tokenizer) picked with the File System Access API where the browser has it
// (showDirectoryPicker) or an <input type=file webkitdirectory> elsewhere, or one .gguf file.
// The files are read in place (nothing is copied into the model store).
export interface PickedModel {
  /** Shown to the person: the folder's or file's name. */
  name: string;
  /** What the engine worker loads: a .gguf File, or the folder as relative path -> Blob. */
  source: File | Map<string, Blob>;
}

type DirHandle = { name: string; kind: 'directory'; values(): AsyncIterable<DirHandle | FileHandle> };
type FileHandle = { name: string; kind: 'file'; getFile(): Promise<File> };
type WithPicker = Window & { showDirectoryPicker?: (o?: { mode?: 'read'; id?: string }) => Promise<DirHandle> };

/** Files of a <input webkitdirectory> selection keyed by their path inside the picked folder. */
export function filesToFolder(files: Iterable<File>): Map<string, Blob> {
  const out = new Map<string, Blob>();
  for (const f of files) {
    const rel = f.webkitRelativePath;
    out.set(rel ? rel.slice(rel.indexOf('/') + 1) : f.name, f);
  }
  return out;
}

async function readDirectory(dir: DirHandle, prefix = '', out = new Map<string, Blob>()): Promise<Map<string, Blob>> {
  for await (const entry of dir.values()) {
    if (entry.kind === 'file') out.set(prefix + entry.name, await entry.getFile());
    else await readDirectory(entry, `${prefix}${entry.name}/`, out);
  }
  return out;
}

/**
 * Binds the "Choose folder" and "Choose .gguf" buttons. `onPick` gets the model; a cancelled
 * picker does nothing.
 */
export function bindLocalPicker(ui: { folderButton: HTMLButtonElement; folderInput: HTMLInputElement; ggufButton: HTMLButtonElement; ggufInput: HTMLInputElement }, onPick: (m: PickedModel) => void): void {
  const picker = (window as WithPicker).showDirectoryPicker;
  ui.folderButton.addEventListener('click', async () => {
    if (!picker) return ui.folderInput.click();
    try {
      const dir = await picker.call(window, { mode: 'read', id: 'ernie-model' });
      onPick({ name: dir.name, source: await readDirectory(dir) });
    } catch (e) {
      if ((e as { name?: string }).name !== 'AbortError') throw e;
    }
  });
  ui.folderInput.addEventListener('change', () => {
    const files = [...(ui.folderInput.files ?? [])];
    ui.folderInput.value = '';
    if (!files.length) return;
    const top = files[0]!.webkitRelativePath.split('/')[0] || 'folder';
    onPick({ name: top, source: filesToFolder(files) });
  });
  ui.ggufButton.addEventListener('click', () => ui.ggufInput.click());
  ui.ggufInput.addEventListener('change', () => {
    const f = ui.ggufInput.files?.[0];
    ui.ggufInput.value = '';
    if (f) onPick({ name: f.name, source: f });
  });
}
