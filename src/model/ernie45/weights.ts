// Upload an ERNIE 4.5 checkpoint to the GPU, tensor by tensor, into the layout the kernels
// read: q/k/v/o as they are; gate and up side by side ([2*inter, hidden]) so one matmul
// computes both. Routed experts go to the expert cache (src/experts/), which uploads all of
// them now when its GPU budget holds them, or streams them as the router picks them.
import { ErnieError, FileFormatError, GpuError } from '../../errors.js';
import type { GpuContext } from '../../gpu/context.js';
import type { GpuWeight } from '../../kernels/common.js';
import type { VocabMatrix } from './vocab_matrix.js';
import { rowBytes } from '../../quant/layouts.js';
import { type ErnieConfig, isMoeLayer, weightNames } from './config.js';
import { expectedTensors } from '../../package/tensors.js';
import type { ExpertCacheOptions } from '../../experts/budget.js';
import { ExpertScheduler } from '../../experts/scheduler.js';
import { type ExpertSource, setsOf } from '../../experts/source.js';
import { weightSourceExperts } from './expert_source.js';
import { firstNonFiniteF16, firstNonFiniteF32, storedDtype, type StoredDtype, type WeightSource } from './weight_source.js';

export { firstNonFiniteF16, firstNonFiniteF32, storedDtype, type WeightSource } from './weight_source.js';


export interface FfnWeights {
  /** [2*inter, hidden]: gate rows, then up rows */
  gateUp: GpuWeight;
  /** [hidden, inter] */
  down: GpuWeight;
}

export interface MoeWeights {
  /** [experts, hidden] f32 (routing is computed in f32 on purpose) */
  router: GpuWeight;
  /** [experts] f32 correction bias (zeros when the checkpoint has none) */
  routerBias: GPUBuffer;
  shared: FfnWeights | null;
  /**
   * Which expert set of the layer this router picks from in the expert cache (ModelWeights.experts):
   * 0 (default) for text models' experts and the VL model's text experts, 1 for its vision experts.
   */
  expertSet?: number;
}

export interface LayerWeights {
  inputNorm: GPUBuffer; // [hidden] f32
  postNorm: GPUBuffer; // [hidden] f32
  q: GpuWeight; // [heads*headDim, hidden]
  k: GpuWeight; // [kvHeads*headDim, hidden]
  v: GpuWeight; // [kvHeads*headDim, hidden]
  o: GpuWeight; // [hidden, heads*headDim]
  dense: FfnWeights | null;
  moe: MoeWeights | null;
}

export interface ModelWeights {
  embed: VocabMatrix; // [vocab, hidden], in row blocks that fit a binding
  finalNorm: GPUBuffer; // [hidden] f32
  lmHead: VocabMatrix; // [vocab, hidden]; the embedding itself when tied
  layers: LayerWeights[];
  /** The routed experts: GPU slot cache + RAM tier + scheduler (null for a model without MoE layers). */
  experts: ExpertScheduler | null;
}

export interface LoadProgress {
  tensorsDone: number;
  tensorsTotal: number;
  bytesUploaded: number;
}


function storedBytes(dtype: StoredDtype, rows: number, cols: number): number {
  if (dtype === 'f16') return rows * cols * 2;
  if (dtype === 'f32') return rows * cols * 4;
  return rows * rowBytes(dtype, cols);
}

export async function loadWeights(
  ctx: GpuContext,
  cfg: ErnieConfig,
  src: WeightSource,
  opts: {
    signal?: AbortSignal;
    onProgress?: (p: LoadProgress) => void;
    maxBindingBytes?: number;
    /** GPU / RAM budgets of the expert cache (default: src/experts/budget.ts). */
    expertCache?: ExpertCacheOptions;
    /** Where routed experts are read from (default: `src`, tensor by tensor; packages pass verified shards; VL: text and vision sets). */
    experts?: ExpertSource;
    /** Largest number of tokens one forward step processes (sizes the expert-id readback). */
    maxBatch?: number;
  } = {},
): Promise<ModelWeights> {
  const maxBinding = Math.min(opts.maxBindingBytes ?? Infinity, ctx.limits.maxStorageBufferBindingSize);
  const expect = expectedShapes(cfg);
  const where = src.name ?? 'the checkpoint';
  const missing = [...expect.keys()].filter((n) => !src.has(n));
  if (missing.length) {
    throw new ErnieError('MISSING_TENSOR', `${where}: lacks ${missing.length} tensor(s) the config needs, e.g. ${missing.slice(0, 3).join(', ')}`);
  }
  const fileOf = (name: string) => src.info(name).file ?? where;
  for (const [name, shape] of expect) {
    const got = src.info(name).shape;
    // Rank and every dim: a [1, 128, 128] or [16384] q_proj has the right element count, not the right shape.
    if (got.length !== shape.length || !got.every((d, i) => d === shape[i])) {
      throw new ErnieError('SHAPE_MISMATCH', `${fileOf(name)}: tensor "${name}" has shape [${got}], but the config implies [${shape}]`);
    }
  }
  for (let l = 0; l < cfg.numLayers; l++) {
    const bias = weightNames.layer(l).routerBias;
    if (!isMoeLayer(cfg, l) || !src.has(bias)) continue;
    // [E] or, as the text checkpoints store it, [1, E].
    const got = src.info(bias).shape, E = cfg.moe!.numExperts;
    if (!(got.length === 1 && got[0] === E) && !(got.length === 2 && got[0] === 1 && got[1] === E)) {
      throw new ErnieError('SHAPE_MISMATCH', `${fileOf(bias)}: tensor "${bias}" has shape [${got}], but the config implies [${E}] (or [1, ${E}])`);
    }
  }
  /** A NaN or infinity in a weight would turn every logit into NaN: refuse it, naming the tensor. */
  const finite = <T extends Float32Array | Uint8Array>(name: string, data: T, dtype: StoredDtype): T => {
    const bad = dtype === 'f32' ? firstNonFiniteF32(data as Float32Array) : dtype === 'f16' ? firstNonFiniteF16(data as Uint8Array) : -1;
    if (bad >= 0) throw new FileFormatError(fileOf(name), `tensor "${name}" holds a NaN or infinite value (element ${bad}); the file is damaged`);
    return data;
  };
  const biases = [...Array(cfg.numLayers).keys()].filter((l) => isMoeLayer(cfg, l) && src.has(weightNames.layer(l).routerBias)).length;
  const expertSource = cfg.moe ? opts.experts ?? weightSourceExperts(cfg, src) : null;
  // slot buffers first: a budget too small for one layer's top-k fails before any upload
  const experts = expertSource ? new ExpertScheduler(ctx, expertSource, { ...opts.expertCache, maxBindingBytes: maxBinding, maxTokens: opts.maxBatch }) : null;
  // expert tensors (every set's: a VL source holds vision experts too) count as loaded only when
  // the cache holds them all (then they are uploaded at the end)
  const listedExperts = expectedTensors(cfg).filter((t) => t.role === 'expert').length;
  const expertTensors = expertSource && experts?.holdsAll ? 3 * expertSource.layers.length * setsOf(expertSource) * expertSource.experts : 0;
  const total = expect.size - listedExperts + expertTensors + biases;
  let done = 0;
  let bytes = 0;
  const tick = (n: number) => {
    done++;
    bytes += n;
    opts.onProgress?.({ tensorsDone: done, tensorsTotal: total, bytesUploaded: bytes });
  };

  /**
   * Read tensors and write them one after another (row blocks) into one new buffer. Stored
   * bytes go up as they are; f32 is decoded from any source dtype. Quantized rows can have
   * lengths that are not multiples of 4 bytes, which writeBuffer offsets must be: those are
   * staged on the CPU first.
   */
  const stack = async (label: string, names: string[], dtype: StoredDtype, rows: number, cols: number): Promise<GpuWeight> => {
    const total = storedBytes(dtype, rows, cols);
    if (total > maxBinding) throw new GpuError('GPU_LIMIT', `${label}: ${total} bytes exceed the storage binding limit of ${maxBinding} bytes`);
    const buffer = ctx.createBuffer(label, total);
    const staging = total % 4 === 0 && names.every((n) => storedBytes(dtype, src.info(n).shape[0], cols) % 4 === 0) ? null : new Uint8Array(total);
    let offset = 0;
    for (const name of names) {
      const data = finite(name, dtype === 'f32' ? await src.readF32(name, opts.signal) : await src.readRaw(name, opts.signal), dtype);
      if (staging) staging.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), offset);
      else ctx.write(buffer, data, offset);
      offset += data.byteLength;
      tick(data.byteLength);
    }
    if (staging) ctx.write(buffer, staging);
    return { buffer, dtype, rows, cols };
  };
  const matrix = (name: string) => {
    const [rows, cols] = src.info(name).shape;
    return stack(name, [name], storedDtype(src, name), rows, cols);
  };
  const vector = async (name: string) => {
    const data = finite(name, await src.readF32(name, opts.signal), 'f32');
    tick(data.byteLength);
    return ctx.upload(name, data);
  };
  /** Matrices stacked into one buffer must share a storage format. */
  const commonDtype = (names: string[]): StoredDtype => {
    const dtypes = new Set(names.map((n) => storedDtype(src, n)));
    if (dtypes.size > 1) throw new ErnieError('UNSUPPORTED', `${fileOf(names[0]!)}: tensor "${names[0]}" and the matrices stacked with it use different formats (${[...dtypes].join(', ')})`);
    return storedDtype(src, names[0]);
  };
  const ffn = async (label: string, gate: string, up: string, down: string): Promise<FfnWeights> => {
    const [inter, hidden] = src.info(gate).shape;
    return {
      gateUp: await stack(`${label}.gate_up`, [gate, up], commonDtype([gate, up]), 2 * inter, hidden),
      down: await matrix(down),
    };
  };

  /** A [vocab, hidden] matrix in row blocks of at most maxBinding bytes. */
  const vocabMatrix = async (name: string): Promise<VocabMatrix> => {
    const [rows, cols] = src.info(name).shape;
    const dtype = storedDtype(src, name);
    const rowSize = storedBytes(dtype, 1, cols);
    if (rows * rowSize <= maxBinding) return { rows, cols, blocks: [{ weight: await matrix(name), rowStart: 0 }] };
    const blockRows = Math.floor(maxBinding / rowSize);
    if (blockRows < 1) throw new GpuError('GPU_LIMIT', `${name}: one row (${rowSize} bytes) exceeds the binding limit of ${maxBinding} bytes`);
    const data = finite(name, dtype === 'f32' ? await src.readF32(name, opts.signal) : await src.readRaw(name, opts.signal), dtype);
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    const blocks: VocabMatrix['blocks'] = [];
    for (let r = 0; r < rows; r += blockRows) {
      const n = Math.min(blockRows, rows - r);
      const buffer = ctx.createBuffer(`${name} rows ${r}..${r + n}`, n * rowSize);
      ctx.write(buffer, bytes.subarray(r * rowSize, (r + n) * rowSize));
      blocks.push({ weight: { buffer, dtype, rows: n, cols }, rowStart: r });
    }
    tick(bytes.byteLength);
    return { rows, cols, blocks };
  };

  const embed = await vocabMatrix(weightNames.embed);
  const layers: LayerWeights[] = [];
  for (let l = 0; l < cfg.numLayers; l++) {
    const n = weightNames.layer(l);
    const layer: LayerWeights = {
      inputNorm: await vector(n.inputNorm),
      postNorm: await vector(n.postNorm),
      q: await matrix(n.q),
      k: await matrix(n.k),
      v: await matrix(n.v),
      o: await matrix(n.o),
      dense: null,
      moe: null,
    };
    if (isMoeLayer(cfg, l)) {
      const m = cfg.moe!;
      const E = m.numExperts, H = cfg.hiddenSize;
      const routerData = finite(n.router, await src.readF32(n.router, opts.signal), 'f32');
      tick(routerData.byteLength);
      layer.moe = {
        router: { buffer: ctx.upload(n.router, routerData), dtype: 'f32', rows: E, cols: H },
        routerBias: src.has(n.routerBias) ? await vector(n.routerBias) : ctx.upload('zero bias', new Float32Array(E)),
        shared: m.sharedIntermediateSize > 0 ? await ffn(`layer ${l} shared`, n.sharedGate, n.sharedUp, n.sharedDown) : null,
      };
    } else {
      layer.dense = await ffn(`layer ${l} mlp`, n.gate, n.up, n.down);
    }
    layers.push(layer);
  }
  const finalNorm = await vector(weightNames.finalNorm);
  const lmHead = cfg.tieWordEmbeddings ? embed : await vocabMatrix(weightNames.lmHead);
  if (experts?.holdsAll) {
    await experts.loadAll(opts.signal, (n) => {
      for (let i = 0; i < 3; i++) tick(n / 3);
    });
  }
  return { embed, finalNorm, lmHead, layers, experts };
}

/**
 * Every tensor the config needs, with the shape it implies (the package's tensor list less the
 * router's correction bias, which checkpoints may omit).
 */
export function expectedShapes(cfg: ErnieConfig): Map<string, number[]> {
  return new Map(expectedTensors(cfg).filter((t) => t.role !== 'router_bias').map((t) => [t.name, t.shape]));
}
