// A GGUF file as a WeightSource, its blocks kept as they are: the block types the quantized
// kernels read (Q4_K, Q6_K, Q8_0, Q4_0, IQ4_NL, Q2_K: the package layouts with GGUF's bytes)
// upload byte for byte, F16 stays f16, and only the rest (F32, BF16, Q4_1, Q5_*, Q3_K, ...) is
// dequantized to f32 with the exact CPU reference decoder. A Q4_K_M file therefore takes about
// its own size in GPU memory, not the 7x of f32.
//
// Gate and up projections share one GPU matrix (weights.ts), so they must share a format: when
// a file stores them in different types, both are dequantized to f32.
import { GgufFile } from '../../formats/gguf.js';
import { type GgufWeightLookup, ernieConfigFromGguf, ggufConfigOrigin, ggufWeightLookup } from '../../formats/gguf_ernie.js';
import type { ByteSource } from '../../formats/source.js';
import { isQuantLayout } from '../../kernels/matmul_q.js';
import { layoutOfGgmlType } from '../../quant/layouts.js';
import { type ErnieConfig, parseConfig } from './config.js';
import type { WeightSource } from './weights.js';

/** `src`: the file, or a GgufFile already opened (its header is then not read again). */
export async function openGgufWeights(src: ByteSource | GgufFile, signal?: AbortSignal): Promise<{ config: ErnieConfig; weights: WeightSource }> {
  const gguf = src instanceof GgufFile ? src : await GgufFile.open(src, signal);
  const config = parseConfig(ernieConfigFromGguf(gguf), ggufConfigOrigin(gguf));
  const lookup = ggufWeightLookup(gguf);
  const weights: WeightSource = {
    name: gguf.name,
    has: (name) => lookup.has(name),
    info: (name) => ({ shape: lookup.resolve(name).shape, dtype: storedDtype(lookup, name), file: gguf.name }),
    readF32: (name, s) => lookup.readF32(name, s),
    readRaw: (name, s) => lookup.readRaw(name, s),
  };
  return { config, weights };
}

/** The dtype a tensor uploads as: its own layout ('Q4_K', 'F16', ...) when a kernel reads it, else 'F32'. */
function storedDtype(lookup: GgufWeightLookup, name: string): string {
  const own = kernelDtype(lookup.resolve(name).type);
  const partner = stackedPartner(name);
  if (partner && lookup.has(partner) && kernelDtype(lookup.resolve(partner).type) !== own) return 'F32';
  return own;
}

function kernelDtype(type: number): string {
  const layout = layoutOfGgmlType(type);
  return layout === 'f16' || (layout !== null && isQuantLayout(layout)) ? layout.toUpperCase() : 'F32';
}

/** The projection stacked with `name` in one GPU matrix (gate <-> up), if any. */
function stackedPartner(name: string): string | null {
  if (name.endsWith('.gate_proj.weight')) return name.replace(/\.gate_proj\.weight$/, '.up_proj.weight');
  if (name.endsWith('.up_proj.weight')) return name.replace(/\.up_proj\.weight$/, '.gate_proj.weight');
  return null;
}
