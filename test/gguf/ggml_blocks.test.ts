// The ggml type table and the CPU dequantizers: hand-built blocks checked against the layouts,
// fp16 subnormals, and every quantized fixture tensor against its higher-precision original.
import { describe, expect, test } from 'vitest';
import { ErnieError } from '../../src/errors';
import type { GgufFile, GgufTensorInfo } from '../../src/formats/gguf';
import { GgmlType, dequantize, f16ToF32, ggmlByteLength, ggmlTypeInfo } from '../../src/quant/ggml_blocks';
import { K256_FILES, TINY_FILES, openGguf } from './helpers';

const fr = Math.fround;

describe('type table', () => {
  test.each([
    ['F32', 0, 1, 4], ['F16', 1, 1, 2], ['Q4_0', 2, 32, 18], ['Q4_1', 3, 32, 20], ['Q5_0', 6, 32, 22],
    ['Q5_1', 7, 32, 24], ['Q8_0', 8, 32, 34], ['Q8_1', 9, 32, 36], ['Q2_K', 10, 256, 84], ['Q3_K', 11, 256, 110],
    ['Q4_K', 12, 256, 144], ['Q5_K', 13, 256, 176], ['Q6_K', 14, 256, 210], ['Q8_K', 15, 256, 292], ['BF16', 30, 1, 2],
  ] as const)('%s is id %i, %i values in %i bytes', (name, id, blockSize, typeSize) => {
    expect(ggmlTypeInfo(id)).toMatchObject({ name, blockSize, typeSize });
  });

  test('sizes agree with the fixtures: each tensor ends where the next (aligned) one starts', async () => {
    for (const name of [...TINY_FILES, ...K256_FILES]) {
      const g = await openGguf(name);
      const ts = [...g.tensors.values()].sort((a, b) => a.offset - b.offset);
      let end = g.dataOffset;
      for (const t of ts) {
        expect(t.offset, `${name} ${t.name}`).toBe(Math.ceil(end / g.alignment) * g.alignment);
        end = t.offset + t.byteLength;
      }
      expect(end).toBe(await g.src.size());
    }
  });

  test('unknown, unsupported and partial-block requests are ErnieErrors', () => {
    expect(() => dequantize(4, new Uint8Array(18), 32)).toThrow(/unknown ggml type 4/);
    expect(() => dequantize(7, new Uint8Array(24), 32)).toThrow(/Q5_1 tensors is not supported/);
    expect(() => dequantize(GgmlType.Q4_0, new Uint8Array(18), 16)).toThrow(ErnieError);
    expect(() => dequantize(GgmlType.Q4_0, new Uint8Array(17), 32)).toThrow(/need 18 bytes/);
    expect(ggmlByteLength(GgmlType.Q6_K, 512)).toBe(420);
  });
});

test('f16 decode is exact, subnormals included', () => {
  expect(f16ToF32(0x3c00)).toBe(1);
  expect(f16ToF32(0xc000)).toBe(-2);
  expect(f16ToF32(0x7bff)).toBe(65504);
  expect(f16ToF32(0x0400)).toBe(2 ** -14); // smallest normal
  expect(f16ToF32(0x0001)).toBe(2 ** -24); // smallest subnormal
  expect(f16ToF32(0x83ff)).toBe(-1023 * 2 ** -24);
  expect(Object.is(f16ToF32(0x8000), -0)).toBe(true);
  expect(f16ToF32(0x7c00)).toBe(Infinity);
  expect(f16ToF32(0x7e00)).toBeNaN();
  const bytes = Uint8Array.from([0x01, 0x00, 0x00, 0x3c, 0xff, 0x83]);
  expect(Array.from(dequantize(GgmlType.F16, bytes, 3))).toEqual([2 ** -24, 1, -1023 * 2 ** -24]);
});

test('BF16 and F32 are bit copies', () => {
  const f = Float32Array.from([1.5, -2.25e-20, 3e30]);
  expect(dequantize(GgmlType.F32, new Uint8Array(f.buffer), 3)).toEqual(f);
  const bf = Uint8Array.from([0x80, 0x3f, 0x49, 0x40]); // 0x3f80 = 1, 0x4049 = 3.140625
  expect(Array.from(dequantize(GgmlType.BF16, bf, 2))).toEqual([1, 3.140625]);
});

// Hand-packed blocks: codes and scales are chosen, packed as each layout says, and the decoded
// values compared with the formula. `h` is an f16 scale (its bits), `q(i)` the code of value i.
const H = 0x2e66; // f16 ~0.0999
const HMIN = 0x0123; // a subnormal f16, as real Q6_K / K-quant scales often are
const d = f16ToF32(H), dmin = f16ToF32(HMIN);
const u16 = (v: number) => [v & 255, v >> 8];

describe('hand-packed blocks', () => {
  test('Q8_0', () => {
    const q = (i: number) => ((i * 37) % 256) - 128;
    const b = [...u16(H), ...Array.from({ length: 32 }, (_, i) => q(i) & 255)];
    const x = dequantize(GgmlType.Q8_0, Uint8Array.from(b), 32);
    for (let i = 0; i < 32; i++) expect(x[i]).toBe(fr(d * q(i)));
  });

  test('Q4_0 and Q4_1', () => {
    const q = (i: number) => (i * 7 + 3) % 16;
    const qs = Array.from({ length: 16 }, (_, j) => q(j) | (q(j + 16) << 4));
    const x0 = dequantize(GgmlType.Q4_0, Uint8Array.from([...u16(H), ...qs]), 32);
    const x1 = dequantize(GgmlType.Q4_1, Uint8Array.from([...u16(H), ...u16(0xb800), ...qs]), 32); // m = -0.5
    for (let i = 0; i < 32; i++) {
      expect(x0[i]).toBe(fr(d * (q(i) - 8)));
      expect(x1[i]).toBe(fr(fr(d * q(i)) - 0.5));
    }
  });

  test('Q5_0', () => {
    const q = (i: number) => (i * 11 + 5) % 32;
    let qh = 0;
    for (let i = 0; i < 32; i++) qh |= (q(i) >> 4) << i;
    const qs = Array.from({ length: 16 }, (_, j) => (q(j) & 15) | ((q(j + 16) & 15) << 4));
    const b = [...u16(H), qh & 255, (qh >>> 8) & 255, (qh >>> 16) & 255, qh >>> 24, ...qs];
    const x = dequantize(GgmlType.Q5_0, Uint8Array.from(b), 32);
    for (let i = 0; i < 32; i++) expect(x[i]).toBe(fr(d * (q(i) - 16)));
  });

  test('Q2_K', () => {
    const q = (v: number) => (v * 5 + 1) % 4;
    const sc = Array.from({ length: 16 }, (_, j) => ((j * 3) % 16) | (((j * 7) % 16) << 4));
    const qs = new Array(64).fill(0);
    for (let v = 0; v < 256; v++) qs[32 * (v >> 7) + (v & 31)] |= q(v) << (2 * ((v >> 5) & 3));
    const x = dequantize(GgmlType.Q2_K, Uint8Array.from([...sc, ...qs, ...u16(H), ...u16(HMIN)]), 256);
    for (let v = 0; v < 256; v++) {
      const s = sc[v >> 4]!;
      expect(x[v]).toBe(fr(fr(fr(d * (s & 15)) * q(v)) - fr(dmin * (s >> 4))));
    }
  });

  test('Q3_K', () => {
    const q = (v: number) => (v * 3 + 2) % 8; // 3-bit code; x uses q - 4
    const S = (j: number) => (j * 13 + 7) % 64; // 6-bit scale; x uses S - 32
    const hmask = new Array(32).fill(0), qs = new Array(64).fill(0), s = new Array(12).fill(0);
    for (let v = 0; v < 256; v++) {
      qs[32 * (v >> 7) + (v & 31)] |= (q(v) & 3) << (2 * ((v >> 5) & 3));
      hmask[v & 31] |= (q(v) >> 2) << (v >> 5);
    }
    for (let j = 0; j < 16; j++) {
      if (j < 8) s[j] |= S(j) & 15;
      else s[j - 8] |= (S(j) & 15) << 4;
      s[8 + (j % 4)] |= (S(j) >> 4) << (2 * Math.floor(j / 4));
    }
    const x = dequantize(GgmlType.Q3_K, Uint8Array.from([...hmask, ...qs, ...s, ...u16(H)]), 256);
    for (let v = 0; v < 256; v++) expect(x[v]).toBe(fr(fr(d * (S(v >> 4) - 32)) * (q(v) - 4)));
  });

  // Q4_K / Q5_K share the 12-byte packing of eight 6-bit (scale, min) pairs.
  const sc = (j: number) => (j * 9 + 4) % 64, mn = (j: number) => (j * 23 + 1) % 64;
  function packScales(): number[] {
    const s = new Array(12).fill(0);
    for (let j = 0; j < 8; j++) {
      if (j < 4) {
        s[j] |= sc(j);
        s[j + 4] |= mn(j);
      } else {
        s[j + 4] |= (sc(j) & 15) | ((mn(j) & 15) << 4);
        s[j - 4] |= (sc(j) >> 4) << 6;
        s[j] |= (mn(j) >> 4) << 6;
      }
    }
    return s;
  }
  const kx = (v: number, q: number) => fr(fr(fr(d * sc(v >> 5)) * q) - fr(dmin * mn(v >> 5)));

  test('Q4_K', () => {
    const q = (v: number) => (v * 7 + 2) % 16;
    const qs = new Array(128).fill(0);
    for (let v = 0; v < 256; v++) qs[32 * (v >> 6) + (v & 31)] |= q(v) << (4 * ((v >> 5) & 1));
    const x = dequantize(GgmlType.Q4_K, Uint8Array.from([...u16(H), ...u16(HMIN), ...packScales(), ...qs]), 256);
    for (let v = 0; v < 256; v++) expect(x[v]).toBe(kx(v, q(v)));
  });

  test('Q5_K', () => {
    const q = (v: number) => (v * 13 + 6) % 32;
    const qs = new Array(128).fill(0), qh = new Array(32).fill(0);
    for (let v = 0; v < 256; v++) {
      qs[32 * (v >> 6) + (v & 31)] |= (q(v) & 15) << (4 * ((v >> 5) & 1));
      qh[v & 31] |= (q(v) >> 4) << (v >> 5);
    }
    const x = dequantize(GgmlType.Q5_K, Uint8Array.from([...u16(H), ...u16(HMIN), ...packScales(), ...qh, ...qs]), 256);
    for (let v = 0; v < 256; v++) expect(x[v]).toBe(kx(v, q(v)));
  });

  test('Q6_K, with a subnormal d', () => {
    const q = (v: number) => (v * 29 + 3) % 64;
    const scale = (j: number) => ((j * 37) % 256) - 128;
    const ql = new Array(128).fill(0), qh = new Array(64).fill(0);
    for (let v = 0; v < 256; v++) {
      const h = v >> 7, k = (v >> 5) & 3, l = v & 31;
      ql[64 * h + 32 * (k & 1) + l] |= (q(v) & 15) << (4 * (k >> 1));
      qh[32 * h + l] |= (q(v) >> 4) << (2 * k);
    }
    const scs = Array.from({ length: 16 }, (_, j) => scale(j) & 255);
    const x = dequantize(GgmlType.Q6_K, Uint8Array.from([...ql, ...qh, ...scs, ...u16(HMIN)]), 256);
    for (let v = 0; v < 256; v++) expect(x[v]).toBe(fr(fr(dmin * scale(v >> 4)) * (q(v) - 32)));
    expect(x.some((v) => v !== 0)).toBe(true);
  });
});

/** rms(a - b) / rms(b) over the tensors of `quant` that `keep` selects. */
async function relError(quant: GgufFile, base: GgufFile, keep: (t: GgufTensorInfo) => boolean) {
  let err = 0, ref = 0, tensors = 0;
  for (const t of quant.tensors.values()) {
    if (!keep(t)) continue;
    const [a, b] = [await quant.readF32(t.name), await base.readF32(t.name)];
    for (let i = 0; i < a.length; i++) {
      err += (a[i]! - b[i]!) ** 2;
      ref += b[i]! ** 2;
    }
    tensors++;
  }
  return { rel: Math.sqrt(err / ref), tensors };
}

describe('quantization error matches the bits', () => {
  // Relative RMS error of round-to-nearest on ~Gaussian weights, with room on both sides.
  test.each([
    ['f16', 'F16', 1e-4, 5e-4],
    ['bf16', 'BF16', 1e-3, 4e-3],
    ['q8_0', 'Q8_0', 2e-3, 1e-2],
    ['q4_0', 'Q4_0', 5e-2, 0.15],
  ] as const)('tiny-%s (%s) vs tiny-f32', async (file, type, lo, hi) => {
    const base = await openGguf('ernie45-moe-tiny-f32');
    const { rel, tensors } = await relError(await openGguf(`ernie45-moe-tiny-${file}`), base, (t) => t.typeName === type);
    console.log(`tiny-${file}: rel rms error ${rel.toExponential(2)} over ${tensors} tensors`);
    expect(tensors).toBe(38);
    expect(rel).toBeGreaterThan(lo);
    expect(rel).toBeLessThan(hi);
  });

  // No f32 k256 GGUF is shipped (too big), so the Q6_K tensors of q4_k_m (token_embd, attn_v,
  // ffn_down*; ~1% error of their own) stand in for the originals.
  test.each([
    ['q2_k', 'Q2_K', 0.2, 0.5],
    ['q2_k', 'Q4_K', 0.04, 0.15],
    ['q3_k', 'Q3_K', 0.08, 0.3],
    ['q5_k', 'Q5_K', 0.015, 0.07],
    ['q5_0', 'Q5_0', 0.015, 0.07],
    ['q4_1', 'Q4_1', 0.04, 0.15],
  ] as const)('k256-%s (%s) vs the Q6_K tensors of k256-q4_k_m', async (file, type, lo, hi) => {
    const base = await openGguf('ernie45-moe-k256-q4_k_m');
    const keep = (t: GgufTensorInfo) => t.typeName === type && base.tensor(t.name).typeName === 'Q6_K';
    const { rel, tensors } = await relError(await openGguf(`ernie45-moe-k256-${file}`), base, keep);
    console.log(`k256-${file} ${type}: rel rms error ${rel.toExponential(2)} over ${tensors} tensors`);
    expect(tensors).toBeGreaterThan(0);
    expect(rel).toBeGreaterThan(lo);
    expect(rel).toBeLessThan(hi);
  });
});
