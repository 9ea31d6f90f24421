// Converts an HF checkpoint (safetensors, one file or an index of shards) or a GGUF file into an
// ernie-webgpu package (FORMAT.md), one tensor at a time: at most one core shard (<= 64 MiB by
// default), one expert shard and one chunk of rows (<= 4 MiB of f32) are in memory at once.
//
// GGUF blocks the package can hold exactly (Q4_K, Q2_K, Q6_K, Q8_0, Q4_0, IQ4_NL) are copied byte
// for byte; every other type is dequantized and quantized again to the requested scheme, and the
// report lists those tensors. With `keep` (lossless mode, GGUF only) every tensor keeps its
// source type where the package has that layout (F16 and F32 too, byte for byte); BF16 is
// widened to f32 (exact); types without a package layout (Q4_1, Q5_0, Q5_K, Q3_K, ...) become
// Q8_0, the closest the package holds, and are reported as re-quantized.
import { ErnieError, FileFormatError, throwIfAborted } from '../errors';
import { GgufFile } from '../formats/gguf';
import { type GgufWeightLookup, ernieConfigFromGguf, ggufConfigOrigin, ggufWeightLookup } from '../formats/gguf_ernie';
import { SafetensorsModel } from '../formats/safetensors';
import type { ByteSource, FolderSource } from '../formats/source';
import { isMissingFile } from '../formats/sources';
import { checkpointName, visionPrefix } from '../model/ernie45_vl/tensors';
import { type ModelFamily, modelFamily } from '../package/family';
import { GgmlType } from '../quant/ggml_blocks';
import { LAYOUTS, type LayoutId, type Scheme, layoutFor, layoutOfGgmlType, matrixDims, quantize, rowBytes, tensorBytes } from '../quant/layouts';
import { sha256Hex } from '../package/hash';
import {
  MANIFEST_FILE, PACKAGE_FORMAT_VERSION, PACKAGE_MAGIC, TENSOR_ALIGNMENT,
  type FileRole, type Manifest, type ManifestFile, type ManifestShard, type ManifestTensor, validateManifest,
} from '../package/manifest';
import { type ExpectedTensor, coreShardName } from '../package/tensors';
import type { PackageWriter } from '../package/writer';

export type ConvertInput = { kind: 'hf'; folder: FolderSource } | { kind: 'gguf'; source: ByteSource };

export interface ConvertOptions {
  input: ConvertInput;
  /** Scheme of the routed experts' matrices ('f32': lossless, for F32 checkpoints and parity checks). */
  experts: 'q2' | 'q4' | 'f32';
  /** Scheme of the other weight matrices (attention, dense FFN, shared experts, embeddings). */
  core: 'q4' | 'f16' | 'f32';
  /**
   * Scheme of the output matrix (lm_head, or the tied embedding that serves as lm_head). Default:
   * 'q6' with core 'q4' (as llama.cpp's K-quant mixes do), 'f16' with core 'f16'.
   */
  head?: 'q4' | 'q6' | 'q8' | 'f16' | 'f32';
  /** ERNIE-4.5-VL only: scheme of the vision tower's and the resampler's matrices. Default 'f16'. */
  vision?: 'f16' | 'q8' | 'f32';
  /** ERNIE-4.5-VL only: scheme of the vision experts' matrices (text experts take `experts`). Default 'q4'. */
  visionExperts?: 'q2' | 'q4' | 'f32';
  out: PackageWriter;
  onProgress?: (p: ConvertProgress) => void;
  signal?: AbortSignal;
  /** Core tensors are packed into shards of at most this many bytes (a larger tensor gets a shard of its own). Default 64 MiB. */
  maxShardBytes?: number;
  /** Search effort of the quantizers (quant/fit.ts). Default 'best'. */
  effort?: 'fast' | 'best';
  /**
   * Weight each matrix column by the square of the RMSNorm weight that scales its input, so the
   * quantizer minimises the expected output error rather than the raw weight error. Default true.
   */
  normWeighted?: boolean;
  /**
   * Lossless mode (GGUF input only): keep every tensor's own type where the package has its
   * layout (Q4_K, Q2_K, Q6_K, Q8_0, Q4_0, IQ4_NL, F16, F32); BF16 becomes f32 (exact); other
   * types become q8_0. `experts`, `core` and `head` are then not used for GGUF matrices.
   */
  keep?: boolean;
}

export interface ConvertProgress {
  tensorsDone: number;
  tensorsTotal: number;
  /** Bytes read from the checkpoint so far. */
  bytesRead: number;
  /** Bytes of the package written so far, and its planned total. */
  bytesWritten: number;
  bytesTotal: number;
  /** The tensor just finished. */
  tensor: string;
}

export type ConvertAction =
  /** quantized from the checkpoint's float values */
  | 'quantized'
  /** stored as f32 (norms, router, router bias) */
  | 'stored'
  /** GGUF blocks copied byte for byte */
  | 'copied'
  /** GGUF values dequantized and quantized again */
  | 'requantized'
  /** BF16 values stored as f32, exactly (lossless mode) */
  | 'widened';

export interface ConvertedTensor {
  name: string;
  layout: LayoutId;
  action: ConvertAction;
  /** The source dtype or GGUF type. */
  from: string;
}

export interface ConvertReport {
  manifest: Manifest;
  tensors: ConvertedTensor[];
  /** GGUF tensors that had to be dequantized and quantized again, and to what. */
  requantized: { name: string; from: string; to: LayoutId }[];
  /** Checkpoint tensors the package does not use (e.g. multi-token-prediction weights, a tied lm_head). */
  skipped: string[];
  /** Package files and their sizes, manifest included. */
  files: { path: string; bytes: number }[];
  packageBytes: number;
  /** Stored bits per value: routed-expert matrices, other matrices, all weight matrices, every tensor. */
  bitsPerWeight: { experts: number; core: number; matrices: number; all: number };
}

const DEFAULT_SHARD_BYTES = 64 * 1024 * 1024;
/** Values read and quantized per step (4 MiB of f32). */
const CHUNK_VALUES = 1024 * 1024;
/** Files copied from an HF folder when present, and their role. */
const AUX_FILES: [string, FileRole][] = [
  ['tokenizer.json', 'tokenizer'],
  ['tokenizer.model', 'tokenizer'],
  ['tokenizer_config.json', 'tokenizer'],
  ['special_tokens_map.json', 'tokenizer'],
  ['added_tokens.json', 'tokenizer'],
  ['chat_template.jinja', 'chat_template'],
  ['chat_template.json', 'chat_template'],
  ['generation_config.json', 'generation_config'],
  ['preprocessor_config.json', 'other'], // ERNIE-4.5-VL's image processor settings
];
/** Where one package tensor's values come from. */
interface Source {
  readRows(row: number, count: number, signal?: AbortSignal): Promise<Float32Array>;
  /** For GGUF blocks copied as they are. */
  readRaw?(offset: number, length: number, signal?: AbortSignal): Promise<Uint8Array>;
  from: string;
  action: ConvertAction;
  layout: LayoutId;
}

interface Planned {
  exp: ExpectedTensor;
  tensor: ManifestTensor;
  source: Source;
}

interface Opened {
  rawConfig: Record<string, unknown>;
  family: ModelFamily;
  /** The source of every expected tensor, with its target layout (`keep`: lossless mode). */
  source(exp: ExpectedTensor, scheme: Scheme, keep: boolean): Source;
  skipped(): string[];
  auxFiles(signal?: AbortSignal): Promise<{ path: string; role: FileRole; bytes: Uint8Array }[]>;
  describe: Record<string, unknown>;
  bytesRead(): number;
}

export async function convertModel(opts: ConvertOptions): Promise<ConvertReport> {
  const { signal } = opts;
  throwIfAborted(signal);
  if (!['q2', 'q4', 'f32'].includes(opts.experts)) throw new ErnieError('BAD_REQUEST', `experts must be 'q2', 'q4' or 'f32', got ${JSON.stringify(opts.experts)}`);
  if (!['q4', 'f16', 'f32'].includes(opts.core)) throw new ErnieError('BAD_REQUEST', `core must be 'q4', 'f16' or 'f32', got ${JSON.stringify(opts.core)}`);
  const head = opts.head ?? (opts.core === 'q4' ? 'q6' : opts.core);
  if (!['q4', 'q6', 'q8', 'f16', 'f32'].includes(head)) throw new ErnieError('BAD_REQUEST', `head must be 'q4', 'q6', 'q8', 'f16' or 'f32', got ${JSON.stringify(head)}`);
  const maxShard = opts.maxShardBytes ?? DEFAULT_SHARD_BYTES;
  if (!Number.isSafeInteger(maxShard) || maxShard < TENSOR_ALIGNMENT) throw new ErnieError('BAD_REQUEST', `maxShardBytes must be an integer >= ${TENSOR_ALIGNMENT}`);
  const effort = opts.effort ?? 'best';
  const normWeighted = opts.normWeighted ?? true;
  const keep = opts.keep ?? false;
  if (keep && opts.input.kind !== 'gguf') {
    throw new ErnieError('BAD_REQUEST', 'keep (lossless mode) is for GGUF inputs, whose blocks the package can copy; for an HF checkpoint choose the schemes (core f16 keeps F16 weights exact)');
  }

  const input = opts.input.kind === 'hf' ? await openHf(opts.input.folder, signal) : await openGguf(opts.input.source, signal);
  const { family } = input;
  const vl = family.kind === 'vl';
  const vision = opts.vision ?? 'f16', visionExperts = opts.visionExperts ?? 'q4';
  if (!['f16', 'q8', 'f32'].includes(vision)) throw new ErnieError('BAD_REQUEST', `vision must be 'f16', 'q8' or 'f32', got ${JSON.stringify(vision)}`);
  if (!['q2', 'q4', 'f32'].includes(visionExperts)) throw new ErnieError('BAD_REQUEST', `visionExperts must be 'q2', 'q4' or 'f32', got ${JSON.stringify(visionExperts)}`);
  if (!vl && (opts.vision !== undefined || opts.visionExperts !== undefined)) throw new ErnieError('BAD_REQUEST', 'vision and visionExperts are for ERNIE-4.5-VL checkpoints; this one is a text model');
  const expected = family.tensors();

  // ---- plan: every tensor's layout, shard and offset, before any weight is read ----
  const schemeOf = (e: ExpectedTensor): Scheme =>
    e.role === 'expert' ? (e.modality === 'vision' ? visionExperts : opts.experts)
      : e.role === 'head' ? head : e.role === 'matrix' ? opts.core : e.role === 'vision_matrix' ? vision : 'f32';
  const plan: Planned[] = [];
  const shards = new Map<string, { shard: ManifestShard; tensors: Planned[]; size: number }>();
  let core: { shard: ManifestShard; tensors: Planned[]; size: number } | undefined;
  let coreCount = 0;
  for (const exp of expected) {
    const source = input.source(exp, schemeOf(exp), keep);
    const [rows, cols] = matrixDims(exp.shape);
    const bytes = tensorBytes(source.layout, rows, cols);
    let target: { shard: ManifestShard; tensors: Planned[]; size: number };
    if (exp.role === 'expert') {
      const file = family.expertShardName(exp.layer!, exp.expert!);
      target = shards.get(file) ?? { shard: { file, kind: 'expert', layer: exp.layer!, expert: exp.expert!, bytes: 0, sha256: '' }, tensors: [], size: 0 };
    } else {
      if (!core || (core.size > 0 && align(core.size) + bytes > maxShard)) {
        core = { shard: { file: coreShardName(coreCount++), kind: 'core', bytes: 0, sha256: '' }, tensors: [], size: 0 };
      }
      target = core;
    }
    shards.set(target.shard.file, target);
    const offset = align(target.size);
    const tensor: ManifestTensor = { name: exp.name, shape: exp.shape, scheme: LAYOUTS[source.layout].scheme, layout: source.layout, shard: target.shard.file, offset, bytes };
    target.size = offset + bytes;
    target.shard.bytes = target.size;
    const p = { exp, tensor, source };
    target.tensors.push(p);
    plan.push(p);
  }
  const bytesTotal = [...shards.values()].reduce((a, s) => a + s.size, 0);

  // ---- importance weights: the RMSNorm that feeds each matrix ----
  const norms = new Map<string, Float32Array>();
  if (normWeighted) {
    for (const p of plan) {
      if (p.exp.role !== 'norm') continue;
      norms.set(p.exp.name, await p.source.readRows(0, 1, signal));
    }
  }
  const columnWeights = (exp: ExpectedTensor): Float32Array | undefined => {
    const g = exp.inputNorm ? norms.get(exp.inputNorm) : undefined;
    if (!g) return undefined;
    let mean = 0;
    for (const v of g) mean += v * v;
    mean /= g.length;
    // floor: a channel the norm nearly zeroes still gets a little weight (keeps the fits well posed)
    return g.map((v) => Math.max(v * v, 1e-3 * mean) || 1);
  };

  // ---- fill shards in plan order, writing each as soon as it is complete ----
  const remaining = new Map([...shards].map(([f, s]) => [f, s.tensors.length]));
  const buffers = new Map<string, Uint8Array<ArrayBuffer>>();
  let done = 0, written = 0;
  for (const p of plan) {
    throwIfAborted(signal);
    const file = p.tensor.shard;
    let buf = buffers.get(file);
    if (!buf) buffers.set(file, (buf = new Uint8Array(shards.get(file)!.size)));
    await fillTensor(p, buf, isStored(p.exp) ? undefined : columnWeights(p.exp), effort, signal);
    const left = remaining.get(file)! - 1;
    remaining.set(file, left);
    if (left === 0) {
      const s = shards.get(file)!;
      s.shard.sha256 = await sha256Hex(buf);
      await opts.out.writeFile(file, buf, signal);
      written += buf.length;
      buffers.delete(file);
    }
    done++;
    opts.onProgress?.({ tensorsDone: done, tensorsTotal: plan.length, bytesRead: input.bytesRead(), bytesWritten: written, bytesTotal, tensor: p.exp.name });
  }

  // ---- tokenizer / chat template / generation config, then the manifest ----
  const files: ManifestFile[] = [];
  for (const f of await input.auxFiles(signal)) {
    const bytes = f.bytes.buffer instanceof ArrayBuffer ? (f.bytes as Uint8Array<ArrayBuffer>) : new Uint8Array(f.bytes);
    await opts.out.writeFile(f.path, bytes, signal);
    files.push({ path: f.path, role: f.role, bytes: bytes.length, sha256: await sha256Hex(bytes) });
  }
  const manifest: Manifest = {
    magic: PACKAGE_MAGIC,
    formatVersion: PACKAGE_FORMAT_VERSION,
    config: input.rawConfig,
    files,
    shards: [...shards.values()].map((s) => s.shard),
    tensors: plan.map((p) => p.tensor),
    metadata: {
      converter: { experts: opts.experts, core: opts.core, head, ...(vl ? { vision, visionExperts } : {}), effort, normWeighted, maxShardBytes: maxShard, ...(keep ? { keep } : {}) },
      source: input.describe,
    },
  };
  validateManifest(JSON.parse(JSON.stringify(manifest))); // the writer checks its own output
  const manifestBytes = new TextEncoder().encode(manifestJson(manifest));
  await opts.out.writeFile(MANIFEST_FILE, manifestBytes, signal);

  // ---- report ----
  let eb = 0, ev = 0, cb = 0, cv = 0, ab = 0, av = 0;
  for (const p of plan) {
    const n = p.exp.shape.reduce((a, b) => a * b, 1);
    ab += p.tensor.bytes;
    av += n;
    if (p.exp.role === 'expert') (eb += p.tensor.bytes), (ev += n);
    else if (p.exp.role === 'matrix' || p.exp.role === 'head' || p.exp.role === 'vision_matrix') (cb += p.tensor.bytes), (cv += n);
  }
  const pkgFiles = [
    ...[...shards.values()].map((s) => ({ path: s.shard.file, bytes: s.size })),
    ...files.map((f) => ({ path: f.path, bytes: f.bytes })),
    { path: MANIFEST_FILE, bytes: manifestBytes.length },
  ];
  const tensors = plan.map((p) => ({ name: p.exp.name, layout: p.source.layout, action: p.source.action, from: p.source.from }));
  return {
    manifest,
    tensors,
    requantized: tensors.filter((t) => t.action === 'requantized').map((t) => ({ name: t.name, from: t.from, to: t.layout })),
    skipped: input.skipped(),
    files: pkgFiles,
    packageBytes: pkgFiles.reduce((a, f) => a + f.bytes, 0),
    bitsPerWeight: {
      experts: ev ? (eb * 8) / ev : 0,
      core: cv ? (cb * 8) / cv : 0,
      matrices: ev + cv ? ((eb + cb) * 8) / (ev + cv) : 0,
      all: (ab * 8) / av,
    },
  };
}

/** The manifest as JSON with one file, shard or tensor per line (readable, and compact for large models). */
export function manifestJson(m: Manifest): string {
  const list = (xs: unknown[]) => (xs.length ? `[\n  ${xs.map((x) => JSON.stringify(x)).join(',\n  ')}\n ]` : '[]');
  const head = Object.entries(m)
    .filter(([k]) => k !== 'files' && k !== 'shards' && k !== 'tensors')
    .map(([k, v]) => ` ${JSON.stringify(k)}: ${JSON.stringify(v)}`);
  return `{\n${[...head, ` "files": ${list(m.files)}`, ` "shards": ${list(m.shards)}`, ` "tensors": ${list(m.tensors)}`].join(',\n')}\n}\n`;
}

/** Tensors kept f32 whatever the schemes: norms, biases, routers and their correction bias. */
function isStored(exp: ExpectedTensor): boolean {
  return exp.role === 'norm' || exp.role === 'bias' || exp.role === 'router' || exp.role === 'router_bias';
}

function align(n: number): number {
  return Math.ceil(n / TENSOR_ALIGNMENT) * TENSOR_ALIGNMENT;
}

/** Reads, quantizes (or copies) one tensor into its shard buffer, a chunk of rows at a time. */
async function fillTensor(p: Planned, buf: Uint8Array, columnWeights: Float32Array | undefined, effort: 'fast' | 'best', signal?: AbortSignal): Promise<void> {
  const { tensor, source } = p;
  const [rows, cols] = matrixDims(tensor.shape);
  const rb = rowBytes(tensor.layout, cols);
  if (source.readRaw) {
    const chunk = Math.max(1, Math.floor((CHUNK_VALUES * 4) / rb)) * rb;
    for (let o = 0; o < tensor.bytes; o += chunk) {
      const n = Math.min(chunk, tensor.bytes - o);
      buf.set(await source.readRaw(o, n, signal), tensor.offset + o);
    }
    return;
  }
  const step = Math.max(1, Math.floor(CHUNK_VALUES / cols));
  for (let r = 0; r < rows; r += step) {
    throwIfAborted(signal);
    const n = Math.min(step, rows - r);
    const values = await source.readRows(r, n, signal);
    if (values.length !== n * cols) throw new ErnieError('BAD_REQUEST', `${tensor.name}: read ${values.length} values for ${n} rows of ${cols}`);
    const bytes = quantize(tensor.layout, values, n, cols, { columnWeights, effort });
    buf.set(bytes, tensor.offset + r * rb);
  }
}

function shapeMismatch(file: string, name: string, got: readonly number[], exp: ExpectedTensor): ErnieError {
  return new ErnieError('SHAPE_MISMATCH', `${file}: tensor "${name}" has shape [${got.join(', ')}], but config.json implies [${exp.shape.join(', ')}]`);
}

/** A router bias is [1, E] in HF checkpoints and [E] in GGUF; the package stores [E]. */
function sameShape(got: readonly number[], exp: ExpectedTensor): boolean {
  if (got.join() === exp.shape.join()) return true;
  return exp.role === 'router_bias' && got.length === 2 && got[0] === 1 && got[1] === exp.shape[0];
}

// ---- HF input ----

async function readText(folder: FolderSource, file: string, signal?: AbortSignal): Promise<Uint8Array> {
  const src = folder(file);
  return src.read(0, await src.size(), signal);
}

async function openHf(folder: FolderSource, signal?: AbortSignal): Promise<Opened> {
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(await readText(folder, 'config.json', signal)));
  } catch (err) {
    if (err instanceof ErnieError) throw err;
    throw new FileFormatError('config.json', `is not valid JSON (${err instanceof Error ? err.message : String(err)})`, { cause: err });
  }
  const model = await SafetensorsModel.open(folder, signal);
  const family = modelFamily(raw, { held: model.names().length, checkpoint: 'the safetensors checkpoint' });
  // VL checkpoints name the vision tower `vision_model.*` (Baidu) or `model.vision_model.*` (transformers 5); the package uses the latter
  const prefix = family.kind === 'vl' ? visionPrefix(model.names(), model.name) : 'model.vision_model.';
  let bytesRead = 0;
  const used = new Set<string>();
  return {
    rawConfig: raw as Record<string, unknown>,
    family,
    describe: { kind: 'hf' },
    bytesRead: () => bytesRead,
    skipped: () => model.names().filter((n) => !used.has(n)),
    source(exp, scheme) {
      const name = checkpointName(exp.name, prefix);
      if (!model.has(name)) throw new ErnieError('MISSING_TENSOR', `${model.name}: no tensor "${name}", which config.json needs`);
      const info = model.info(name);
      if (!sameShape(info.shape, exp)) throw shapeMismatch(info.file, name, info.shape, exp);
      used.add(name);
      const [, cols] = matrixDims(exp.shape);
      const elem = info.dtype === 'F32' ? 4 : info.dtype === 'F64' ? 8 : 2;
      const stored = isStored(exp);
      return {
        from: info.dtype,
        action: stored ? 'stored' : 'quantized',
        layout: layoutFor(scheme, cols),
        async readRows(row, count, sig) {
          bytesRead += count * cols * elem;
          // router bias [1, E]: its single row is the whole tensor
          if (exp.shape.length === 1) return model.readF32(name, sig);
          return model.readRows(name, row, count, sig);
        },
      };
    },
    async auxFiles(sig) {
      const out: { path: string; role: FileRole; bytes: Uint8Array }[] = [];
      for (const [path, role] of AUX_FILES) {
        try {
          out.push({ path, role, bytes: await readText(folder, path, sig) });
        } catch (err) {
          if (!isMissingFile(err)) throw err; // absent, or an S3-style 403 for an optional file
        }
      }
      return out;
    },
  };
}

// ---- GGUF input ----

async function openGguf(src: ByteSource, signal?: AbortSignal): Promise<Opened> {
  const gguf = await GgufFile.open(src, signal);
  const rawConfig = ernieConfigFromGguf(gguf);
  const family = modelFamily(rawConfig, { origin: ggufConfigOrigin(gguf) });
  const lookup: GgufWeightLookup = ggufWeightLookup(gguf);
  let bytesRead = 0;
  const usedTensors = new Set<string>();
  return {
    rawConfig,
    family,
    describe: { kind: 'gguf', file: gguf.name.split(/[\\/]/).pop() },
    bytesRead: () => bytesRead,
    skipped: () => [...gguf.tensors.keys()].filter((n) => !usedTensors.has(n)),
    source(exp, scheme, keep) {
      if (!lookup.has(exp.name)) throw new ErnieError('MISSING_TENSOR', `${gguf.name}: no tensor for "${exp.name}", which the model's metadata needs`);
      const ref = lookup.resolve(exp.name);
      if (!sameShape(ref.shape, exp)) throw shapeMismatch(gguf.name, `${ref.tensor} (${exp.name})`, ref.shape, exp);
      usedTensors.add(ref.tensor);
      const [, cols] = matrixDims(exp.shape);
      const stored = isStored(exp);
      const readRows = async (row: number, count: number, sig?: AbortSignal) => {
        const first = ref.elementOffset + row * cols, n = count * cols;
        const values = await gguf.readF32Elements(ref.tensor, first, n, sig);
        bytesRead += gguf.elementRange(ref.tensor, first, n).byteLength;
        return values instanceof Float32Array ? values : Float32Array.from(values);
      };
      if (stored) return { from: ref.typeName, action: ref.type === GgmlType.F32 ? 'copied' : 'requantized', layout: 'f32', readRows };
      const copy = (layout: LayoutId): Source => ({
        from: ref.typeName,
        action: 'copied',
        layout,
        readRows,
        async readRaw(offset, length, sig) {
          bytesRead += length;
          return gguf.src.read(ref.byteOffset + offset, length, sig);
        },
      });
      const own = layoutOfGgmlType(ref.type);
      if (keep) {
        if (own && own !== 'q2_g32') return copy(own);
        if (ref.type === GgmlType.BF16) return { from: ref.typeName, action: 'widened', layout: 'f32', readRows };
        return { from: ref.typeName, action: 'requantized', layout: 'q8_0', readRows };
      }
      // without keep, F16/F32 matrices are quantized to the requested scheme like HF weights
      if (own && own !== 'f16' && own !== 'f32') return copy(own);
      return { from: ref.typeName, action: 'requantized', layout: layoutFor(scheme, cols), readRows };
    },
    async auxFiles() {
      const tpl = gguf.metadata.get('tokenizer.chat_template');
      return typeof tpl === 'string' ? [{ path: 'chat_template.jinja', role: 'chat_template' as const, bytes: new TextEncoder().encode(tpl) }] : [];
    },
  };
}
