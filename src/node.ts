// Node entry point: WebGPU through the `webgpu` package (Google's Dawn), plus file-system sources.
// Browsers use navigator.gpu and need none of this.
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { GpuError } from './errors.js';

export { fromPath, nodeFolder } from './formats/node_source.js';
export { nodeDirectoryWriter } from './package/node_writer.js';
export { folderBackend, type FolderBackendOptions } from './store/folder_backend.js';
export { serveEngine, openAIHandler, openAIError, type ServeOptions, type RunningServer, type OpenAIErrorBody } from './server/openai_server.js';

const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

/**
 * The `webgpu` package's GPU object, with its globals (GPUBufferUsage, ...) installed.
 * On a machine without a GPU driver, SwiftShader (Chromium's software Vulkan) is used when present.
 */
export async function nodeGpu(): Promise<GPU> {
  // One instance per process, kept referenced: if the GPU object were garbage-collected while
  // a device lives, Dawn would tear down its instance under the device's threads and crash.
  nodeGpuInstance ??= createNodeGpu();
  return nodeGpuInstance;
}

let nodeGpuInstance: Promise<GPU> | null = null;

async function createNodeGpu(): Promise<GPU> {
  if (!process.env.VK_ICD_FILENAMES && existsSync(SWIFTSHADER_ICD) && !hasSystemVulkanDriver()) {
    process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
  }
  ensureRuntimeDir();
  let dawn: { create(flags: string[]): GPU; globals: Record<string, unknown> };
  try {
    dawn = (await import('webgpu')) as unknown as typeof dawn;
  } catch (cause) {
    if (isMissingPackage(cause, 'webgpu')) {
      throw new GpuError(
        'GPU_UNAVAILABLE',
        'WebGPU in Node comes from the `webgpu` package (Dawn), an optional peer dependency of ernie-webgpu that is not installed: run `npm install webgpu` in your project (browsers need no package: they have navigator.gpu).',
        { cause },
      );
    }
    throw cause;
  }
  Object.assign(globalThis, dawn.globals);
  return dawn.create([]);
}

function isMissingPackage(e: unknown, name: string): boolean {
  const { code, message } = (e ?? {}) as { code?: string; message?: string };
  return (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && !!message?.includes(`'${name}'`);
}

/**
 * During requestAdapter() the Vulkan stack under Dawn probes for a Wayland display, and libwayland
 * prints "error: XDG_RUNTIME_DIR is invalid or not set in the environment." (twice) where the
 * variable is unset (servers, containers, CI): a harmless probe that reads like a failure. Where it
 * is unset, point it at a private per-user directory (mode 0700, as the XDG spec asks) first.
 */
function ensureRuntimeDir(): void {
  if (process.env.XDG_RUNTIME_DIR) return;
  try {
    const dir = join(tmpdir(), `ernie-webgpu-runtime-${userInfo().uid}`);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    process.env.XDG_RUNTIME_DIR = dir;
  } catch {
    // no user info or no writable temp dir: the message stays, nothing else changes
  }
}

/** A real GPU shows up as a DRM render node or an NVIDIA device file; without one, use SwiftShader. */
function hasSystemVulkanDriver(): boolean {
  const dri = existsSync('/dev/dri') && readdirSync('/dev/dri').some((f) => f.startsWith('renderD'));
  return dri || existsSync('/dev/nvidia0');
}
