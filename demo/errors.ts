// Messages a person can act on, for what stops the app.
import { ErnieError } from '../src/errors.js';

export const NO_WEBGPU_HELP =
  'Use a browser with WebGPU: Chrome or Edge 113+ on Windows, macOS and ChromeOS, Chrome 121+ on Android, ' +
  'Safari 26+ on macOS/iOS, Firefox 141+ on Windows. On Linux, Chrome needs chrome://flags/#enable-unsafe-webgpu ' +
  'and chrome://flags/#enable-vulkan turned on. Also check that hardware acceleration is on in the browser settings ' +
  'and that the page is served over https (or localhost).';

/** Why this page cannot run the model here, or undefined when it can. */
export async function webgpuProblem(): Promise<string | undefined> {
  const gpu = (navigator as Navigator & { gpu?: GPU }).gpu;
  if (!gpu) return `This browser does not offer WebGPU, which the model runs on. ${NO_WEBGPU_HELP}`;
  const adapter = await gpu.requestAdapter().catch(() => null);
  if (!adapter) return `This browser has WebGPU but found no usable GPU adapter (it may be blocked or disabled). ${NO_WEBGPU_HELP}`;
  return undefined;
}

/** A load or generation failure, explained. */
export function explainEngineError(e: unknown): string {
  if (e instanceof ErnieError) {
    switch (e.code) {
      case 'GPU_UNAVAILABLE': return `No GPU for the model: ${e.message}. ${NO_WEBGPU_HELP}`;
      case 'GPU_LIMIT': return `The model needs more GPU memory than this device allows (${e.message}). Lower the GPU expert budget in Settings (e.g. 25%) and load the model again, pick a smaller model, or close other tabs using the GPU.`;
      case 'DEVICE_LOST': return `The GPU stopped (${e.message}). Send again to reload the model, or reload the page.`;
      case 'CONTEXT_OVERFLOW': return `This chat is longer than the model's context (${e.message}). Start a new chat or lower Max tokens.`;
      case 'BAD_REQUEST': return `The request was refused: ${e.message}.${/^messages\b/.test(e.message) ? '' : ' Check the settings.'}`;
      case 'INTEGRITY': return `A stored model file is corrupt (${e.message}). Delete the model and download it again.`;
      case 'FETCH_FAILED': return `A model file could not be fetched (${e.message}). Check your connection, or download the model fully while online.`;
      default: return e.message;
    }
  }
  return e instanceof Error ? e.message : String(e);
}
