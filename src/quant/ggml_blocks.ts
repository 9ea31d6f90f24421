// ggml tensor types: the type table GGUF files use, and an exact CPU dequantizer per block
// layout. The dequantizers are the reference the GPU kernels are tested against, so each one
// follows its layout literally and rounds every step to f32 the way ggml computes it
// (Math.fround after each f32 operation; a Float32Array store rounds the last one).
import { f16BitsToNumber } from './f16';
import { ErnieError } from '../errors';

export interface GgmlTypeInfo {
  /** The id stored in a GGUF tensor info. */
  id: number;
  name: string;
  /** Values per block (1 for plain element types). */
  blockSize: number;
  /** Bytes per block. */
  typeSize: number;
  /** Whether dequantize() handles it; the others can be parsed and read raw only. */
  dequantizable: boolean;
}

// [id, name, values per block, bytes per block, dequantizable]. ids 4, 5 (Q4_2, Q4_3) and
// 31..33 (the old repacked Q4_0_4_4 family) were removed from ggml and stay unknown.
const TABLE: [number, string, number, number, boolean][] = [
  [0, 'F32', 1, 4, true],
  [1, 'F16', 1, 2, true],
  [2, 'Q4_0', 32, 18, true],
  [3, 'Q4_1', 32, 20, true],
  [6, 'Q5_0', 32, 22, true],
  [7, 'Q5_1', 32, 24, false],
  [8, 'Q8_0', 32, 34, true],
  [9, 'Q8_1', 32, 36, false],
  [10, 'Q2_K', 256, 84, true],
  [11, 'Q3_K', 256, 110, true],
  [12, 'Q4_K', 256, 144, true],
  [13, 'Q5_K', 256, 176, true],
  [14, 'Q6_K', 256, 210, true],
  [15, 'Q8_K', 256, 292, false],
  [16, 'IQ2_XXS', 256, 66, false],
  [17, 'IQ2_XS', 256, 74, false],
  [18, 'IQ3_XXS', 256, 98, false],
  [19, 'IQ1_S', 256, 50, false],
  [20, 'IQ4_NL', 32, 18, false],
  [21, 'IQ3_S', 256, 110, false],
  [22, 'IQ2_S', 256, 82, false],
  [23, 'IQ4_XS', 256, 136, false],
  [24, 'I8', 1, 1, false],
  [25, 'I16', 1, 2, false],
  [26, 'I32', 1, 4, false],
  [27, 'I64', 1, 8, false],
  [28, 'F64', 1, 8, false],
  [29, 'IQ1_M', 256, 56, false],
  [30, 'BF16', 1, 2, true],
  [34, 'TQ1_0', 256, 54, false],
  [35, 'TQ2_0', 256, 66, false],
  [39, 'MXFP4', 32, 17, false],
];

const BY_ID = new Map<number, GgmlTypeInfo>(
  TABLE.map(([id, name, blockSize, typeSize, dequantizable]) => [id, { id, name, blockSize, typeSize, dequantizable }]),
);

/** Ids of the types this module dequantizes. */
export const GgmlType = {
  F32: 0, F16: 1, Q4_0: 2, Q4_1: 3, Q5_0: 6, Q8_0: 8,
  Q2_K: 10, Q3_K: 11, Q4_K: 12, Q5_K: 13, Q6_K: 14, BF16: 30,
} as const;

export function ggmlTypeInfo(id: number): GgmlTypeInfo | undefined {
  return BY_ID.get(id);
}

/** Bytes holding `count` values; count must be a whole number of blocks. */
export function ggmlByteLength(id: number, count: number): number {
  const t = requireType(id);
  if (count % t.blockSize !== 0) {
    throw new ErnieError('BAD_REQUEST', `${count} values are not a whole number of ${t.name} blocks (${t.blockSize} values each)`);
  }
  return (count / t.blockSize) * t.typeSize;
}

/** `count` values of type `id` from their raw little-endian bytes, as f32. */
export function dequantize(id: number, bytes: Uint8Array, count: number): Float32Array {
  const t = requireType(id);
  const decode = DECODERS[id];
  if (!decode) throw new ErnieError('UNSUPPORTED', `dequantizing ${t.name} tensors is not supported`);
  const need = ggmlByteLength(id, count);
  if (bytes.length < need) throw new ErnieError('BAD_REQUEST', `${count} ${t.name} values need ${need} bytes, got ${bytes.length}`);
  const out = new Float32Array(count);
  decode(bytes, count / t.blockSize, out);
  return out;
}

function requireType(id: number): GgmlTypeInfo {
  const t = BY_ID.get(id);
  if (!t) throw new ErnieError('UNSUPPORTED', `unknown ggml type ${id}`);
  return t;
}

// ---- fp16 ----

/** One IEEE half (its 16 bits) to a number; exact for subnormals, ±0, ±inf and NaN. */
export const f16ToF32 = f16BitsToNumber;

let f16Table: Float32Array | undefined;

/** The f16 at b[o..o+1] (little-endian), via a 64K-entry table built on first use. */
function f16At(b: Uint8Array, o: number): number {
  if (!f16Table) {
    f16Table = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) f16Table[h] = f16ToF32(h);
  }
  return f16Table[b[o]! | (b[o + 1]! << 8)]!;
}

const fr = Math.fround;

// ---- plain element types ----

type Decoder = (b: Uint8Array, blocks: number, out: Float32Array) => void;

function decodeF32(b: Uint8Array, n: number, out: Float32Array): void {
  new Uint8Array(out.buffer).set(b.subarray(0, n * 4));
}

function decodeF16(b: Uint8Array, n: number, out: Float32Array): void {
  for (let i = 0; i < n; i++) out[i] = f16At(b, 2 * i);
}

function decodeBF16(b: Uint8Array, n: number, out: Float32Array): void {
  const bits = new Uint32Array(out.buffer);
  for (let i = 0; i < n; i++) bits[i] = ((b[2 * i]! | (b[2 * i + 1]! << 8)) << 16) >>> 0;
}

// ---- 32-value blocks ----

/** Q8_0 [34 B]: f16 d, i8 q[32]; x = d*q. */
function decodeQ8_0(b: Uint8Array, blocks: number, out: Float32Array): void {
  for (let i = 0; i < blocks; i++) {
    const o = i * 34, d = f16At(b, o);
    for (let j = 0; j < 32; j++) out[i * 32 + j] = d * ((b[o + 2 + j]! << 24) >> 24);
  }
}

/** Q4_0 [18 B]: f16 d, u8 qs[16] (low nibbles = values 0..15, high = 16..31); x = d*(q-8). */
function decodeQ4_0(b: Uint8Array, blocks: number, out: Float32Array): void {
  for (let i = 0; i < blocks; i++) {
    const o = i * 18, d = f16At(b, o), y = i * 32;
    for (let j = 0; j < 16; j++) {
      const q = b[o + 2 + j]!;
      out[y + j] = d * ((q & 15) - 8);
      out[y + j + 16] = d * ((q >> 4) - 8);
    }
  }
}

/** Q4_1 [20 B]: f16 d, f16 m, u8 qs[16] (nibbles as Q4_0); x = d*q + m. */
function decodeQ4_1(b: Uint8Array, blocks: number, out: Float32Array): void {
  for (let i = 0; i < blocks; i++) {
    const o = i * 20, d = f16At(b, o), m = f16At(b, o + 2), y = i * 32;
    for (let j = 0; j < 16; j++) {
      const q = b[o + 4 + j]!;
      out[y + j] = fr(d * (q & 15)) + m;
      out[y + j + 16] = fr(d * (q >> 4)) + m;
    }
  }
}

/** Q5_0 [22 B]: f16 d, u32 qh (bit j = bit 4 of value j), u8 qs[16]; x = d*(q-16). */
function decodeQ5_0(b: Uint8Array, blocks: number, out: Float32Array): void {
  for (let i = 0; i < blocks; i++) {
    const o = i * 22, d = f16At(b, o), y = i * 32;
    const qh = (b[o + 2]! | (b[o + 3]! << 8) | (b[o + 4]! << 16) | (b[o + 5]! << 24)) >>> 0;
    for (let j = 0; j < 16; j++) {
      const q = b[o + 6 + j]!;
      out[y + j] = d * (((q & 15) | (((qh >>> j) & 1) << 4)) - 16);
      out[y + j + 16] = d * (((q >> 4) | (((qh >>> (j + 16)) & 1) << 4)) - 16);
    }
  }
}

// ---- 256-value K-quant super-blocks ----

/**
 * Q2_K [84 B]: u8 sc[16], u8 qs[64], f16 d, f16 dmin. Group j (values 16j..16j+15):
 * x = d*(sc&15)*q - dmin*(sc>>4). Value 128h+32k+l has q = (qs[32h+l] >> 2k) & 3.
 */
function decodeQ2_K(b: Uint8Array, blocks: number, out: Float32Array): void {
  for (let i = 0; i < blocks; i++) {
    const o = i * 84, d = f16At(b, o + 80), dmin = f16At(b, o + 82), y = i * 256;
    for (let v = 0; v < 256; v++) {
      const h = v >> 7, k = (v >> 5) & 3, l = v & 31;
      const sc = b[o + (v >> 4)]!;
      const q = (b[o + 16 + 32 * h + l]! >> (2 * k)) & 3;
      out[y + v] = fr(fr(d * (sc & 15)) * q) - fr(dmin * (sc >> 4));
    }
  }
}

/**
 * Q3_K [110 B]: u8 hmask[32], u8 qs[64], u8 s[12], f16 d. x = d*(S-32)*(q-4) with the 6-bit
 * scale S of group j = v>>4; q's low 2 bits as in Q2_K, bit 2 of value 32b+m = bit b of hmask[m].
 */
function decodeQ3_K(b: Uint8Array, blocks: number, out: Float32Array): void {
  const dl = new Float64Array(16);
  for (let i = 0; i < blocks; i++) {
    const o = i * 110, d = f16At(b, o + 108), s = o + 96, y = i * 256;
    for (let j = 0; j < 16; j++) {
      const lo = j < 8 ? b[s + j]! & 15 : b[s + j - 8]! >> 4;
      const hi = (b[s + 8 + (j & 3)]! >> (2 * (j >> 2))) & 3;
      dl[j] = fr(d * ((lo | (hi << 4)) - 32));
    }
    for (let v = 0; v < 256; v++) {
      const h = v >> 7, k = (v >> 5) & 3, l = v & 31;
      const low = (b[o + 32 + 32 * h + l]! >> (2 * k)) & 3;
      const high = (b[o + l]! >> (v >> 5)) & 1;
      out[y + v] = dl[v >> 4]! * ((low | (high << 2)) - 4);
    }
  }
}

/** The 6-bit (scale, min) pair of group j in the 12-byte Q4_K/Q5_K scale array at b[s..]. */
function scaleMinK4(b: Uint8Array, s: number, j: number): [number, number] {
  if (j < 4) return [b[s + j]! & 63, b[s + j + 4]! & 63];
  return [(b[s + j + 4]! & 15) | ((b[s + j - 4]! >> 6) << 4), (b[s + j + 4]! >> 4) | ((b[s + j]! >> 6) << 4)];
}

/**
 * Q4_K [144 B]: f16 d, f16 dmin, u8 s[12], u8 qs[128]. 8 groups of 32: x = d*sc*q - dmin*m.
 * Value 64g+l has q = qs[32g+l] & 15; value 64g+32+l has q = qs[32g+l] >> 4.
 */
function decodeQ4_K(b: Uint8Array, blocks: number, out: Float32Array): void {
  for (let i = 0; i < blocks; i++) {
    const o = i * 144, d = f16At(b, o), dmin = f16At(b, o + 2), y = i * 256;
    for (let j = 0; j < 8; j++) {
      const [sc, m] = scaleMinK4(b, o + 4, j);
      const d1 = fr(d * sc), m1 = fr(dmin * m);
      const qs = o + 16 + 32 * (j >> 1), shift = 4 * (j & 1);
      for (let l = 0; l < 32; l++) out[y + 32 * j + l] = fr(d1 * ((b[qs + l]! >> shift) & 15)) - m1;
    }
  }
}

/** Q5_K [176 B]: f16 d, f16 dmin, u8 s[12], u8 qh[32], u8 qs[128]; Q4_K plus bit 4 of value 32b+l = bit b of qh[l]. */
function decodeQ5_K(b: Uint8Array, blocks: number, out: Float32Array): void {
  for (let i = 0; i < blocks; i++) {
    const o = i * 176, d = f16At(b, o), dmin = f16At(b, o + 2), y = i * 256;
    for (let j = 0; j < 8; j++) {
      const [sc, m] = scaleMinK4(b, o + 4, j);
      const d1 = fr(d * sc), m1 = fr(dmin * m);
      const qs = o + 48 + 32 * (j >> 1), shift = 4 * (j & 1);
      for (let l = 0; l < 32; l++) {
        const q = ((b[qs + l]! >> shift) & 15) | (((b[o + 16 + l]! >> j) & 1) << 4);
        out[y + 32 * j + l] = fr(d1 * q) - m1;
      }
    }
  }
}

/**
 * Q6_K [210 B]: u8 ql[128], u8 qh[64], i8 sc[16], f16 d. Group j = v>>4: x = d*sc*(q-32).
 * Value 128h+32k+l: low 4 bits (ql[64h+32(k&1)+l] >> 4(k>>1)) & 15, high 2 bits (qh[32h+l] >> 2k) & 3.
 */
function decodeQ6_K(b: Uint8Array, blocks: number, out: Float32Array): void {
  for (let i = 0; i < blocks; i++) {
    const o = i * 210, d = f16At(b, o + 208), y = i * 256;
    for (let v = 0; v < 256; v++) {
      const h = v >> 7, k = (v >> 5) & 3, l = v & 31;
      const low = (b[o + 64 * h + 32 * (k & 1) + l]! >> (4 * (k >> 1))) & 15;
      const high = (b[o + 128 + 32 * h + l]! >> (2 * k)) & 3;
      const sc = (b[o + 192 + (v >> 4)]! << 24) >> 24;
      out[y + v] = fr(d * sc) * ((low | (high << 4)) - 32);
    }
  }
}

const DECODERS: Record<number, Decoder | undefined> = {
  [GgmlType.F32]: decodeF32,
  [GgmlType.F16]: decodeF16,
  [GgmlType.BF16]: decodeBF16,
  [GgmlType.Q4_0]: decodeQ4_0,
  [GgmlType.Q4_1]: decodeQ4_1,
  [GgmlType.Q5_0]: decodeQ5_0,
  [GgmlType.Q8_0]: decodeQ8_0,
  [GgmlType.Q2_K]: decodeQ2_K,
  [GgmlType.Q3_K]: decodeQ3_K,
  [GgmlType.Q4_K]: decodeQ4_K,
  [GgmlType.Q5_K]: decodeQ5_K,
  [GgmlType.Q6_K]: decodeQ6_K,
};
