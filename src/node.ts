// Node entry point: WebGPU through the `webgpu` package (Google's Dawn), plus file-system sources.
// Browsers use navigator.gpu and need none of this.
import { existsSync, readdirSync } from 'node:fs';

export { fromPath, nodeFolder } from './formats/node_source.js';
export { nodeDirectoryWriter } from './package/node_writer.js';
export { folderBackend, type FolderBackendOptions } from './store/folder_backend.js';

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
  const { create, globals } = (await import('webgpu')) as unknown as { create(flags: string[]): GPU; globals: Record<string, unknown> };
  Object.assign(globalThis, globals);
  return create([]);
}

/** A real GPU shows up as a DRM render node or an NVIDIA device file; without one, use SwiftShader. */
function hasSystemVulkanDriver(): boolean {
  const dri = existsSync('/dev/dri') && readdirSync('/dev/dri').some((f) => f.startsWith('renderD'));
  return dri || existsSync('/dev/nvidia0');
}
