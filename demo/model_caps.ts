// Whether a model reads images: its config.json (or a package manifest's copy of it) has a
// vision_config (ERNIE-4.5-VL). A .gguf or a server is judged elsewhere (see main.ts).
import type { ModelStore } from '../src/store/index.js';

export function configHasVision(config: unknown): boolean {
  const v = typeof config === 'object' && config !== null ? (config as { vision_config?: unknown }).vision_config : undefined;
  return typeof v === 'object' && v !== null;
}

/** A stored package: the manifest the store keeps. */
export async function storedModelHasVision(store: ModelStore, id: string): Promise<boolean> {
  const info = await store.backend.getInfo(id).catch(() => undefined);
  return configHasVision(info?.manifest.config);
}

/** A picked folder: its manifest.json (a package) or config.json. */
export async function folderHasVision(files: Map<string, Blob>): Promise<boolean> {
  const manifest = files.get('manifest.json');
  const config = files.get('config.json');
  try {
    if (manifest) return configHasVision((JSON.parse(await manifest.text()) as { config?: unknown }).config);
    if (config) return configHasVision(JSON.parse(await config.text()));
  } catch {
    // the engine's load reports a bad file; here it only means "no images"
  }
  return false;
}
