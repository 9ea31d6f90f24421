// Random weights made directly as ggml blocks (Q4_0, Q8_0, Q4_K, F16, F32), for test and bench
// models: random codes under random block scales chosen so the decoded values have a given
// standard deviation and mean ~0. No float values are drawn and quantized, so gigabytes are made
// in seconds. Seeded: the same generator state gives the same bytes.
import { ErnieError } from '../errors';
import { f32ToF16Bits } from './f16';
import { GgmlType, ggmlTypeInfo } from './ggml_blocks';

/** sfc32: a small, fast, seedable generator (not cryptographic). */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d = 1;

  constructor(seed: number) {
    this.a = 0x9e3779b9 ^ seed;
    this.b = 0x243f6a88 + seed * 0x85ebca6b;
    this.c = 0xb7e15162 ^ (seed >>> 7);
    for (let i = 0; i < 12; i++) this.u32();
  }

  u32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1). */
  uniform(): number {
    return this.u32() / 4294967296;
  }

  fill(out: Uint32Array): void {
    for (let i = 0; i < out.length; i++) out[i] = this.u32();
  }
}

/** A 32-bit seed from a string and a number (FNV-1a), e.g. a tensor name and the model's seed. */
export function seedOf(name: string, seed: number): number {
  let h = 0x811c9dc5 ^ seed;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** Types randomBlocks makes. */
export const RANDOM_BLOCK_TYPES: readonly number[] = [GgmlType.F32, GgmlType.F16, GgmlType.Q4_0, GgmlType.Q8_0, GgmlType.Q4_K];

// Standard deviation of the codes: uniform 4-bit codes (q - 8) and uniform int8.
const SD_U4 = Math.sqrt((16 * 16 - 1) / 12);
const SD_I8 = Math.sqrt((256 * 256 - 1) / 12);
const F16_TABLE_BITS = 10;

/**
 * `count` values of ggml type `type` (a whole number of blocks) with standard deviation ~`sd`
 * around `mean` (mean: F32/F16 only; the block types average 0 over blocks).
 */
export function randomBlocks(type: number, count: number, sd: number, rng: Rng, mean = 0): Uint8Array<ArrayBuffer> {
  const info = ggmlTypeInfo(type);
  if (!info || !RANDOM_BLOCK_TYPES.includes(type)) throw new ErnieError('UNSUPPORTED', `random weights in ggml type ${info?.name ?? type} are not supported (F32, F16, Q4_0, Q8_0, Q4_K)`);
  if (count % info.blockSize !== 0) throw new ErnieError('BAD_REQUEST', `${count} values are not a whole number of ${info.name} blocks`);
  const blocks = count / info.blockSize;
  const bytes = blocks * info.typeSize;
  // Random bytes everywhere first (codes), then each block's scales written over them.
  const out = new Uint8Array(Math.ceil(bytes / 4) * 4);
  rng.fill(new Uint32Array(out.buffer));
  const view = new DataView(out.buffer);
  // Scales jitter by ±25% block to block, so blocks differ in magnitude as real ones do, and take
  // a random sign: uniform codes are not centred (4-bit q - 8 averages -0.5), the sign evens it out.
  const jitter = () => (0.75 + 0.5 * rng.uniform()) * (rng.u32() & 1 ? -1 : 1);
  if (type === GgmlType.F32) {
    const f = new Float32Array(out.buffer, 0, count);
    const half = Math.sqrt(3) * sd;
    for (let i = 0; i < count; i++) f[i] = mean + half * (2 * rng.uniform() - 1);
  } else if (type === GgmlType.F16) {
    // Uniform on [mean - √3 sd, mean + √3 sd]: 10 random bits pick one of 1024 evenly spaced values.
    const n = 1 << F16_TABLE_BITS;
    const table = new Uint16Array(n);
    for (let i = 0; i < n; i++) table[i] = f32ToF16Bits(mean + Math.sqrt(3) * sd * (((i + 0.5) / n) * 2 - 1));
    const u16 = new Uint16Array(out.buffer, 0, count);
    for (let i = 0; i < count; i++) u16[i] = table[u16[i]! & (n - 1)]!;
  } else if (type === GgmlType.Q4_0) {
    for (let b = 0; b < blocks; b++) view.setUint16(b * 18, f32ToF16Bits((sd / SD_U4) * jitter()), true);
  } else if (type === GgmlType.Q8_0) {
    for (let b = 0; b < blocks; b++) view.setUint16(b * 34, f32ToF16Bits((sd / SD_I8) * jitter()), true);
  } else {
    // Q4_K: value = d * sc * q - dmin * m per 32-value sub-block. With dmin = d and m = 7.5 sc
    // the sub-block is centred (codes average 7.5); sc in {4, 6, 8} makes m whole and within 6 bits.
    const sc = new Array<number>(8), m = new Array<number>(8);
    for (let b = 0; b < blocks; b++) {
      const p = b * 144;
      let meanSc = 0;
      for (let j = 0; j < 8; j++) {
        sc[j] = 4 + 2 * (rng.u32() % 3);
        m[j] = sc[j]! * 7.5;
        meanSc += sc[j]! / 8;
      }
      // d >= 0 as every real Q4_K block has (llama.cpp's CPU kernels disagree with a plain decode on negative d)
      const d = f32ToF16Bits((sd / (meanSc * SD_U4)) * Math.abs(jitter()));
      view.setUint16(p, d, true);
      view.setUint16(p + 2, d, true);
      packScalesK4(sc, m, out, p + 4);
    }
  }
  return bytes === out.length ? out : out.slice(0, bytes);
}

/** The 12 bytes of 6-bit scales and mins of a Q4_K / Q5_K block (ggml's get_scale_min_k4, inverted). */
export function packScalesK4(sc: readonly number[], m: readonly number[], out: Uint8Array, p: number): void {
  for (let j = 0; j < 4; j++) {
    out[p + j] = (sc[j]! & 63) | ((sc[j + 4]! >> 4) << 6);
    out[p + j + 4] = (m[j]! & 63) | ((m[j + 4]! >> 4) << 6);
    out[p + j + 8] = (sc[j + 4]! & 15) | ((m[j + 4]! & 15) << 4);
  }
}
