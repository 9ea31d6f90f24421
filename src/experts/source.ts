// Where routed experts' weights come from: the one small interface the expert caches read
// through. Adapters: a package folder or URL (verified per-expert shards), any WeightSource
// (HF safetensors, GGUF; model/ernie45/expert_source.ts), and later the model store.
//
// A MoE layer holds one or more expert sets, each with its own router and stored format: text
// models have one; ERNIE-4.5-VL has two (set 0 text, set 1 vision, whose experts have their own
// intermediate size). The caches keep a row per (layer, set); `read` numbers a layer's experts
// across its sets as the package does (set s, expert e -> s * experts + e).
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
  /** Experts each token uses per layer (and set). */
  readonly topK: number;
  /** Expert sets per MoE layer, each of `experts` experts (default 1; ERNIE-4.5-VL: 2, text then vision). */
  readonly sets?: number;
  /** The format of the experts of set `set` (default 0) of layer `layer` (a model layer index). */
  format(layer: number, set?: number): ExpertFormat;
  /**
   * Expert `expert` of model layer `layer` (numbered across the layer's sets: set s's expert e
   * is s * experts + e), verified where the source can verify (package shards are checked
   * against their SHA-256). Typed errors when missing or corrupt.
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

/** Expert sets per MoE layer of a source (1 unless it says otherwise). */
export function setsOf(src: ExpertSource): number {
  return src.sets ?? 1;
}

/**
 * One source over several single-set sources of the same layers, experts and top-k: set s is
 * `sets[s]` (its expert e is read as s * experts + e). The VL model's text and vision experts
 * stream through one cache this way.
 */
export function expertSets(sets: readonly ExpertSource[]): ExpertSource {
  const [first] = sets;
  if (!first) throw new Error('expertSets: no sets');
  for (const s of sets) {
    if (setsOf(s) !== 1 || s.experts !== first.experts || s.topK !== first.topK || s.layers.join() !== first.layers.join()) {
      throw new Error('expertSets: every set must be a single set over the same layers, expert count and top-k');
    }
  }
  const E = first.experts;
  const setOf = (set: number | undefined) => {
    const s = sets[set ?? 0];
    if (!s) throw new Error(`expert set ${set} of ${sets.length}`);
    return s;
  };
  return {
    layers: first.layers,
    experts: E,
    topK: first.topK,
    sets: sets.length,
    format: (layer, set) => setOf(set).format(layer),
    read: (layer, expert, signal) => setOf(Math.floor(expert / E)).read(layer, expert % E, signal),
  };
}
