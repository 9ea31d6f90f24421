// Where weights come from (WeightSource) and the checks every reader of it shares: how a
// stored dtype is kept on the GPU, and where a tensor holds NaN or infinity.
import type { GpuWeight } from '../../kernels/common.js';
import { isQuantLayout } from '../../kernels/matmul_q.js';

/** Where weights come from: a safetensors checkpoint, a GGUF file, a package. HF names. */
export interface WeightSource {
  /** The file errors about the whole checkpoint name (model.safetensors, the .gguf, manifest.json). */
  readonly name?: string;
  has(name: string): boolean;
  /**
   * Shape in HF layout ([out, in] for matrices), the stored dtype ('F32', 'F16', 'BF16', ...)
   * and, when known, the file holding the tensor's bytes.
   */
  info(name: string): { shape: number[]; dtype: string; file?: string };
  readF32(name: string, signal?: AbortSignal): Promise<Float32Array>;
  readRaw(name: string, signal?: AbortSignal): Promise<Uint8Array>;
}

export type StoredDtype = GpuWeight['dtype'];

/**
 * How a matrix is kept on the GPU: quantized package layouts as they are (the kernels
 * dequantise in registers), F16 as f16 (read without shader-f16), everything else as f32.
 */
export function storedDtype(src: WeightSource, name: string): StoredDtype {
  const dtype = src.info(name).dtype;
  if (dtype === 'F16') return 'f16';
  const layout = dtype.toLowerCase();
  return isQuantLayout(layout) ? layout : 'f32';
}

/** Index of the first NaN or infinity (exponent bits all ones), or -1. */
export function firstNonFiniteF32(data: Float32Array): number {
  const bits = new Uint32Array(data.buffer, data.byteOffset, data.length);
  for (let i = 0; i < bits.length; i++) if ((bits[i]! & 0x7f800000) === 0x7f800000) return i;
  return -1;
}

/** The same for IEEE halves stored as raw bytes. */
export function firstNonFiniteF16(raw: Uint8Array): number {
  const n = raw.byteLength >> 1;
  const halves = raw.byteOffset % 2 === 0 ? new Uint16Array(raw.buffer, raw.byteOffset, n) : new Uint16Array(raw.slice().buffer, 0, n);
  for (let i = 0; i < n; i++) if ((halves[i]! & 0x7c00) === 0x7c00) return i;
  return -1;
}
