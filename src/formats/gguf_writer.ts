// GGUF writer: the layout gguf.ts reads (version 3, little-endian), streamed. The header
// (metadata + tensor infos) is encoded in memory (it holds the tokenizer, ~1-2 MB at ERNIE's
// 103,424 pieces); tensor data is pulled from each tensor's producer chunk by chunk and handed
// to a sink, so a file of many gigabytes never sits in memory. Tensors are laid out in the order
// given, each at a multiple of general.alignment from the start of the data section.

import { ErnieError, throwIfAborted } from '../errors';
import { ggmlByteLength, ggmlTypeInfo } from '../quant/ggml_blocks';

/** Metadata value types (GGUF's gguf_type ids). */
export const GgufValueType = { U8: 0, I8: 1, U16: 2, I16: 3, U32: 4, I32: 5, F32: 6, BOOL: 7, STRING: 8, ARRAY: 9, U64: 10, I64: 11, F64: 12 } as const;
export type GgufValueTypeName = Lowercase<keyof typeof GgufValueType>;
type ScalarTypeName = Exclude<GgufValueTypeName, 'array'>;

/** One metadata value with its GGUF type spelled out (JS numbers do not say u32 from f32). */
export type GgufTypedValue =
  | { type: Exclude<ScalarTypeName, 'string' | 'bool' | 'u64' | 'i64'>; value: number }
  | { type: 'u64' | 'i64'; value: number | bigint }
  | { type: 'bool'; value: boolean }
  | { type: 'string'; value: string }
  | { type: 'array'; of: Exclude<ScalarTypeName, 'string' | 'bool'>; value: ArrayLike<number> }
  | { type: 'array'; of: 'string'; value: readonly string[] }
  | { type: 'array'; of: 'bool'; value: readonly boolean[] };

/** Shorthands for metadata values. */
export const kv = {
  u32: (value: number): GgufTypedValue => ({ type: 'u32', value }),
  i32: (value: number): GgufTypedValue => ({ type: 'i32', value }),
  f32: (value: number): GgufTypedValue => ({ type: 'f32', value }),
  bool: (value: boolean): GgufTypedValue => ({ type: 'bool', value }),
  str: (value: string): GgufTypedValue => ({ type: 'string', value }),
  strings: (value: readonly string[]): GgufTypedValue => ({ type: 'array', of: 'string', value }),
  f32s: (value: ArrayLike<number>): GgufTypedValue => ({ type: 'array', of: 'f32', value }),
  i32s: (value: ArrayLike<number>): GgufTypedValue => ({ type: 'array', of: 'i32', value }),
};

export interface GgufTensorSpec {
  name: string;
  /** Innermost first, as GGUF stores them: a row-major [out, in] matrix has dims [in, out]. */
  dims: readonly number[];
  /** ggml type id (quant/ggml_blocks.ts). */
  type: number;
  /**
   * The tensor's bytes, in order, in chunks of any size; together exactly the tensor's byte
   * length (checked). Called once, when the writer reaches the tensor.
   */
  data(): Iterable<Uint8Array> | AsyncIterable<Uint8Array>;
}

export interface GgufSpec {
  /** In file order. general.alignment, when given, must be a u32 power of two. */
  metadata: ReadonlyArray<readonly [string, GgufTypedValue]>;
  tensors: readonly GgufTensorSpec[];
}

/** Where the bytes go, in order. */
export interface GgufSink {
  write(bytes: Uint8Array): Promise<void>;
  /** Called once after the last byte (flush, rename into place). */
  close?(): Promise<void>;
}

export interface GgufWriteOptions {
  signal?: AbortSignal;
  /** After each chunk: bytes written so far of the total. */
  onProgress?: (written: number, total: number) => void;
}

/** A tensor's place in the file as the writer lays it out. */
export interface GgufTensorLayout {
  name: string;
  /** Offset from the start of the data section. */
  offset: number;
  byteLength: number;
}

export interface GgufLayout {
  header: Uint8Array;
  tensors: GgufTensorLayout[];
  alignment: number;
  /** Bytes of the whole file. */
  fileSize: number;
}

const DEFAULT_ALIGNMENT = 32;

/** Encodes the header (padded to the alignment) and places every tensor; writes nothing. */
export function layoutGguf(spec: GgufSpec): GgufLayout {
  const alignment = alignmentOf(spec);
  const tensors: GgufTensorLayout[] = [];
  const names = new Set<string>();
  let offset = 0;
  for (const t of spec.tensors) {
    if (names.has(t.name)) throw new ErnieError('BAD_REQUEST', `GGUF writer: tensor "${t.name}" is listed twice`);
    names.add(t.name);
    const byteLength = tensorByteLength(t);
    tensors.push({ name: t.name, offset, byteLength });
    offset = alignUp(offset + byteLength, alignment);
  }
  const b = new ByteWriter();
  b.bytes(new Uint8Array([0x47, 0x47, 0x55, 0x46])); // "GGUF"
  b.u32(3);
  b.u64(BigInt(spec.tensors.length));
  b.u64(BigInt(spec.metadata.length));
  const keys = new Set<string>();
  for (const [key, value] of spec.metadata) {
    if (keys.has(key)) throw new ErnieError('BAD_REQUEST', `GGUF writer: metadata key "${key}" is listed twice`);
    keys.add(key);
    b.string(key);
    writeValue(b, key, value);
  }
  spec.tensors.forEach((t, i) => {
    b.string(t.name);
    b.u32(t.dims.length);
    for (const d of t.dims) b.u64(BigInt(d));
    b.u32(t.type);
    b.u64(BigInt(tensors[i]!.offset));
  });
  b.padTo(alignment);
  const header = b.finish();
  const last = tensors[tensors.length - 1];
  return { header, tensors, alignment, fileSize: header.length + (last ? last.offset + last.byteLength : 0) };
}

/** Streams the file to `sink`: the header, then each tensor's chunks with alignment padding between them. */
export async function writeGguf(sink: GgufSink, spec: GgufSpec, opts: GgufWriteOptions = {}): Promise<GgufLayout> {
  const layout = layoutGguf(spec);
  let written = 0;
  const emit = async (bytes: Uint8Array) => {
    throwIfAborted(opts.signal);
    if (bytes.length === 0) return;
    await sink.write(bytes);
    written += bytes.length;
    opts.onProgress?.(written, layout.fileSize);
  };
  await emit(layout.header);
  for (const [i, t] of spec.tensors.entries()) {
    const place = layout.tensors[i]!;
    const start = layout.header.length + place.offset;
    if (written < start) await emit(new Uint8Array(start - written));
    let got = 0;
    for await (const chunk of t.data()) {
      got += chunk.length;
      if (got > place.byteLength) throw new ErnieError('BAD_REQUEST', `GGUF writer: tensor "${t.name}" produced more than its ${place.byteLength} bytes`);
      await emit(chunk);
    }
    if (got !== place.byteLength) throw new ErnieError('BAD_REQUEST', `GGUF writer: tensor "${t.name}" produced ${got} bytes, expected ${place.byteLength}`);
  }
  await sink.close?.();
  return layout;
}

/** A sink collecting the file in memory (small files, tests). */
export function memorySink(): GgufSink & { bytes(): Uint8Array } {
  const parts: Uint8Array[] = [];
  return {
    async write(b) {
      parts.push(b.slice());
    },
    bytes() {
      const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
      let o = 0;
      for (const p of parts) out.set(p, (o += p.length) - p.length);
      return out;
    },
  };
}

function tensorByteLength(t: GgufTensorSpec): number {
  const info = ggmlTypeInfo(t.type);
  if (!info) throw new ErnieError('BAD_REQUEST', `GGUF writer: tensor "${t.name}" has unknown ggml type ${t.type}`);
  if (t.dims.length < 1 || t.dims.length > 4 || !t.dims.every((d) => Number.isSafeInteger(d) && d > 0)) {
    throw new ErnieError('BAD_REQUEST', `GGUF writer: tensor "${t.name}" dims [${t.dims}] must be 1 to 4 positive integers`);
  }
  if (t.dims[0]! % info.blockSize !== 0) {
    throw new ErnieError('BAD_REQUEST', `GGUF writer: tensor "${t.name}" rows of ${t.dims[0]} values are not a whole number of ${info.name} blocks (${info.blockSize} values)`);
  }
  return ggmlByteLength(t.type, t.dims.reduce((a, b) => a * b, 1));
}

function alignmentOf(spec: GgufSpec): number {
  const entry = spec.metadata.find(([k]) => k === 'general.alignment');
  if (!entry) return DEFAULT_ALIGNMENT;
  const v = entry[1];
  const n = v.type === 'u32' ? v.value : NaN;
  if (!Number.isSafeInteger(n) || n <= 0 || (n & (n - 1)) !== 0) throw new ErnieError('BAD_REQUEST', 'GGUF writer: general.alignment must be a u32 power of two');
  return n;
}

function writeValue(b: ByteWriter, key: string, v: GgufTypedValue): void {
  if (v.type === 'array') {
    b.u32(GgufValueType.ARRAY);
    b.u32(GgufValueType[v.of.toUpperCase() as keyof typeof GgufValueType]);
    b.u64(BigInt(v.value.length));
    for (let i = 0; i < v.value.length; i++) writeScalar(b, key, v.of, v.value[i]!);
    return;
  }
  b.u32(GgufValueType[v.type.toUpperCase() as keyof typeof GgufValueType]);
  writeScalar(b, key, v.type, v.value);
}

function writeScalar(b: ByteWriter, key: string, type: ScalarTypeName, value: number | bigint | boolean | string): void {
  const bad = () => new ErnieError('BAD_REQUEST', `GGUF writer: metadata "${key}": ${String(value)} is not a valid ${type}`);
  if (type === 'string') {
    if (typeof value !== 'string') throw bad();
    b.string(value);
    return;
  }
  if (type === 'bool') {
    if (typeof value !== 'boolean') throw bad();
    b.u8(value ? 1 : 0);
    return;
  }
  if (type === 'f32' || type === 'f64') {
    if (typeof value !== 'number') throw bad();
    if (type === 'f32') b.f32(value);
    else b.f64(value);
    return;
  }
  if (type === 'u64' || type === 'i64') {
    if (typeof value !== 'number' && typeof value !== 'bigint') throw bad();
    const big = BigInt(value);
    if (type === 'u64' ? big < 0n || big >= 1n << 64n : big < -(1n << 63n) || big >= 1n << 63n) throw bad();
    b.u64(BigInt.asUintN(64, big));
    return;
  }
  const [bytes, signed] = ({ u8: [1, false], i8: [1, true], u16: [2, false], i16: [2, true], u32: [4, false], i32: [4, true] } as const)[type];
  const lo = signed ? -(2 ** (8 * bytes - 1)) : 0, hi = signed ? 2 ** (8 * bytes - 1) : 2 ** (8 * bytes);
  if (typeof value !== 'number' || !Number.isInteger(value) || value < lo || value >= hi) throw bad();
  const u = value < 0 ? value + 2 ** (8 * bytes) : value;
  for (let i = 0; i < bytes; i++) b.u8(Math.floor(u / 2 ** (8 * i)) & 255);
}

function alignUp(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}

/** Growable little-endian byte buffer. */
class ByteWriter {
  private buf = new Uint8Array(1 << 16);
  private view = new DataView(this.buf.buffer);
  private n = 0;
  private readonly encoder = new TextEncoder();

  private reserve(k: number): void {
    if (this.n + k <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.n + k) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.n));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  u8(v: number): void {
    this.reserve(1);
    this.buf[this.n++] = v;
  }
  u32(v: number): void {
    this.reserve(4);
    this.view.setUint32(this.n, v, true);
    this.n += 4;
  }
  u64(v: bigint): void {
    this.reserve(8);
    this.view.setBigUint64(this.n, v, true);
    this.n += 8;
  }
  f32(v: number): void {
    this.reserve(4);
    this.view.setFloat32(this.n, v, true);
    this.n += 4;
  }
  f64(v: number): void {
    this.reserve(8);
    this.view.setFloat64(this.n, v, true);
    this.n += 8;
  }
  bytes(b: Uint8Array): void {
    this.reserve(b.length);
    this.buf.set(b, this.n);
    this.n += b.length;
  }
  string(s: string): void {
    const b = this.encoder.encode(s);
    this.u64(BigInt(b.length));
    this.bytes(b);
  }
  padTo(a: number): void {
    const pad = alignUp(this.n, a) - this.n;
    this.reserve(pad);
    this.buf.fill(0, this.n, this.n + pad);
    this.n += pad;
  }
  finish(): Uint8Array {
    return this.buf.slice(0, this.n);
  }
}
