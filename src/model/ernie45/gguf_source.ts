// A GGUF file as a WeightSource: F16 tensors stay f16 on the GPU, everything else
// (F32, BF16, quantized blocks) is dequantized to f32 with the exact CPU reference decoder.
import { GgufFile } from '../../formats/gguf.js';
import { ernieConfigFromGguf, ggufConfigOrigin, ggufWeightLookup } from '../../formats/gguf_ernie.js';
import type { ByteSource } from '../../formats/source.js';
import { GgmlType } from '../../quant/ggml_blocks.js';
import { type ErnieConfig, parseConfig } from './config.js';
import type { WeightSource } from './weights.js';

export async function openGgufWeights(src: ByteSource, signal?: AbortSignal): Promise<{ config: ErnieConfig; weights: WeightSource }> {
  const gguf = await GgufFile.open(src, signal);
  const config = parseConfig(ernieConfigFromGguf(gguf), ggufConfigOrigin(gguf));
  const lookup = ggufWeightLookup(gguf);
  const weights: WeightSource = {
    name: gguf.name,
    has: (name) => lookup.has(name),
    info: (name) => {
      const ref = lookup.resolve(name);
      return { shape: ref.shape, dtype: ref.type === GgmlType.F16 ? 'F16' : 'F32', file: gguf.name };
    },
    readF32: (name, s) => lookup.readF32(name, s),
    readRaw: (name, s) => lookup.readRaw(name, s),
  };
  return { config, weights };
}
