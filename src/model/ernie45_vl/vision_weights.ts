// Upload the vision tower and the resampler. Matrices keep their stored format (f16, or a
// package's quantized layout such as q8_0: the matmul kernels read it as it is; BF16 and F32
// checkpoints go up as f32); biases and norms are f32. The fused qkv matrix is split into its
// q, k and v row blocks so each projection writes its own [patches, hidden] buffer: a large
// image's fused [patches, 3 * hidden] output would not fit one storage binding.
import { ErnieError } from '../../errors.js';
import type { GpuContext } from '../../gpu/context.js';
import type { GpuWeight } from '../../kernels/common.js';
import { LAYOUTS, type LayoutId, rowBytes } from '../../quant/layouts.js';
import { type WeightSource, storedDtype } from '../ernie45/weights.js';
import type { ErnieVlConfig } from './config.js';
import { type VisionPrefix, expectedVlTensors, resamplerNames, visionNames } from './tensors.js';

export interface Affine {
  /** [out, in] */
  w: GpuWeight;
  /** [out] f32 */
  b: GPUBuffer;
}

export interface Norm {
  w: GPUBuffer;
  b: GPUBuffer;
}

export interface VisionBlockWeights {
  norm1: Norm;
  q: Affine;
  k: Affine;
  v: Affine;
  proj: Affine;
  norm2: Norm;
  fc1: Affine;
  fc2: Affine;
}

export interface VisionWeights {
  /** [hidden, C * p * p], no bias */
  patchEmbed: GpuWeight;
  blocks: VisionBlockWeights[];
  finalNorm: Norm;
}

export interface ResamplerMlpWeights {
  fc1: Affine;
  fc2: Affine;
  norm: Norm;
}

/**
 * The temporal MLP's first layer [M, 2M] split by input halves into two [M, M] matrices (the
 * first frame's and the second frame's columns): y = W1 x1 + W2 x2 + b. No [rows, 2M] input is
 * ever built, and for the 28B the f32 halves (105 MB) fit a default binding where [M, 2M] does not.
 */
export interface TemporalMlpWeights {
  fc1First: GpuWeight;
  fc1Second: GpuWeight;
  fc1Bias: GPUBuffer;
  fc2: Affine;
  norm: Norm;
}

export interface ResamplerWeights {
  spatial: ResamplerMlpWeights;
  temporal: TemporalMlpWeights;
  mlp: Affine;
  /** [text hidden] f32 RMSNorm weight */
  afterNorm: GPUBuffer;
}

export async function loadVisionWeights(
  ctx: GpuContext,
  cfg: ErnieVlConfig,
  src: WeightSource,
  prefix: VisionPrefix,
  signal?: AbortSignal,
): Promise<{ vision: VisionWeights; resampler: ResamplerWeights }> {
  const shapes = new Map(expectedVlTensors(cfg, prefix).filter((t) => t.part !== 'text').map((t) => [t.name, t.shape]));
  for (const [name, shape] of shapes) {
    if (!src.has(name)) throw new ErnieError('MISSING_TENSOR', `checkpoint has no tensor "${name}", which the VL config needs`);
    const got = src.info(name).shape;
    if (got.join() !== shape.join()) throw new ErnieError('SHAPE_MISMATCH', `${name}: shape [${got}] but the config implies [${shape}]`);
  }
  const read = (name: string) => src.readF32(name, signal);
  const vec = async (name: string) => ctx.upload(name, await read(name));
  /** A matrix's bytes in the format it is kept in on the GPU, and its bytes per row. */
  const stored = async (name: string): Promise<{ dtype: GpuWeight['dtype']; bytes: Uint8Array; rowBytes: number }> => {
    const dtype = storedDtype(src, name), cols = shapes.get(name)![1];
    if (dtype === 'f32') { const f = await read(name); return { dtype, bytes: new Uint8Array(f.buffer, f.byteOffset, f.byteLength), rowBytes: cols * 4 }; }
    return { dtype, bytes: await src.readRaw(name, signal), rowBytes: rowBytes(dtype as LayoutId, cols) };
  };
  const matrix = async (name: string): Promise<GpuWeight> => {
    const [rows, cols] = shapes.get(name)!;
    const m = await stored(name);
    return { buffer: ctx.upload(name, m.bytes), dtype: m.dtype, rows, cols };
  };
  const affine = async (x: { weight: string; bias: string }): Promise<Affine> => ({ w: await matrix(x.weight), b: await vec(x.bias) });
  const norm = async (x: { weight: string; bias: string }): Promise<Norm> => ({ w: await vec(x.weight), b: await vec(x.bias) });

  const vn = visionNames(prefix), D = cfg.vision.hiddenSize;
  const blocks: VisionBlockWeights[] = [];
  for (let j = 0; j < cfg.vision.depth; j++) {
    const b = vn.block(j);
    const qkvW = await stored(b.qkv.weight), qkvB = await read(b.qkv.bias);
    const part = (i: number): Affine => ({
      w: { buffer: ctx.upload(`${b.qkv.weight}[${i}]`, qkvW.bytes.subarray(i * D * qkvW.rowBytes, (i + 1) * D * qkvW.rowBytes)), dtype: qkvW.dtype, rows: D, cols: D },
      b: ctx.upload(`${b.qkv.bias}[${i}]`, qkvB.subarray(i * D, (i + 1) * D)),
    });
    blocks.push({ norm1: await norm(b.norm1), q: part(0), k: part(1), v: part(2), proj: await affine(b.proj), norm2: await norm(b.norm2), fc1: await affine(b.fc1), fc2: await affine(b.fc2) });
  }
  const vision: VisionWeights = { patchEmbed: await matrix(vn.patchEmbed), blocks, finalNorm: await norm(vn.finalNorm) };
  const r = resamplerNames;
  const mlp = async (x: typeof r.spatial): Promise<ResamplerMlpWeights> => ({ fc1: await affine(x.fc1), fc2: await affine(x.fc2), norm: await norm(x.norm) });
  const [M] = shapes.get(r.temporal.fc1.weight)!;
  // Each [M, 2M] row splits into its two halves: whole blocks when the layout's blocks tile M
  // (f16, q8_0 with M % 32 = 0, ...), else the f32 values.
  const t1name = r.temporal.fc1.weight, t1dtype = storedDtype(src, t1name);
  const splits = t1dtype === 'f32' || M % (t1dtype === 'f16' ? 1 : LAYOUTS[t1dtype as LayoutId].blockValues) === 0;
  const t1 = splits ? await stored(t1name) : await (async () => { const f = await read(t1name); return { dtype: 'f32' as const, bytes: new Uint8Array(f.buffer, f.byteOffset, f.byteLength), rowBytes: 2 * M * 4 }; })();
  const half = (first: boolean): GpuWeight => {
    const hb = t1.rowBytes / 2, out = new Uint8Array(M * hb);
    for (let row = 0; row < M; row++) out.set(t1.bytes.subarray(row * t1.rowBytes + (first ? 0 : hb), row * t1.rowBytes + (first ? hb : 2 * hb)), row * hb);
    return { buffer: ctx.upload(`${t1name}[${first ? 'first' : 'second'} frame]`, out), dtype: t1.dtype, rows: M, cols: M };
  };
  const temporal: TemporalMlpWeights = {
    fc1First: half(true), fc1Second: half(false), fc1Bias: await vec(r.temporal.fc1.bias), fc2: await affine(r.temporal.fc2), norm: await norm(r.temporal.norm),
  };
  const resampler: ResamplerWeights = { spatial: await mlp(r.spatial), temporal, mlp: await affine(r.mlp), afterNorm: await vec(r.afterNorm) };
  return { vision, resampler };
}
