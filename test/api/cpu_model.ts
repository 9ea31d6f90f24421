// A LanguageModel on the CPU for the API tests: the f64 reference ops (test/reference/ops.ts)
// run incrementally with a KV cache, so a step costs one token, not the whole sequence
// (cpu_model.test.ts checks the logits against referenceForward). Sampling follows
// SampleStep through src/sampling/cpu_sampler.ts. Counters let tests measure what the
// engine asked for: forward calls, tokens prefilled, samples.

import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { LanguageModel, SampleStep, TokenLogprobs } from '../../src/engine/language_model';
import { throwIfAborted } from '../../src/errors';
import { SafetensorsFile } from '../../src/formats/safetensors';
import { fromPath } from '../../src/formats/node_source';
import { type ErnieConfig, parseConfig, weightNames } from '../../src/model/ernie45/config';
import { sampleLogits } from '../../src/sampling/cpu_sampler';
import * as ops from '../reference/ops';
import { logSoftmax, topLogprobs } from '../reference/logprobs_ref';
import { type RefKvCache, referenceLayer } from '../reference/forward_ref';

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
  onSample: ((id: number, params: SampleStep) => void) | null = null;

  private readonly cfg: ErnieConfig;
  private readonly w: (name: string) => Float32Array;
  private tokens: number[] = [];
  /** Per layer: [contextLength, kvHeads, headDim] keys (after RoPE) and values. */
  private readonly kv: RefKvCache;
  private logits: Float64Array | null = null;
  private logprobsOfLast: TokenLogprobs | null = null;
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
    const layers = () => Array.from({ length: this.cfg.numLayers }, () => new Float64Array(this.contextLength * row));
    this.kv = { keys: layers(), values: layers() };
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
    const T = ids.length, Hd = cfg.hiddenSize;
    const h = ops.embedding(w(weightNames.embed), Hd, [...ids]);
    for (let l = 0; l < cfg.numLayers; l++) {
      referenceLayer(cfg, w, l, h, T, start, this.kv);
      throwIfAborted(signal);
    }
    const last = h.subarray((T - 1) * Hd, T * Hd);
    const hn = ops.rmsnorm(last, w(weightNames.finalNorm), 1, Hd, cfg.rmsNormEps);
    const head = cfg.tieWordEmbeddings ? w(weightNames.embed) : w(weightNames.lmHead);
    // Only the real rows: the head is [vocab, hidden], so its first rows are the real tokens.
    this.logits = ops.matmul(hn, head, 1, Hd, this.vocabSize);
    this.tokens = [...this.tokens, ...ids];
  }

  async sample(params: SampleStep): Promise<number> {
    if (!this.logits) throw new Error('sample() before forward()');
    this.sampleCalls++;
    const id = sampleLogits(this.logits, this.vocabSize, params);
    if (id < 0) throw new Error('every token is masked');
    const top = params.logprobs ?? null;
    this.logprobsOfLast = top === null ? null : { logprob: logSoftmax(this.logits)[id]!, top: topLogprobs(this.logits, top) };
    this.onSample?.(id, params);
    return id;
  }

  lastLogprobs(): TokenLogprobs | null {
    return this.logprobsOfLast;
  }

  dispose(): void {
    this.disposed = true;
  }
}
