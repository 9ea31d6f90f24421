// IEEE binary16 encoding for the quantizers' scales. Decoding is ggml_blocks.f16ToF32 (exact,
// subnormals included); this is the other direction, rounding to nearest, ties to even.

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The f16 bit pattern nearest to x (round to nearest even; overflow to ±inf; NaN stays NaN). */
export function f32ToF16Bits(x: number): number {
  f32[0] = x;
  const b = u32[0]!;
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  let mant = b & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 112; // rebias 127 -> 15
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    // f16 subnormal: value = m * 2^-24 with m = (1.mant) * 2^(e - 1 + 24 - 24)... i.e. shift right by 14 - e.
    if (e < -10) return sign; // below half the smallest subnormal
    mant |= 0x800000;
    const shift = 14 - e;
    let h = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && h & 1)) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++; // a carry into the exponent is the right answer
  return sign | h;
}

/** The f16 value of a bit pattern, as a number (exact). */
export function f16BitsToNumber(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >> 10) & 0x1f;
  const frac = bits & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1024 + frac) * 2 ** (exp - 25);
}

/** x rounded to the nearest f16 value. */
export function roundF16(x: number): number {
  return f16BitsToNumber(f32ToF16Bits(x));
}

/**
 * The f16 values next to x's nearest: [nearest, one step toward zero, one step away], same sign,
 * finite. The quantizers try each as a block scale and keep the one with the smallest error.
 */
export function f16Candidates(x: number): number[] {
  const bits = f32ToF16Bits(x);
  const mag = bits & 0x7fff;
  const sign = bits & 0x8000;
  const out = [f16BitsToNumber(bits)];
  if (mag > 0) out.push(f16BitsToNumber(sign | (mag - 1)));
  if (mag < 0x7bff) out.push(f16BitsToNumber(sign | (mag + 1)));
  return out;
}

/** Writes x as f16 (little-endian) at b[o..o+1]. */
export function putF16(b: Uint8Array, o: number, x: number): void {
  const h = f32ToF16Bits(x);
  b[o] = h & 255;
  b[o + 1] = h >> 8;
}
