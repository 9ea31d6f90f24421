// GGUF (llama.cpp's single-file format), versions 2 and 3, little-endian. Layout:
//   "GGUF" u32 version, u64 tensor_count, u64 kv_count,
//   kv_count x (string key, u32 value_type, value),
//   tensor_count x (string name, u32 n_dims, u64 dims[n_dims] innermost first, u32 ggml_type, u64 offset),
//   padding to general.alignment (default 32), then the tensor data; offsets are relative to it.
// Strings are u64 length + UTF-8 bytes. open() reads the header in growing chunks and validates
// every count and length against the bytes left in the file before allocating for it.

import { ErnieError, FileFormatError, throwIfAborted } from '../errors';
import { dequantize, ggmlTypeInfo } from '../quant/ggml_blocks';
import type { ByteSource } from './source';

export type GgufScalar = number | bigint | boolean | string;
/** Numeric arrays come back as typed arrays (e.g. tokenizer scores as Float32Array). */
export type GgufArray =
  | Uint8Array | Int8Array | Uint16Array | Int16Array | Uint32Array | Int32Array
  | Float32Array | Float64Array | BigUint64Array | BigInt64Array
  | boolean[] | string[] | GgufArray[];
/** u64/i64 scalars are numbers when they are safe integers, bigints otherwise. */
export type GgufValue = GgufScalar | GgufArray;

export interface GgufTensorInfo {
  name: string;
  /** ggml type id (see quant/ggml_blocks.ts). */
  type: number;
  typeName: string;
  /** Innermost first: a row-major [out, in] matrix has dims [in, out]. */
  dims: number[];
  elementCount: number;
  /** Absolute byte offset in the file. */
  offset: number;
  byteLength: number;
}

const MAGIC = 0x46554747; // "GGUF" read as a little-endian u32
const MAX_DIMS = 4; // GGML_MAX_DIMS
const MAX_ARRAY_NESTING = 8;
/** Each inner array becomes a JS object far larger than its 12 header bytes; real files have none. */
const MAX_ARRAYS_OF_ARRAYS = 1 << 16;
const FIRST_CHUNK = 64 * 1024;
const MAX_CHUNK = 8 * 1024 * 1024;
const DEFAULT_ALIGNMENT = 32;

// Metadata value types.
const T = { U8: 0, I8: 1, U16: 2, I16: 3, U32: 4, I32: 5, F32: 6, BOOL: 7, STRING: 8, ARRAY: 9, U64: 10, I64: 11, F64: 12 } as const;
/** Bytes of a scalar value type; string: its u64 length; array: its type + count. */
const MIN_SIZE = [1, 1, 2, 2, 4, 4, 4, 1, 8, 12, 8, 8, 8];
const TYPED: Record<number, { new (buf: ArrayBuffer): GgufArray } | undefined> = {
  [T.U8]: Uint8Array, [T.I8]: Int8Array, [T.U16]: Uint16Array, [T.I16]: Int16Array,
  [T.U32]: Uint32Array, [T.I32]: Int32Array, [T.F32]: Float32Array, [T.F64]: Float64Array,
  [T.U64]: BigUint64Array, [T.I64]: BigInt64Array,
};

export class GgufFile {
  private constructor(
    readonly src: ByteSource,
    readonly version: number,
    readonly metadata: Map<string, GgufValue>,
    readonly tensors: Map<string, GgufTensorInfo>,
    readonly alignment: number,
    /** Absolute offset of the tensor data section. */
    readonly dataOffset: number,
  ) {}

  get name(): string {
    return this.src.name;
  }

  static async open(src: ByteSource, signal?: AbortSignal): Promise<GgufFile> {
    throwIfAborted(signal);
    const r = new HeaderReader(src, await src.size(signal), signal);
    const h = await parseHeader(r);
    return new GgufFile(src, h.version, h.metadata, h.tensors, h.alignment, h.dataOffset);
  }

  tensor(name: string): GgufTensorInfo {
    const t = this.tensors.get(name);
    if (!t) throw new ErnieError('MISSING_TENSOR', `${this.name}: no tensor "${name}"`);
    return t;
  }

  /** The tensor's bytes as stored. */
  readRaw(name: string, signal?: AbortSignal): Promise<Uint8Array> {
    const t = this.tensor(name);
    return this.src.read(t.offset, t.byteLength, signal);
  }

  /** The tensor dequantized to f32, flat, innermost dim fastest (row-major in reversed dims). */
  async readF32(name: string, signal?: AbortSignal): Promise<Float32Array> {
    const t = this.tensor(name);
    return dequantize(t.type, await this.readRaw(name, signal), t.elementCount);
  }

  /** Byte range of elements [first, first + count); both must fall on block boundaries. */
  elementRange(name: string, first: number, count: number): { offset: number; byteLength: number } {
    const t = this.tensor(name);
    const info = ggmlTypeInfo(t.type)!;
    const ok = Number.isSafeInteger(first) && Number.isSafeInteger(count) && first >= 0 && count >= 0 && first + count <= t.elementCount;
    if (!ok || first % info.blockSize !== 0 || count % info.blockSize !== 0) {
      throw new ErnieError('BAD_REQUEST', `${this.name}: elements ${first}..${first + count} of "${name}" (${t.elementCount} ${t.typeName} values) are not a whole-block range inside it`);
    }
    return { offset: t.offset + (first / info.blockSize) * info.typeSize, byteLength: (count / info.blockSize) * info.typeSize };
  }

  /** Raw bytes of elements [first, first + count), e.g. one expert of a stacked expert tensor. */
  readRawElements(name: string, first: number, count: number, signal?: AbortSignal): Promise<Uint8Array> {
    const { offset, byteLength } = this.elementRange(name, first, count);
    return this.src.read(offset, byteLength, signal);
  }

  async readF32Elements(name: string, first: number, count: number, signal?: AbortSignal): Promise<Float32Array> {
    return dequantize(this.tensor(name).type, await this.readRawElements(name, first, count, signal), count);
  }
}

// ---- header parsing ----

interface Header {
  version: number;
  metadata: Map<string, GgufValue>;
  tensors: Map<string, GgufTensorInfo>;
  alignment: number;
  dataOffset: number;
}

async function parseHeader(r: HeaderReader): Promise<Header> {
  await r.need(4, 'the magic bytes');
  const magic = r.u32();
  if (magic !== MAGIC) throw r.error(`not a GGUF file (magic bytes ${hex(magic)}, expected "GGUF")`);
  await r.need(4, 'the version');
  const version = r.u32();
  if (version === 0x03000000 || version === 0x02000000) throw r.error('big-endian GGUF files are not supported');
  if (version !== 2 && version !== 3) throw r.error(`GGUF version ${version} is not supported (only 2 and 3)`);
  await r.need(16, 'the tensor and metadata counts');
  const tensorCount = r.u64();
  const kvCount = r.u64();
  // The smallest possible kv is 13 bytes (empty key, u8 value), the smallest tensor info 32.
  const minBytes = kvCount * 13n + tensorCount * 32n;
  if (minBytes > BigInt(r.remaining())) {
    throw r.error(`header claims ${tensorCount} tensors and ${kvCount} metadata entries, more than the ${r.remaining()} bytes left in the file can hold`);
  }

  const metadata = new Map<string, GgufValue>();
  let alignment = DEFAULT_ALIGNMENT;
  for (let i = 0; i < Number(kvCount); i++) {
    const key = await readString(r, `metadata key ${i}`);
    if (metadata.has(key)) throw r.error(`duplicate metadata key "${key}"`);
    await r.need(4, `the type of metadata "${key}"`);
    const type = r.u32();
    const value = await readValue(r, type, key, 0);
    if (key === 'general.alignment') alignment = checkAlignment(r, type, value);
    metadata.set(key, value);
  }

  const infos: RawTensorInfo[] = [];
  const names = new Set<string>();
  for (let i = 0; i < Number(tensorCount); i++) {
    const name = await readString(r, `tensor ${i}'s name`);
    if (names.has(name)) throw r.error(`duplicate tensor name "${name}"`);
    names.add(name);
    infos.push(await readTensorInfo(r, name));
  }

  const dataOffset = alignUp(r.offset, alignment);
  if (infos.length > 0 && dataOffset > r.size) throw r.error(`the tensor data section would start at ${dataOffset}, past the end of the ${r.size}-byte file`);
  const dataSize = r.size - dataOffset;
  const tensors = new Map<string, GgufTensorInfo>();
  for (const { rel, ...info } of infos) {
    if (rel % BigInt(alignment) !== 0n) throw r.error(`tensor "${info.name}": offset ${rel} is not a multiple of the alignment ${alignment}`);
    if (rel + BigInt(info.byteLength) > BigInt(dataSize)) {
      throw r.error(`tensor "${info.name}": ${info.byteLength} bytes at data offset ${rel} run past the end of the file (data section is ${dataSize} bytes); the file may be truncated`);
    }
    tensors.set(info.name, { ...info, offset: dataOffset + Number(rel) });
  }
  checkOverlaps(r, tensors);
  return { version, metadata, tensors, alignment, dataOffset };
}

/** A tensor info as stored: its offset still relative to the data section. */
type RawTensorInfo = Omit<GgufTensorInfo, 'offset'> & { rel: bigint };

async function readTensorInfo(r: HeaderReader, name: string): Promise<RawTensorInfo> {
  await r.need(4, `tensor "${name}"'s dimension count`);
  const nDims = r.u32();
  if (nDims < 1 || nDims > MAX_DIMS) throw r.error(`tensor "${name}" has ${nDims} dimensions (1 to ${MAX_DIMS} allowed)`);
  await r.need(8 * nDims + 12, `tensor "${name}"'s dims, type and offset`);
  const dims: bigint[] = [];
  for (let d = 0; d < nDims; d++) dims.push(r.u64());
  const type = r.u32();
  const rel = r.u64();
  const info = ggmlTypeInfo(type);
  if (!info) throw r.error(`tensor "${name}" has unknown ggml type ${type}`);
  // Products as bigints, bounded by the file size, so huge dims can neither overflow nor allocate.
  const count = dims.reduce((a, b) => a * b, 1n);
  const bytes = (count / BigInt(info.blockSize)) * BigInt(info.typeSize);
  if (bytes > BigInt(r.size)) {
    throw r.error(`tensor "${name}" dims [${dims.join(', ')}] of ${info.name} need ${bytes} bytes, more than the whole ${r.size}-byte file`);
  }
  if (dims[0]! % BigInt(info.blockSize) !== 0n) {
    throw r.error(`tensor "${name}": its first dim ${dims[0]} is not a multiple of the ${info.name} block size ${info.blockSize}`);
  }
  return { name, type, typeName: info.name, dims: dims.map(Number), elementCount: Number(count), byteLength: Number(bytes), rel };
}

async function readString(r: HeaderReader, what: string): Promise<string> {
  if (!r.has(8)) await r.need(8, `the length of ${what}`);
  const len = r.u64();
  if (len > BigInt(r.remaining())) throw r.error(`${what}: string length ${len} runs past the end of the file (${r.remaining()} bytes left)`);
  const n = Number(len);
  if (!r.has(n)) await r.need(n, what);
  return r.string(n);
}

async function readValue(r: HeaderReader, type: number, key: string, depth: number): Promise<GgufValue> {
  if (type === T.STRING) return readString(r, `metadata "${key}"`);
  if (type === T.ARRAY) return readArray(r, key, depth);
  if (type > T.F64) throw r.error(`metadata "${key}" has unknown value type ${type}`);
  if (!r.has(MIN_SIZE[type]!)) await r.need(MIN_SIZE[type]!, `metadata "${key}"`);
  return r.scalar(type);
}

async function readArray(r: HeaderReader, key: string, depth: number): Promise<GgufArray> {
  if (depth >= MAX_ARRAY_NESTING) throw r.error(`metadata "${key}": arrays nested more than ${MAX_ARRAY_NESTING} deep`);
  await r.need(12, `metadata "${key}"'s array header`);
  const type = r.u32();
  const count = r.u64();
  if (type > T.F64) throw r.error(`metadata "${key}" is an array of unknown value type ${type}`);
  const minBytes = count * BigInt(MIN_SIZE[type]!);
  if (minBytes > BigInt(r.remaining())) {
    throw r.error(`metadata "${key}": an array of ${count} elements cannot fit in the ${r.remaining()} bytes left in the file`);
  }
  const n = Number(count);
  if (type === T.ARRAY && n > MAX_ARRAYS_OF_ARRAYS) throw r.error(`metadata "${key}": an array of ${n} arrays exceeds the limit of ${MAX_ARRAYS_OF_ARRAYS}`);
  const Typed = TYPED[type];
  if (Typed) {
    // Fixed-size elements: one copy of the bytes, viewed as the typed array.
    const bytes = n * MIN_SIZE[type]!;
    const buf = new ArrayBuffer(bytes);
    const dst = new Uint8Array(buf);
    for (let done = 0; done < bytes; ) {
      if (!r.has(1)) await r.need(Math.min(bytes - done, MAX_CHUNK), `metadata "${key}"`);
      const take = Math.min(bytes - done, r.buffered());
      dst.set(r.bytes(take), done);
      done += take;
    }
    return new Typed(buf);
  }
  const out: GgufValue[] = [];
  for (let i = 0; i < n; i++) {
    if (type === T.BOOL) {
      if (!r.has(1)) await r.need(1, `metadata "${key}"`);
      out.push(r.scalar(T.BOOL));
    } else out.push(await readValue(r, type, key, depth + 1));
  }
  return out as GgufArray;
}

function checkAlignment(r: HeaderReader, type: number, value: GgufValue): number {
  const ok = type <= T.I64 && type !== T.F32 && type !== T.BOOL && type !== T.STRING && type !== T.ARRAY;
  const n = Number(value);
  if (!ok || !Number.isSafeInteger(n) || n <= 0 || n > 2 ** 30 || (n & (n - 1)) !== 0) {
    throw r.error(`general.alignment must be a power-of-two integer, got ${String(value)}`);
  }
  return n;
}

function checkOverlaps(r: HeaderReader, tensors: Map<string, GgufTensorInfo>): void {
  const sorted = [...tensors.values()].filter((t) => t.byteLength > 0).sort((a, b) => a.offset - b.offset);
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1]!, t = sorted[i]!;
    if (t.offset < prev.offset + prev.byteLength) {
      throw r.error(`tensor "${t.name}" (bytes ${t.offset}..${t.offset + t.byteLength}) overlaps tensor "${prev.name}" (bytes ${prev.offset}..${prev.offset + prev.byteLength})`);
    }
  }
}

function alignUp(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}

function hex(n: number): string {
  return '0x' + n.toString(16).padStart(8, '0');
}

/**
 * Sequential reader over the start of a ByteSource. Keeps a window of the file in memory and
 * refills it with reads that double in size (fewer round trips for URL sources), never past
 * the end of the file.
 */
class HeaderReader {
  private buf = new Uint8Array(0);
  private view = new DataView(this.buf.buffer);
  private bufStart = 0; // file offset of buf[0]
  private pos = 0; // read position in buf
  private chunk = FIRST_CHUNK;
  private readonly decoder = new TextDecoder('utf-8');

  constructor(
    private readonly src: ByteSource,
    readonly size: number,
    private readonly signal?: AbortSignal,
  ) {}

  get offset(): number {
    return this.bufStart + this.pos;
  }

  remaining(): number {
    return this.size - this.offset;
  }

  /** Bytes available in memory from the read position. */
  buffered(): number {
    return this.buf.length - this.pos;
  }

  has(n: number): boolean {
    return this.pos + n <= this.buf.length;
  }

  error(message: string): FileFormatError {
    return new FileFormatError(this.src.name, message);
  }

  /** Makes n bytes available from the read position, or fails as truncated. */
  async need(n: number, what: string): Promise<void> {
    if (this.has(n)) return;
    throwIfAborted(this.signal);
    if (n > this.remaining()) {
      throw this.error(`file ends at byte ${this.size} while reading ${what} (${n} bytes at offset ${this.offset}); the file is truncated`);
    }
    const keep = this.buf.subarray(this.pos);
    const want = Math.min(Math.max(n, this.chunk), this.remaining());
    const more = await this.src.read(this.offset + keep.length, want - keep.length, this.signal);
    const next = new Uint8Array(want);
    next.set(keep);
    next.set(more, keep.length);
    this.bufStart = this.offset;
    this.buf = next;
    this.view = new DataView(next.buffer);
    this.pos = 0;
    this.chunk = Math.min(this.chunk * 2, MAX_CHUNK);
  }

  u32(): number {
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }

  u64(): bigint {
    const v = this.view.getBigUint64(this.pos, true);
    this.pos += 8;
    return v;
  }

  bytes(n: number): Uint8Array {
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }

  string(n: number): string {
    return this.decoder.decode(this.bytes(n));
  }

  scalar(type: number): GgufScalar {
    const v = this.view, p = this.pos;
    this.pos += MIN_SIZE[type]!;
    switch (type) {
      case T.U8: return v.getUint8(p);
      case T.I8: return v.getInt8(p);
      case T.U16: return v.getUint16(p, true);
      case T.I16: return v.getInt16(p, true);
      case T.U32: return v.getUint32(p, true);
      case T.I32: return v.getInt32(p, true);
      case T.F32: return v.getFloat32(p, true);
      case T.BOOL: return v.getUint8(p) !== 0;
      case T.U64: return safeNumber(v.getBigUint64(p, true));
      case T.I64: return safeNumber(v.getBigInt64(p, true));
      case T.F64: return v.getFloat64(p, true);
      default: throw this.error(`unknown value type ${type}`);
    }
  }
}

function safeNumber(v: bigint): number | bigint {
  const n = Number(v);
  return Number.isSafeInteger(n) ? n : v;
}
