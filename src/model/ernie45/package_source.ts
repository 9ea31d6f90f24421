// An ernie-webgpu package (FORMAT.md) as a WeightSource. Tensors stored f16/f32 upload as they
// are; quantized ones are dequantized with the CPU reference decoder until the quantized
// kernels read the blocks directly.
import type { FolderSource } from '../../formats/source.js';
import { openPackage, type ErniePackage } from '../../package/reader.js';
import type { ErnieConfig } from './config.js';
import type { WeightSource } from './weights.js';
import { MANIFEST_FILE } from '../../package/manifest.js';

export async function openPackageWeights(folder: FolderSource, signal?: AbortSignal): Promise<{ config: ErnieConfig; weights: WeightSource; pkg: ErniePackage }> {
  const pkg = await openPackage(folder, signal);
  const weights: WeightSource = {
    name: MANIFEST_FILE,
    has: (name) => pkg.has(name),
    info: (name) => {
      const t = pkg.tensor(name);
      return { shape: t.shape, dtype: t.layout === 'f16' ? 'F16' : t.layout === 'f32' ? 'F32' : t.layout.toUpperCase(), file: t.shard };
    },
    readF32: (name, s) => pkg.readF32(name, s),
    readRaw: async (name, s) => (await pkg.readTensor(name, s)).bytes,
  };
  return { config: pkg.config, weights, pkg };
}
