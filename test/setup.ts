// Dawn (the `webgpu` package) needs a Vulkan driver. Machines without a GPU use the
// SwiftShader ICD that Debian's chromium package ships; set it before Dawn loads.
import { existsSync } from 'node:fs';

const swiftshader = '/usr/lib/chromium/vk_swiftshader_icd.json';
if (!process.env.VK_ICD_FILENAMES && existsSync(swiftshader)) {
  process.env.VK_ICD_FILENAMES = swiftshader;
}
