// Upload the vision tower and the resampler (f32 for now). The fused qkv matrix is split into
// its q, k and v row blocks so each projection writes its own [patches, hidden] buffer: a large
// image's fused [patches, 3 * hidden] output would not fit one storage binding.
import { ErnieError } from '../../errors.js';
import type { GpuContext } from '../../gpu/context.js';
import type { GpuWeight } from '../../kernels/common.js';
import type { WeightSource } from '../ernie45/weights.js';
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
  const matrix = async (name: string): Promise<GpuWeight> => {
    const [rows, cols] = shapes.get(name)!;
    return { buffer: ctx.upload(name, await read(name)), dtype: 'f32', rows, cols };
  };
  const affine = async (x: { weight: string; bias: string }): Promise<Affine> => ({ w: await matrix(x.weight), b: await vec(x.bias) });
  const norm = async (x: { weight: string; bias: string }): Promise<Norm> => ({ w: await vec(x.weight), b: await vec(x.bias) });

  const vn = visionNames(prefix), D = cfg.vision.hiddenSize;
  const blocks: VisionBlockWeights[] = [];
  for (let j = 0; j < cfg.vision.depth; j++) {
    const b = vn.block(j);
    const qkvW = await read(b.qkv.weight), qkvB = await read(b.qkv.bias);
    const part = (i: number): Affine => ({
      w: { buffer: ctx.upload(`${b.qkv.weight}[${i}]`, qkvW.subarray(i * D * D, (i + 1) * D * D)), dtype: 'f32', rows: D, cols: D },
      b: ctx.upload(`${b.qkv.bias}[${i}]`, qkvB.subarray(i * D, (i + 1) * D)),
    });
    blocks.push({ norm1: await norm(b.norm1), q: part(0), k: part(1), v: part(2), proj: await affine(b.proj), norm2: await norm(b.norm2), fc1: await affine(b.fc1), fc2: await affine(b.fc2) });
  }
  const vision: VisionWeights = { patchEmbed: await matrix(vn.patchEmbed), blocks, finalNorm: await norm(vn.finalNorm) };
  const r = resamplerNames;
  const mlp = async (x: typeof r.spatial): Promise<ResamplerMlpWeights> => ({ fc1: await affine(x.fc1), fc2: await affine(x.fc2), norm: await norm(x.norm) });
  const [M, M2] = shapes.get(r.temporal.fc1.weight)!;
  const t1 = await read(r.temporal.fc1.weight); // [M, 2M]
  const half = (first: boolean): GpuWeight => {
    const out = new Float32Array(M * M);
    for (let row = 0; row < M; row++) out.set(t1.subarray(row * M2 + (first ? 0 : M), row * M2 + (first ? M : M2)), row * M);
    return { buffer: ctx.upload(`${r.temporal.fc1.weight}[${first ? 'first' : 'second'} frame]`, out), dtype: 'f32', rows: M, cols: M };
  };
  const temporal: TemporalMlpWeights = {
    fc1First: half(true), fc1Second: half(false), fc1Bias: await vec(r.temporal.fc1.bias), fc2: await affine(r.temporal.fc2), norm: await norm(r.temporal.norm),
  };
  const resampler: ResamplerWeights = { spatial: await mlp(r.spatial), temporal, mlp: await affine(r.mlp), afterNorm: await vec(r.afterNorm) };
  return { vision, resampler };
}
