// Where routed experts' weights come from: the one small interface the expert caches read
// through. Adapters: a package folder or URL (verified per-expert shards), any WeightSource
// (HF safetensors, GGUF; model/ernie45/expert_source.ts), and later the model store.
import type { GpuWeight } from '../kernels/common.js';
import { expertSlotBytes } from '../kernels/moe.js';

/** How one matrix of an expert is stored on the GPU: [rows, cols] in `dtype`. */
export interface ExpertMatrixFormat {
  dtype: GpuWeight['dtype'];
  rows: number;
  cols: number;
}

/** The stored format of a MoE layer's experts (every expert of a layer shares it). */
export interface ExpertFormat {
  /** [2*inter, hidden]: gate rows, then up rows */
  gateUp: ExpertMatrixFormat;
  /** [hidden, inter] */
  down: ExpertMatrixFormat;
}

/** One expert's bytes, as the kernels read them (gate rows then up rows; down). */
export interface ExpertBytes {
  gateUp: Uint8Array;
  down: Uint8Array;
}

export interface ExpertSource {
  /** MoE layers (model layer indices) whose experts this source holds, in order. */
  readonly layers: readonly number[];
  readonly experts: number;
  /** Experts each token uses per layer. */
  readonly topK: number;
  /** The format of layer `layer`'s experts (a model layer index). */
  format(layer: number): ExpertFormat;
  /**
   * Expert `expert` of model layer `layer`, verified where the source can verify (package
   * shards are checked against their SHA-256). Typed errors when missing or corrupt.
   */
  read(layer: number, expert: number, signal?: AbortSignal): Promise<ExpertBytes>;
}

export function formatKey(f: ExpertFormat): string {
  return `${f.gateUp.dtype}[${f.gateUp.rows},${f.gateUp.cols}]+${f.down.dtype}[${f.down.rows},${f.down.cols}]`;
}

/** Bytes one expert takes in the GPU cache (both matrices, each slot rounded up to 4 bytes). */
export function expertBytes(f: ExpertFormat): number {
  return expertSlotBytes(f.gateUp.dtype, f.gateUp.rows, f.gateUp.cols) + expertSlotBytes(f.down.dtype, f.down.rows, f.down.cols);
}
