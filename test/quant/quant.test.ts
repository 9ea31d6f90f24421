// The quantizers and reference decoders of src/quant: f16 encoding, the round-trip error each
// layout promises (documented bounds below), rows of any width, byte-level layouts checked
// against FORMAT.md with independent decoders, GGUF compatibility of the shared layouts, and
// quality against llama.cpp's own reference quantizers on the k256 fixture.
import { describe, expect, test } from 'vitest';
import { ErnieError } from '../../src/errors';
import { fromPath } from '../../src/formats/node_source';
import { GgufFile } from '../../src/formats/gguf';
import { ggufWeightLookup } from '../../src/formats/gguf_ernie';
import { SafetensorsFile } from '../../src/formats/safetensors';
import { f16BitsToNumber, f32ToF16Bits, roundF16 } from '../../src/quant/f16';
import { dequantize as ggmlDequantize, f16ToF32 } from '../../src/quant/ggml_blocks';
import {
  IQ4NL_VALUES, LAYOUTS, type LayoutId, bitsPerWeight, dequantizeRows, layoutFor, quantize, rowBytes, tensorBytes,
} from '../../src/quant/layouts';
import { gaussian, relMse } from './helpers';

const QUANT_LAYOUTS: LayoutId[] = ['q4_k', 'q2_k', 'q6_k', 'q8_0', 'q4_0', 'iq4_nl', 'q2_g32'];

describe('f16', () => {
  test('every finite f16 value encodes back to its own bits', () => {
    const bad: number[] = [];
    for (let h = 0; h < 0x10000; h++) {
      if ((h & 0x7c00) === 0x7c00) continue; // inf / NaN
      if (f32ToF16Bits(f16BitsToNumber(h)) !== h || f16BitsToNumber(h) !== f16ToF32(h)) bad.push(h);
    }
    expect(bad).toEqual([]);
  });

  test('rounds to nearest, ties to even, subnormals and overflow included', () => {
    expect(f32ToF16Bits(1 + 2 ** -11)).toBe(0x3c00); // tie -> even (1.0)
    expect(f32ToF16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02); // tie -> even (1 + 2^-9)
    expect(f32ToF16Bits(1 + 2 ** -11 + 2 ** -20)).toBe(0x3c01);
    expect(f32ToF16Bits(2 ** -24)).toBe(1); // smallest subnormal
    expect(f32ToF16Bits(2 ** -25)).toBe(0); // tie -> even (0)
    expect(f32ToF16Bits(1.5 * 2 ** -25)).toBe(1);
    expect(f32ToF16Bits(1.7e-5)).toBe(Math.round(1.7e-5 / 2 ** -24)); // a Q6_K-sized subnormal scale
    expect(f32ToF16Bits(65504)).toBe(0x7bff);
    expect(f32ToF16Bits(65520)).toBe(0x7c00); // rounds up to inf
    expect(f32ToF16Bits(-0)).toBe(0x8000);
    expect(roundF16(0.1)).toBe(f16BitsToNumber(0x2e66));
  });
});

// Expected round-trip error on N(0, 1) data: relative MSE = Σ(x - x̂)² / Σx², measured over
// 256 rows x 1024 columns. The bounds sit ~10-15% above what the quantizers reach (measured
// values in the comments); every K layout also beats llama.cpp's reference quantizer on the
// k256 fixture (test below).
const REL_MSE_BOUND: Record<LayoutId, number> = {
  q8_0: 3e-5, // 2.2e-5
  q6_k: 3.2e-4, // 2.7e-4
  q4_k: 5.4e-3, // 4.8e-3
  iq4_nl: 6e-3, // 5.4e-3
  q4_0: 7.3e-3, // 6.5e-3
  q2_k: 7.5e-2, // 6.7e-2
  q2_g32: 9.8e-2, // 8.8e-2
  f16: 1e-7, // |x - x̂| <= 2^-11 |x|
  f32: 0,
};

describe('round trip', () => {
  const rows = 256, cols = 1024;
  const x = gaussian(rows * cols, 1, 1);
  test.each([...QUANT_LAYOUTS, 'f16', 'f32'] as LayoutId[])('%s: size, bits per weight and error bound', (layout) => {
    const q = quantize(layout, x, rows, cols);
    expect(q.length).toBe(tensorBytes(layout, rows, cols));
    expect((q.length * 8) / x.length).toBeCloseTo(bitsPerWeight(layout), 10);
    const y = dequantizeRows(layout, q, rows, cols);
    expect(y.length).toBe(x.length);
    expect(relMse(x, y)).toBeLessThanOrEqual(REL_MSE_BOUND[layout]);
  });

  test('each block beats plain min/max (absmax) scaling on average', () => {
    // The naive choice for Q4_0: d = (signed absmax) / -8, as llama.cpp's Q4_0 reference does.
    const naive = new Float32Array(x.length);
    for (let b = 0; b < x.length; b += 32) {
      let amax = 0;
      for (let i = b; i < b + 32; i++) if (Math.abs(x[i]!) > Math.abs(amax)) amax = x[i]!;
      const d = roundF16(amax / -8);
      for (let i = b; i < b + 32; i++) naive[i] = d * (Math.min(15, Math.max(0, Math.round(x[i]! / d + 8))) - 8);
    }
    const ours = dequantizeRows('q4_0', quantize('q4_0', x, rows, cols), rows, cols);
    expect(relMse(x, ours)).toBeLessThan(0.92 * relMse(x, naive));
  });

  test('scale-free: the same relative error at weight scale 0.02 (f16 subnormal Q6_K scales)', () => {
    const small = x.map((v) => v * 0.02);
    for (const layout of ['q6_k', 'q4_k', 'q2_k'] as LayoutId[]) {
      const y = dequantizeRows(layout, quantize(layout, small, rows, cols), rows, cols);
      expect(relMse(small, y), layout).toBeLessThanOrEqual(REL_MSE_BOUND[layout] * 1.05);
    }
  });

  test('column weights lower the error where they are large', () => {
    const w = Float32Array.from({ length: cols }, (_, k) => (k % 2 === 0 ? 4 : 0.25));
    const plain = dequantizeRows('q4_k', quantize('q4_k', x, rows, cols), rows, cols);
    const weighted = dequantizeRows('q4_k', quantize('q4_k', x, rows, cols, { columnWeights: w }), rows, cols);
    const err = (y: Float32Array) => {
      let e = 0;
      for (let i = 0; i < x.length; i++) e += w[i % cols]! * (x[i]! - y[i]!) ** 2;
      return e;
    };
    expect(err(weighted)).toBeLessThan(0.97 * err(plain));
  });

  test("'fast' effort stays within 2% of 'best'", () => {
    for (const layout of ['q4_k', 'q2_k'] as LayoutId[]) {
      const xs = x.subarray(0, 64 * cols);
      const fast = dequantizeRows(layout, quantize(layout, xs, 64, cols, { effort: 'fast' }), 64, cols);
      const best = dequantizeRows(layout, quantize(layout, xs, 64, cols), 64, cols);
      expect(relMse(xs, best)).toBeLessThanOrEqual(relMse(xs, fast));
      expect(relMse(xs, fast)).toBeLessThan(1.02 * relMse(xs, best));
    }
  });
});

describe('rows of any width', () => {
  const widths = [1, 5, 31, 33, 48, 96, 130, 255, 257, 300];
  test.each(QUANT_LAYOUTS)('%s: partial last blocks are padded and decode to the right values', (layout) => {
    const B = LAYOUTS[layout].blockValues;
    for (const cols of widths) {
      const rows = 3;
      const x = gaussian(rows * cols, cols, 0.05);
      const q = quantize(layout, x, rows, cols);
      expect(q.length, `${cols}`).toBe(rows * Math.ceil(cols / B) * LAYOUTS[layout].blockBytes);
      expect(rowBytes(layout, cols)).toBe(Math.ceil(cols / B) * LAYOUTS[layout].blockBytes);
      const y = dequantizeRows(layout, q, rows, cols);
      expect(y.length).toBe(rows * cols);
      // Tiny blocks (a few values) can be fit almost exactly; full ones stay within the bound.
      expect(relMse(x, y), `${layout} cols ${cols}`).toBeLessThanOrEqual(REL_MSE_BOUND[layout] * 1.6);
      // Rows are independent: row 1 alone quantizes to the same bytes.
      const row1 = quantize(layout, x.subarray(cols, 2 * cols), 1, cols);
      expect(row1).toEqual(q.subarray(rowBytes(layout, cols), 2 * rowBytes(layout, cols)));
    }
  });

  test('padded positions of the symmetric layouts decode to exactly 0', () => {
    const cols = 40, x = gaussian(cols, 3, 1);
    for (const [layout, B] of [['q4_0', 32], ['q8_0', 32], ['q6_k', 256]] as const) {
      const q = quantize(layout, x, 1, cols);
      const padded = ggmlDequantize(LAYOUTS[layout].ggmlType!, q, Math.ceil(cols / B) * B);
      for (let i = cols; i < padded.length; i++) expect(padded[i] === 0, `${layout} ${i}`).toBe(true);
    }
  });
});

describe('byte layouts (FORMAT.md), decoded independently', () => {
  const h = (b: Uint8Array, o: number) => f16BitsToNumber(b[o]! | (b[o + 1]! << 8));

  test('Q2_G32: f16 d, f16 m, qs[8]; value 8k+l = d*((qs[l] >> 2k) & 3) + m', () => {
    const x = gaussian(32 * 4, 11, 0.1);
    const q = quantize('q2_g32', x, 4, 32);
    const got = dequantizeRows('q2_g32', q, 4, 32);
    for (let blk = 0; blk < 4; blk++) {
      const o = blk * 12, d = h(q, o), m = h(q, o + 2);
      for (let v = 0; v < 32; v++) {
        const code = (q[o + 4 + (v % 8)]! >> (2 * Math.floor(v / 8))) & 3;
        expect(got[blk * 32 + v]).toBe(Math.fround(Math.fround(d * code) + m));
      }
    }
  });

  test('IQ4_NL: f16 d, qs[16]; value j = d*T[qs[j] & 15], value j+16 = d*T[qs[j] >> 4]', () => {
    const T = [-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113];
    expect([...IQ4NL_VALUES]).toEqual(T);
    const x = gaussian(64, 12, 0.1);
    const q = quantize('iq4_nl', x, 1, 64);
    const got = dequantizeRows('iq4_nl', q, 1, 64);
    for (let blk = 0; blk < 2; blk++) {
      const o = blk * 18, d = h(q, o);
      for (let j = 0; j < 16; j++) {
        expect(got[blk * 32 + j]).toBe(Math.fround(d * T[q[o + 2 + j]! & 15]!));
        expect(got[blk * 32 + j + 16]).toBe(Math.fround(d * T[q[o + 2 + j]! >> 4]!));
      }
    }
  });

  test('the GGUF-identical layouts decode exactly as ggml_blocks (the GGUF reference decoder)', () => {
    const x = gaussian(4 * 512, 13, 0.02);
    for (const layout of ['q4_k', 'q2_k', 'q6_k', 'q8_0', 'q4_0'] as LayoutId[]) {
      const q = quantize(layout, x, 4, 512);
      expect(dequantizeRows(layout, q, 4, 512), layout).toEqual(ggmlDequantize(LAYOUTS[layout].ggmlType!, q, x.length));
    }
  });

  test('Q4_K/Q2_K: groups of different magnitudes each get their own sub-scale', () => {
    // group j of 32 values scaled by (j + 1): sub-scales spread over the 6-bit (Q4_K) / 4-bit (Q2_K) range
    const x = gaussian(512, 14, 0.01);
    for (let i = 0; i < 512; i++) x[i] = x[i]! * (((i >> 5) & 7) + 1);
    for (const [layout, bound] of [['q4_k', 6e-3], ['q2_k', 9e-2]] as const) {
      const y = dequantizeRows(layout, quantize(layout, x, 2, 256), 2, 256);
      for (let g = 0; g < 16; g++) {
        expect(relMse(x.subarray(32 * g, 32 * g + 32), y.subarray(32 * g, 32 * g + 32)), `${layout} group ${g}`).toBeLessThan(bound * 2);
      }
      expect(relMse(x, y)).toBeLessThan(bound);
    }
  });
});

describe('scheme selection', () => {
  test('K layouts for rows that are multiples of 256, 32-value blocks otherwise', () => {
    expect([256, 512, 2560].map((c) => layoutFor('q4', c))).toEqual(['q4_k', 'q4_k', 'q4_k']);
    expect([32, 128, 130].map((c) => layoutFor('q4', c))).toEqual(['iq4_nl', 'iq4_nl', 'iq4_nl']);
    expect([layoutFor('q2', 1536), layoutFor('q2', 32)]).toEqual(['q2_k', 'q2_g32']);
    expect([layoutFor('q6', 256), layoutFor('q6', 128), layoutFor('q8', 256), layoutFor('f16', 7)]).toEqual(['q6_k', 'q8_0', 'q8_0', 'f16']);
    // quantize / dequantizeRows take a scheme too, resolved per row length
    const x = gaussian(2 * 96, 21, 0.1);
    expect(quantize('q4', x, 2, 96)).toEqual(quantize('iq4_nl', x, 2, 96));
    expect(dequantizeRows('q2', quantize('q2', x, 1, 192), 1, 192)).toEqual(dequantizeRows('q2_g32', quantize('q2_g32', x, 1, 192), 1, 192));
    expect(bitsPerWeight('q4_k')).toBe(4.5);
    expect(bitsPerWeight('iq4_nl')).toBe(4.5);
    expect(bitsPerWeight('q2_k')).toBe(2.625);
    expect(bitsPerWeight('q2_g32')).toBe(3);
    expect(bitsPerWeight('q6_k')).toBe(6.5625);
  });
});

describe('bad input', () => {
  test('is a typed ErnieError', () => {
    const x = new Float32Array(64);
    expect(() => quantize('q4_k', x, 2, 33)).toThrow(/64 values are not \[2, 33\]/);
    expect(() => quantize('q4_k', x, 1, 0)).toThrow(ErnieError);
    expect(() => quantize('q9' as LayoutId, x, 1, 64)).toThrow(/unknown layout/);
    expect(() => quantize('q4_0', Float32Array.of(...x.subarray(0, 63), NaN), 2, 32)).toThrow(/value NaN at \[1, 31\]/);
    expect(() => quantize('f16', Float32Array.of(1e6), 1, 1)).toThrow(/outside the f16 range/);
    expect(() => quantize('q4_0', x, 2, 32, { columnWeights: new Float32Array(31) })).toThrow(/31 column weights/);
    expect(() => quantize('q4_0', x, 2, 32, { columnWeights: new Float32Array(32).fill(-1) })).toThrow(/must be finite and >= 0/);
    expect(() => dequantizeRows('q4_k', new Uint8Array(100), 1, 256)).toThrow(/needs 144 bytes, got 100/);
  });
});

describe('quality against llama.cpp on the k256 fixture (same layouts, same bits)', () => {
  test('our Q4_K and Q2_K have lower squared error than the GGUF reference quantizers', async () => {
    const st = await SafetensorsFile.open(fromPath('test/fixtures/ernie45-moe-k256/model.safetensors'));
    const gguf = ggufWeightLookup(await GgufFile.open(fromPath('test/fixtures/gguf/ernie45-moe-k256-q2_k.gguf')));
    const sums: Record<string, [number, number, number]> = {}; // layout -> [ours, llama.cpp, Σx²]
    for (const name of st.names()) {
      const info = st.info(name);
      if (info.shape.length !== 2 || /mlp\.gate\.weight|moe_statics/.test(name)) continue;
      const ref = gguf.resolve(name);
      const layout = ref.typeName === 'Q2_K' ? 'q2_k' : 'q4_k';
      // a sample of each tensor keeps this fast: its first 64 rows
      const [rows, cols] = [Math.min(64, info.shape[0]!), info.shape[1]!];
      const x = (await st.readF32(name)).subarray(0, rows * cols);
      const theirs = (await gguf.readF32(name)).subarray(0, rows * cols);
      const ours = dequantizeRows(layout, quantize(layout, x, rows, cols), rows, cols);
      const s = (sums[layout] ??= [0, 0, 0]);
      for (let i = 0; i < x.length; i++) {
        s[0] += (x[i]! - ours[i]!) ** 2;
        s[1] += (x[i]! - theirs[i]!) ** 2;
        s[2] += x[i]! ** 2;
      }
    }
    const [q4o, q4l] = [sums.q4_k![0] / sums.q4_k![2], sums.q4_k![1] / sums.q4_k![2]];
    const [q2o, q2l] = [sums.q2_k![0] / sums.q2_k![2], sums.q2_k![1] / sums.q2_k![2]];
    console.log(`relative MSE, ours vs llama.cpp: Q4_K ${q4o.toExponential(3)} vs ${q4l.toExponential(3)}, Q2_K ${q2o.toExponential(3)} vs ${q2l.toExponential(3)}`);
    expect(q4o).toBeLessThan(0.97 * q4l);
    expect(q2o).toBeLessThan(0.85 * q2l);
  });
});
