// Lazy safetensors reader. Layout: u64 little-endian header length N, N bytes of JSON
// { name: { dtype, shape, data_offsets: [begin, end] }, "__metadata__"?: {str: str} },
// then the tensor data; data_offsets are relative to the first byte after the header.
// open() reads only the 8-byte length and the header; tensors are read one range at a time.

import { f16BitsToNumber } from '../quant/f16.js';
import { ErnieError, FileFormatError, throwIfAborted } from '../errors';
import type { ByteSource, FolderSource } from './source';
import { FileNotFoundError, isMissingFile, readWholeFile } from './sources';

/** model.safetensors.index.json is refused above this size (a 1,000-shard index is ~10 MB). */
const MAX_INDEX_BYTES = 64 * 1024 * 1024;

export const DTYPE_SIZE = {
  F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1,
} as const;
export type Dtype = keyof typeof DTYPE_SIZE;

export interface TensorInfo {
  dtype: Dtype;
  shape: number[];
  /** Absolute byte offsets in the file, end exclusive. */
  begin: number;
  end: number;
}

/** The safetensors format caps headers at 100 MB; we refuse larger before allocating anything. */
const MAX_HEADER_BYTES = 100 * 1024 * 1024;

export class SafetensorsFile {
  private constructor(
    readonly src: ByteSource,
    readonly metadata: Record<string, string>,
    private readonly tensors: Map<string, TensorInfo>,
  ) {}

  get name(): string {
    return this.src.name;
  }

  static async open(src: ByteSource, signal?: AbortSignal): Promise<SafetensorsFile> {
    throwIfAborted(signal);
    const file = src.name;
    const size = await src.size(signal);
    if (size < 8) throw new FileFormatError(file, `${size} bytes is too small for a safetensors file (needs an 8-byte header length)`);
    const lenBytes = await src.read(0, 8, signal);
    const headerLen = new DataView(lenBytes.buffer, lenBytes.byteOffset, 8).getBigUint64(0, true);
    // Checked as a bigint, before any allocation: a hostile length must not cost memory.
    if (headerLen > BigInt(size - 8)) {
      throw new FileFormatError(file, `header length ${headerLen} is larger than the rest of the file (${size - 8} bytes); truncated or not a safetensors file`);
    }
    if (headerLen > BigInt(MAX_HEADER_BYTES)) {
      throw new FileFormatError(file, `header length ${headerLen} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
    }
    const n = Number(headerLen);
    const headerBytes = await src.read(8, n, signal);
    let json: unknown;
    try {
      json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(headerBytes));
    } catch (err) {
      throw new FileFormatError(file, `header is not valid UTF-8 JSON (${err instanceof Error ? err.message : String(err)})`, { cause: err });
    }
    const { metadata, tensors } = parseHeader(file, json, 8 + n, size);
    return new SafetensorsFile(src, metadata, tensors);
  }

  names(): string[] {
    return [...this.tensors.keys()];
  }

  has(name: string): boolean {
    return this.tensors.has(name);
  }

  info(name: string): TensorInfo {
    const t = this.tensors.get(name);
    if (!t) throw new ErnieError('MISSING_TENSOR', `${this.name}: no tensor "${name}"`);
    return t;
  }

  /** The tensor's exact bytes. */
  async readRaw(name: string, signal?: AbortSignal): Promise<Uint8Array<ArrayBuffer>> {
    const t = this.info(name);
    return plainBytes(await this.src.read(t.begin, t.end - t.begin, signal), 1);
  }

  /** The tensor as f32 (from F32, F16, BF16 or F64). */
  async readF32(name: string, signal?: AbortSignal): Promise<Float32Array<ArrayBuffer>> {
    const t = this.info(name);
    checkFloat(this.name, name, t.dtype);
    return decodeF32(t.dtype, await this.readRaw(name, signal));
  }

  /**
   * Rows [rowStart, rowStart + rowCount) of the leading dimension as f32, reading only those
   * bytes (an embedding lookup needs a few rows of a large table). 1-D tensors have 1-element rows.
   */
  async readRows(name: string, rowStart: number, rowCount: number, signal?: AbortSignal): Promise<Float32Array<ArrayBuffer>> {
    const t = this.info(name);
    checkFloat(this.name, name, t.dtype);
    const rows = t.shape[0];
    if (rows === undefined) throw new ErnieError('BAD_REQUEST', `${this.name}: tensor "${name}" is a scalar; it has no rows`);
    if (!Number.isSafeInteger(rowStart) || !Number.isSafeInteger(rowCount) || rowStart < 0 || rowCount < 0 || rowStart + rowCount > rows) {
      throw new ErnieError('BAD_REQUEST', `${this.name}: rows ${rowStart}..${rowStart + rowCount} are outside tensor "${name}" with ${rows} rows`);
    }
    const rowBytes = t.shape.slice(1).reduce((a, b) => a * b, 1) * DTYPE_SIZE[t.dtype];
    const raw = await this.src.read(t.begin + rowStart * rowBytes, rowCount * rowBytes, signal);
    return decodeF32(t.dtype, raw);
  }
}

// ---- header validation ----

function parseHeader(file: string, json: unknown, dataStart: number, fileSize: number) {
  if (!isPlainObject(json)) throw new FileFormatError(file, 'header JSON is not an object');
  let metadata: Record<string, string> = {};
  const tensors = new Map<string, TensorInfo>();
  const dataSize = fileSize - dataStart;
  for (const [name, entry] of Object.entries(json)) {
    if (name === '__metadata__') {
      metadata = parseMetadata(file, entry);
      continue;
    }
    const bad = (msg: string) => new FileFormatError(file, `tensor "${name}": ${msg}`);
    if (!isPlainObject(entry)) throw bad('entry is not an object');
    const { dtype, shape, data_offsets: offsets } = entry;
    if (typeof dtype !== 'string' || !Object.hasOwn(DTYPE_SIZE, dtype)) {
      throw bad(`unsupported dtype ${JSON.stringify(dtype)} (supported: ${Object.keys(DTYPE_SIZE).join(', ')})`);
    }
    const elemSize = DTYPE_SIZE[dtype as Dtype];
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw bad(`shape ${JSON.stringify(shape)} must be a list of non-negative integers`);
    }
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) {
      throw bad(`data_offsets ${JSON.stringify(offsets)} must be [begin, end] non-negative integers`);
    }
    const [begin, end] = offsets as [number, number];
    if (end < begin) throw bad(`data_offsets [${begin}, ${end}] end before begin`);
    if (end > dataSize) throw bad(`data_offsets [${begin}, ${end}] run past the end of the file (data section is ${dataSize} bytes)`);
    const count = elementCount(shape as number[], Math.floor(dataSize / elemSize));
    if (count === undefined) throw bad(`shape ${JSON.stringify(shape)} has more elements than the file could hold`);
    if (end - begin !== count * elemSize) {
      throw bad(`holds ${end - begin} bytes but shape ${JSON.stringify(shape)} of ${dtype} needs ${count * elemSize}`);
    }
    tensors.set(name, { dtype: dtype as Dtype, shape: [...(shape as number[])], begin: dataStart + begin, end: dataStart + end });
  }
  checkTiling(file, tensors, dataStart, fileSize);
  return { metadata, tensors };
}

function parseMetadata(file: string, entry: unknown): Record<string, string> {
  if (!isPlainObject(entry) || !Object.values(entry).every((v) => typeof v === 'string')) {
    throw new FileFormatError(file, '__metadata__ must be an object of string values');
  }
  return { ...(entry as Record<string, string>) };
}

/** Product of dims, or undefined once it exceeds `max` (so huge dims never overflow silently). */
function elementCount(shape: number[], max: number): number | undefined {
  if (shape.includes(0)) return 0;
  let n = 1;
  for (const d of shape) {
    n *= d;
    if (n > max) return undefined;
  }
  return n;
}

/**
 * The tensors must tile the data section exactly, as the reference readers require: sorted by
 * offset, each starts where the previous ends, the first at 0 and the last at the end of the file.
 * A header length a few bytes short (its JSON still parses: it ends in padding) or bytes slipped
 * in before the data would otherwise load every tensor shifted. Empty tensors hold no bytes, so
 * they may sit anywhere inside the data section.
 */
function checkTiling(file: string, tensors: Map<string, TensorInfo>, dataStart: number, fileSize: number): void {
  const sorted = [...tensors].filter(([, t]) => t.end > t.begin).sort((a, b) => a[1].begin - b[1].begin);
  let at = dataStart;
  let prev = '';
  for (const [name, t] of sorted) {
    if (t.begin < at) {
      throw new FileFormatError(file, `tensor "${name}" overlaps tensor "${prev}" (data bytes ${t.begin - dataStart}..${t.end - dataStart}; "${prev}" ends at ${at - dataStart})`);
    }
    if (t.begin > at) {
      throw new FileFormatError(file, `${t.begin - at} bytes of the data section before tensor "${name}" (at data byte ${t.begin - dataStart}) belong to no tensor; the tensors must tile the data section exactly (wrong header length, or a damaged file)`);
    }
    at = t.end;
    prev = name;
  }
  if (at !== fileSize) {
    throw new FileFormatError(file, `the last ${fileSize - at} bytes of the data section belong to no tensor (the tensors end at file byte ${at}, the file at ${fileSize}); the header length or the data offsets are wrong`);
  }
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

// ---- dtype conversion (typed-array views assume a little-endian host, as every WebGPU platform is) ----

function checkFloat(file: string, name: string, dtype: Dtype): void {
  if (dtype !== 'F32' && dtype !== 'F16' && dtype !== 'BF16' && dtype !== 'F64') {
    throw new ErnieError('UNSUPPORTED', `${file}: tensor "${name}" is ${dtype}; only F32, F16, BF16 and F64 convert to f32`);
  }
}

/** Raw little-endian bytes of a float dtype to f32. */
export function decodeF32(dtype: Dtype, raw: Uint8Array): Float32Array<ArrayBuffer> {
  const size = DTYPE_SIZE[dtype];
  const a = plainBytes(raw, size);
  const n = a.byteLength / size;
  switch (dtype) {
    case 'F32':
      return new Float32Array(a.buffer, a.byteOffset, n);
    case 'F16':
      return f16ArrayToF32(new Uint16Array(a.buffer, a.byteOffset, n));
    case 'BF16':
      return bf16ArrayToF32(new Uint16Array(a.buffer, a.byteOffset, n));
    case 'F64':
      return Float32Array.from(new Float64Array(a.buffer, a.byteOffset, n));
    default:
      throw new ErnieError('UNSUPPORTED', `cannot convert ${dtype} to f32`);
  }
}

/**
 * `raw` when it sits in a plain ArrayBuffer at an offset suitable for `align`-byte typed-array
 * views, else a copy. Results can then go straight to GPUQueue.writeBuffer (no SharedArrayBuffer).
 */
function plainBytes(raw: Uint8Array, align: number): Uint8Array<ArrayBuffer> {
  if (raw.buffer instanceof ArrayBuffer && raw.byteOffset % align === 0) return raw as Uint8Array<ArrayBuffer>;
  return new Uint8Array(raw);
}

/** One IEEE half (its 16 bits) to a number; exact for subnormals, ±0, ±inf and NaN. */
export const f16ToF32 = f16BitsToNumber;

/** Halves to f32 by building the f32 bit patterns directly (keeps NaN payloads). */
export function f16ArrayToF32(u16: Uint16Array): Float32Array<ArrayBuffer> {
  const out = new Float32Array(u16.length);
  const bits = new Uint32Array(out.buffer);
  for (let i = 0; i < u16.length; i++) {
    const h = u16[i]!;
    const sign = (h & 0x8000) << 16;
    const exp = (h >> 10) & 0x1f;
    const frac = h & 0x3ff;
    if (exp === 0x1f) bits[i] = sign | 0x7f800000 | (frac << 13);
    else if (exp !== 0) bits[i] = sign | ((exp + 112) << 23) | (frac << 13); // rebias 15 -> 127
    else out[i] = f16ToF32(h); // zero/subnormal: becomes a normal f32, easiest via arithmetic
  }
  return out;
}

/** bf16 is the upper half of an f32, so widening is a 16-bit shift. */
export function bf16ArrayToF32(u16: Uint16Array): Float32Array<ArrayBuffer> {
  const out = new Float32Array(u16.length);
  const bits = new Uint32Array(out.buffer);
  for (let i = 0; i < u16.length; i++) bits[i] = u16[i]! << 16;
  return out;
}

// ---- checkpoints: one file, or shards listed by model.safetensors.index.json ----

const INDEX_FILE = 'model.safetensors.index.json';
const SINGLE_FILE = 'model.safetensors';
/** Shard headers opened at once; browsers cap connections per host anyway. */
const OPEN_CONCURRENCY = 6;

export interface ModelTensorInfo extends TensorInfo {
  /** The file holding it, relative to the model folder. */
  file: string;
}

/**
 * A whole checkpoint. open() reads the index (if any) and every shard's header exactly once,
 * so names/has/info are synchronous and a broken checkpoint fails at open, not mid-load.
 * No tensor data is read until readRaw/readF32/readRows.
 *
 * Index detection: we try to read model.safetensors.index.json. An absent file (isMissingFile:
 * HTTP 404/410, soft-404 HTML, S3-style 403, ENOENT, not among picked files) means a single-file checkpoint; any other error
 * (network failure, malformed index) is reported as is.
 */
export class SafetensorsModel {
  private constructor(
    private readonly files: Map<string, SafetensorsFile>,
    private readonly where: Map<string, string>,
    /** The file that lists the tensors: model.safetensors, or the index of a sharded checkpoint. */
    readonly name: string,
  ) {}

  static async open(folder: FolderSource, signal?: AbortSignal): Promise<SafetensorsModel> {
    throwIfAborted(signal);
    const weightMap = await readIndex(folder, signal);
    if (!weightMap) {
      let file: SafetensorsFile;
      try {
        file = await SafetensorsFile.open(folder(SINGLE_FILE), signal);
      } catch (err) {
        if (!(err instanceof FileNotFoundError)) throw err;
        throw new FileFormatError(SINGLE_FILE, `not found, and there is no ${INDEX_FILE} either`, { cause: err });
      }
      return new SafetensorsModel(new Map([[SINGLE_FILE, file]]), new Map(file.names().map((n) => [n, SINGLE_FILE])), SINGLE_FILE);
    }

    const shardNames = [...new Set(weightMap.values())];
    const files = new Map<string, SafetensorsFile>();
    let next = 0;
    const worker = async () => {
      while (next < shardNames.length) {
        const shard = shardNames[next++]!;
        files.set(shard, await openShard(folder, shard, weightMap, signal));
      }
    };
    await Promise.all(Array.from({ length: Math.min(OPEN_CONCURRENCY, shardNames.length) }, worker));

    for (const [tensor, shard] of weightMap) {
      if (!files.get(shard)!.has(tensor)) {
        throw new FileFormatError(shard, `${INDEX_FILE} lists tensor "${tensor}" in this file, but the file has no such tensor`);
      }
    }
    return new SafetensorsModel(files, weightMap, INDEX_FILE);
  }

  names(): string[] {
    return [...this.where.keys()];
  }

  has(name: string): boolean {
    return this.where.has(name);
  }

  info(name: string): ModelTensorInfo {
    const file = this.fileOf(name);
    return { ...this.files.get(file)!.info(name), file };
  }

  async readRaw(name: string, signal?: AbortSignal): Promise<Uint8Array<ArrayBuffer>> {
    return this.files.get(this.fileOf(name))!.readRaw(name, signal);
  }

  async readF32(name: string, signal?: AbortSignal): Promise<Float32Array<ArrayBuffer>> {
    return this.files.get(this.fileOf(name))!.readF32(name, signal);
  }

  async readRows(name: string, rowStart: number, rowCount: number, signal?: AbortSignal): Promise<Float32Array<ArrayBuffer>> {
    return this.files.get(this.fileOf(name))!.readRows(name, rowStart, rowCount, signal);
  }

  private fileOf(name: string): string {
    const file = this.where.get(name);
    if (file === undefined) throw new ErnieError('MISSING_TENSOR', `${this.name}: no tensor "${name}"`);
    return file;
  }
}

/** The index's weight_map, or undefined when the folder has no index file. */
async function readIndex(folder: FolderSource, signal?: AbortSignal): Promise<Map<string, string> | undefined> {
  let text: string;
  try {
    text = new TextDecoder().decode(await readWholeFile(folder(INDEX_FILE), MAX_INDEX_BYTES, signal));
  } catch (err) {
    // Absent (404, an SPA fallback's HTML page, an S3-style 403): a single-file checkpoint.
    if (isMissingFile(err)) return undefined;
    throw err;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new FileFormatError(INDEX_FILE, 'not valid JSON', { cause: err });
  }
  const weightMap = isPlainObject(json) ? json.weight_map : undefined;
  if (!isPlainObject(weightMap)) throw new FileFormatError(INDEX_FILE, 'has no "weight_map" object');
  const out = new Map<string, string>();
  for (const [tensor, file] of Object.entries(weightMap)) {
    // Shard names are plain relative paths; "../" or absolute paths would reach outside the folder.
    if (typeof file !== 'string' || !file || file.startsWith('/') || file.split(/[\\/]/).includes('..')) {
      throw new FileFormatError(INDEX_FILE, `weight_map entry for "${tensor}" is not a file name in the model folder: ${JSON.stringify(file)}`);
    }
    out.set(tensor, file);
  }
  return out;
}

async function openShard(folder: FolderSource, shard: string, weightMap: Map<string, string>, signal?: AbortSignal): Promise<SafetensorsFile> {
  try {
    return await SafetensorsFile.open(folder(shard), signal);
  } catch (err) {
    if (!(err instanceof FileNotFoundError)) throw err;
    const example = [...weightMap].find(([, f]) => f === shard)?.[0];
    throw new FileFormatError(shard, `${INDEX_FILE} maps tensors (e.g. "${example}") to this file, but it is missing`, { cause: err });
  }
}
