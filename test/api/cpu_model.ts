// A LanguageModel on the CPU for the API tests: the f64 reference ops (test/reference/ops.ts)
// run incrementally with a KV cache, so a step costs one token, not the whole sequence
// (cpu_model.test.ts checks the logits against referenceForward). Sampling follows
// SamplingParams through src/sampling/cpu_sampler.ts. Counters let tests measure what the
// engine asked for: forward calls, tokens prefilled, samples.

import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { LanguageModel, SamplingParams } from '../../src/engine/language_model';
import { throwIfAborted } from '../../src/errors';
import { SafetensorsFile } from '../../src/formats/safetensors';
import { fromPath } from '../../src/formats/node_source';
import { type ErnieConfig, isMoeLayer, parseConfig, weightNames } from '../../src/model/ernie45/config';
import { sampleLogits } from '../../src/sampling/cpu_sampler';
import * as ops from '../reference/ops';

export const TINY_MODEL_DIR = fileURLToPath(new URL('../fixtures/ernie45-moe-tiny/', import.meta.url));

export interface CpuModelOptions {
  /** Real vocabulary (the tokenizer's); ids at or above it are padding and never sampled. */
  vocabSize?: number;
  contextLength?: number;
}

export interface TinyWeights {
  config: ErnieConfig;
  weights: Map<string, Float32Array>;
}

let cached: Promise<TinyWeights> | null = null;

/** The tiny fixture's config and every tensor as f32 (read once per test file). */
export function loadTinyWeights(dir = TINY_MODEL_DIR): Promise<TinyWeights> {
  cached ??= (async () => {
    const config = parseConfig(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')));
    const file = await SafetensorsFile.open(fromPath(join(dir, 'model.safetensors')));
    const weights = new Map<string, Float32Array>();
    for (const name of file.names()) weights.set(name, await file.readF32(name));
    return { config, weights };
  })();
  return cached;
}

export class CpuModel implements LanguageModel {
  readonly contextLength: number;
  readonly vocabSize: number;
  /** forward() calls and the ids of each. */
  readonly forwardLog: number[][] = [];
  sampleCalls = 0;
  /** Called at the start of every forward (tests abort from here). */
  onForward: ((ids: readonly number[]) => void) | null = null;
  /** Called with each sampled id. */
  onSample: ((id: number, params: SamplingParams) => void) | null = null;

  private readonly cfg: ErnieConfig;
  private readonly w: (name: string) => Float32Array;
  private tokens: number[] = [];
  /** Per layer: [contextLength, kvHeads, headDim] keys (after RoPE) and values. */
  private readonly keys: Float64Array[];
  private readonly values: Float64Array[];
  private logits: Float64Array | null = null;
  private disposed = false;

  constructor(tw: TinyWeights, options: CpuModelOptions = {}) {
    this.cfg = tw.config;
    this.w = (name) => {
      const t = tw.weights.get(name);
      if (!t) throw new Error(`missing tensor ${name}`);
      return t;
    };
    this.vocabSize = Math.min(options.vocabSize ?? this.cfg.vocabSize, this.cfg.vocabSize);
    this.contextLength = options.contextLength ?? this.cfg.maxPositions;
    const row = this.cfg.numKvHeads * this.cfg.headDim;
    this.keys = Array.from({ length: this.cfg.numLayers }, () => new Float64Array(this.contextLength * row));
    this.values = Array.from({ length: this.cfg.numLayers }, () => new Float64Array(this.contextLength * row));
  }

  static async load(options: CpuModelOptions = {}): Promise<CpuModel> {
    return new CpuModel(await loadTinyWeights(), options);
  }

  get forwardCalls(): number {
    return this.forwardLog.length;
  }

  /** Tokens prefilled or decoded so far, over all calls. */
  get forwardedTokens(): number {
    return this.forwardLog.reduce((s, ids) => s + ids.length, 0);
  }

  /** The last forward's logits (padding rows excluded). */
  lastLogits(): Float64Array {
    if (!this.logits) throw new Error('no forward yet');
    return this.logits;
  }

  cachedTokens(): readonly number[] {
    return this.tokens;
  }

  truncate(length: number): void {
    if (length < this.tokens.length) this.tokens = this.tokens.slice(0, Math.max(0, length));
    this.logits = null;
  }

  async forward(ids: readonly number[], signal?: AbortSignal): Promise<void> {
    if (this.disposed) throw new Error('model disposed');
    this.forwardLog.push([...ids]);
    this.onForward?.(ids);
    throwIfAborted(signal);
    if (ids.length === 0) throw new Error('forward of no tokens');
    const start = this.tokens.length;
    if (start + ids.length > this.contextLength) throw new Error(`KV cache overflow: ${start} + ${ids.length} > ${this.contextLength}`);
    for (const id of ids) if (!Number.isInteger(id) || id < 0 || id >= this.cfg.vocabSize) throw new Error(`bad token id ${id}`);

    const cfg = this.cfg, w = this.w;
    const T = ids.length, Hd = cfg.hiddenSize, H = cfg.numHeads, KVH = cfg.numKvHeads, D = cfg.headDim;
    const positions = ids.map((_, i) => start + i);
    const h = ops.embedding(w(weightNames.embed), Hd, [...ids]);
    for (let l = 0; l < cfg.numLayers; l++) {
      const n = weightNames.layer(l);
      const a = ops.rmsnorm(h, w(n.inputNorm), T, Hd, cfg.rmsNormEps);
      const q = ops.rope(ops.matmul(a, w(n.q), T, Hd, H * D), T, H, D, positions, cfg.ropeTheta);
      const k = ops.rope(ops.matmul(a, w(n.k), T, Hd, KVH * D), T, KVH, D, positions, cfg.ropeTheta);
      const v = ops.matmul(a, w(n.v), T, Hd, KVH * D);
      this.keys[l]!.set(k, start * KVH * D);
      this.values[l]!.set(v, start * KVH * D);
      const S = start + T;
      const att = ops.attention(q, this.keys[l]!.subarray(0, S * KVH * D), this.values[l]!.subarray(0, S * KVH * D), T, start, H, KVH, D);
      const o = ops.matmul(att, w(n.o), T, H * D, Hd);
      for (let i = 0; i < h.length; i++) h[i]! += o[i]!;
      const m = ops.rmsnorm(h, w(n.postNorm), T, Hd, cfg.rmsNormEps);
      const f = isMoeLayer(cfg, l) ? this.moe(l, m, T) : ops.swiglu(m, w(n.gate), w(n.up), w(n.down), T, Hd, cfg.intermediateSize);
      for (let i = 0; i < h.length; i++) h[i]! += f[i]!;
      throwIfAborted(signal);
    }
    const last = h.subarray((T - 1) * Hd, T * Hd);
    const hn = ops.rmsnorm(last, w(weightNames.finalNorm), 1, Hd, cfg.rmsNormEps);
    const head = cfg.tieWordEmbeddings ? w(weightNames.embed) : w(weightNames.lmHead);
    // Only the real rows: the head is [vocab, hidden], so its first rows are the real tokens.
    this.logits = ops.matmul(hn, head, 1, Hd, this.vocabSize);
    this.tokens = [...this.tokens, ...ids];
  }

  async sample(params: SamplingParams): Promise<number> {
    if (!this.logits) throw new Error('sample() before forward()');
    this.sampleCalls++;
    const id = sampleLogits(this.logits, this.vocabSize, params);
    if (id < 0) throw new Error('every token is masked');
    this.onSample?.(id, params);
    return id;
  }

  dispose(): void {
    this.disposed = true;
  }

  private moe(l: number, x: Float64Array, T: number): Float64Array {
    const cfg = this.cfg, w = this.w, m = cfg.moe!, Hd = cfg.hiddenSize, n = weightNames.layer(l);
    const logits = ops.matmul(x, w(n.router), T, Hd, m.numExperts);
    const bias = this.has(n.routerBias) ? w(n.routerBias) : null;
    const { ids, weights } = ops.route(logits, bias, T, m.numExperts, m.topK, m.normMin);
    const out = m.sharedIntermediateSize > 0
      ? ops.swiglu(x, w(n.sharedGate), w(n.sharedUp), w(n.sharedDown), T, Hd, m.sharedIntermediateSize)
      : new Float64Array(T * Hd);
    for (let t = 0; t < T; t++) {
      const xt = x.subarray(t * Hd, (t + 1) * Hd);
      for (let j = 0; j < m.topK; j++) {
        const e = ids[t * m.topK + j]!;
        const y = ops.swiglu(xt, w(n.expertGate(e)), w(n.expertUp(e)), w(n.expertDown(e)), 1, Hd, m.expertIntermediateSize);
        for (let i = 0; i < Hd; i++) out[t * Hd + i]! += weights[t * m.topK + j]! * y[i]!;
      }
    }
    return out;
  }

  private has(name: string): boolean {
    try {
      this.w(name);
      return true;
    } catch {
      return false;
    }
  }
}
