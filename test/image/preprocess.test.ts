// ERNIE-4.5-VL image preprocessing against HF's own pixel_values for the fixture image, plus
// the pieces the fixture does not reach: smart_resize's rounding rules, the bicubic resize,
// and the channel arithmetic.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decodeImage } from '../../src/image/decode.js';
import { cubicKernel, resampleWeights, resizeBicubic } from '../../src/image/resize.js';
import { imageTokenCount, parsePreprocessorConfig, preprocessImage, smartResize } from '../../src/model/ernie45_vl/preprocess.js';
import { openReferenceTensors } from '../helpers/fixtures.js';
import { maxAbsDiff } from '../reference/ops.js';

const VL = 'test/fixtures/ernie45-vl-tiny';
const cfg = parsePreprocessorConfig(JSON.parse(readFileSync(`${VL}/preprocessor_config.json`, 'utf8')));

describe('pixel_values of the fixture image', () => {
  it('equal HF transformers\' pixel_values and image_grid_thw', async () => {
    const image = decodeImage(readFileSync(`${VL}/test_image.png`), { source: 'test_image.png' });
    expect([image.width, image.height]).toEqual([112, 84]);
    const out = preprocessImage(image, cfg);
    const refs = await openReferenceTensors(`${VL}/reference.safetensors`);
    const want = await refs.readF32('pixel_values');
    expect(out.pixelValues.length).toBe(want.length);
    expect(maxAbsDiff(out.pixelValues, want)).toBe(0);
    const raw = await refs.readRaw('image_grid_thw');
    const grid = Array.from(new Int32Array(raw.buffer, raw.byteOffset, 3));
    expect([out.grid.t, out.grid.h, out.grid.w]).toEqual(grid);
    expect(imageTokenCount(out.grid, cfg.mergeSize)).toBe(12);
  });

  it('rows are 2x2 merge windows in raster order of windows, each vector (C, p, p)', () => {
    // a 56x56 image whose red channel encodes the patch (row, col) it belongs to
    const W = 56, H = 56, data = new Uint8Array(W * H * 3);
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) { data[(y * W + x) * 3] = Math.floor(y / 14) * 10 + Math.floor(x / 14); data[(y * W + x) * 3 + 2] = 200; }
    const out = preprocessImage({ width: W, height: H, data }, { ...cfg, doNormalize: false, doRescale: false });
    const dim = 3 * 14 * 14;
    const firstRed = (row: number) => out.pixelValues[row * dim];
    // window (0,0): patches (0,0) (0,1) (1,0) (1,1); window (0,1): (0,2) (0,3) (1,2) (1,3); ...
    expect(Array.from({ length: 16 }, (_, r) => firstRed(r))).toEqual([0, 1, 10, 11, 2, 3, 12, 13, 20, 21, 30, 31, 22, 23, 32, 33]);
    expect(out.pixelValues[2 * 14 * 14]).toBe(200); // blue plane starts at 2*p*p
  });
});

describe('rescale + normalise', () => {
  it('is (x - f32(mean)*255) / (f32(std)*255) in f32 for every 0..255 value', () => {
    const data = new Uint8Array(28 * 28 * 3);
    for (let i = 0; i < data.length; i++) data[i] = i % 256;
    const out = preprocessImage({ width: 28, height: 28, data }, { ...cfg, minPixels: 28 * 28 });
    const f = Math.fround;
    // the first patch holds pixels (y, x) for y, x < 14 in each channel plane
    for (let c = 0; c < 3; c++)
      for (let y = 0; y < 14; y++)
        for (let x = 0; x < 14; x++) {
          const v = data[(y * 28 + x) * 3 + c];
          const want = f((v - f(f(cfg.imageMean[c]) * 255)) / f(f(cfg.imageStd[c]) * 255));
          expect(out.pixelValues[(c * 14 + y) * 14 + x]).toBe(want);
        }
  });
});

describe('smart_resize', () => {
  // expected sizes computed with HF's smart_resize in Python
  it.each([
    [84, 112, 84, 112], [70, 42, 56, 56], [42, 70, 56, 56], [100, 10, 196, 28], [2000, 3000, 1792, 2688],
    [4032, 3024, 2520, 1904], [1, 1, 56, 56], [480, 640, 476, 644], [10, 1999, 28, 812], [333, 777, 336, 784],
  ])('%i x %i -> %i x %i', (h, w, wh, ww) => {
    expect(smartResize(h, w, 28, 3136, 4842768)).toEqual({ height: wh, width: ww });
  });

  it('a 100,000 x 10 image is a typed BAD_IMAGE error (aspect ratio over 200)', () => {
    expect(() => smartResize(10, 100_000, 28, 3136, 4842768, 'wide.png')).toThrow(expect.objectContaining({ code: 'BAD_IMAGE', message: expect.stringContaining('wide.png') }));
  });

  it('honours the pixel budget of the config', () => {
    expect(smartResize(1000, 1000, 28, 3136, 200704)).toEqual({ height: 448, width: 448 });
    const small = parsePreprocessorConfig({ min_pixels: 10000, max_pixels: 20000 });
    expect([small.minPixels, small.maxPixels]).toEqual([10000, 20000]);
  });

  it('bad preprocessor configs are BAD_CONFIG errors naming the field', () => {
    expect(() => parsePreprocessorConfig({ resample: 2 })).toThrow(expect.objectContaining({ code: 'BAD_CONFIG', message: expect.stringContaining('resample') }));
    expect(() => parsePreprocessorConfig({ image_std: [1, 0, 1] })).toThrow(expect.objectContaining({ code: 'BAD_CONFIG' }));
    expect(() => parsePreprocessorConfig({ patch_size: 0 })).toThrow(expect.objectContaining({ message: expect.stringContaining('patch_size') }));
  });
});

describe('bicubic resize (torchvision uint8 antialias path)', () => {
  const rand = (n: number, seed: number) => { let s = seed; return Uint8Array.from({ length: n }, () => ((s = (s * 1103515245 + 12345) >>> 0) >>> 16) & 255); };

  it('the same size is a copy; a constant image stays constant', () => {
    const src = rand(20 * 10 * 3, 1);
    expect(resizeBicubic(src, 20, 10, 3, 20, 10)).toEqual(src);
    const flat = new Uint8Array(33 * 17 * 3).fill(173);
    for (const [w, h] of [[56, 28], [7, 5], [33, 40]]) expect(resizeBicubic(flat, 33, 17, 3, w, h).every((v) => v === 173)).toBe(true);
  });

  it('weights: normalised int16 at the widest precision that fits, support widening when downscaling', () => {
    for (const [i, o] of [[100, 28], [28, 100], [1000, 3], [5, 5 * 7]]) {
      const rw = resampleWeights(i, o);
      expect(rw.taps).toBe(Math.ceil(i >= o ? 2 * (i / o) : 2) * 2 + 1);
      let max = 0;
      for (let k = 0; k < o; k++) {
        let s = 0;
        for (let j = 0; j < rw.size[k]; j++) { s += rw.weights[k * rw.taps + j]; max = Math.max(max, rw.weights[k * rw.taps + j]); }
        expect(Math.abs(s - 2 ** rw.precision)).toBeLessThanOrEqual(rw.taps);
      }
      expect(max).toBeLessThan(1 << 15);
      expect(2 * max).toBeGreaterThanOrEqual(1 << 14); // one more bit would overflow int16
    }
  });

  it('matches an f64 separable antialiased bicubic (rounded after each pass) within 1', () => {
    const ref1d = (src: Float64Array, n: number, outN: number, get: (i: number) => number) => {
      const scale = n / outN, support = scale >= 1 ? 2 * scale : 2, inv = scale >= 1 ? 1 / scale : 1;
      const out = new Float64Array(outN);
      for (let i = 0; i < outN; i++) {
        const c = scale * (i + 0.5);
        let num = 0, den = 0;
        for (let j = Math.max(0, Math.trunc(c - support + 0.5)); j < Math.min(n, Math.trunc(c + support + 0.5)); j++) {
          const w = cubicKernel((j - c + 0.5) * inv);
          num += w * get(j); den += w;
        }
        out[i] = Math.min(255, Math.max(0, Math.round(num / den)));
      }
      void src;
      return out;
    };
    for (const [w, h, ow, oh] of [[61, 37, 28, 56], [20, 30, 84, 56], [300, 7, 140, 28]]) {
      const src = rand(w * h * 3, w + h);
      const got = resizeBicubic(src, w, h, 3, ow, oh);
      const mid = new Float64Array(ow * h * 3);
      for (let y = 0; y < h; y++) for (let c = 0; c < 3; c++) {
        const row = ref1d(mid, w, ow, (x) => src[(y * w + x) * 3 + c]);
        for (let x = 0; x < ow; x++) mid[(y * ow + x) * 3 + c] = row[x];
      }
      let worst = 0;
      for (let x = 0; x < ow; x++) for (let c = 0; c < 3; c++) {
        const col = ref1d(mid, h, oh, (y) => mid[(y * ow + x) * 3 + c]);
        for (let y = 0; y < oh; y++) worst = Math.max(worst, Math.abs(col[y] - got[(y * ow + x) * 3 + c]));
      }
      expect(worst).toBeLessThanOrEqual(1);
    }
  });

  it('a resized image gives the grid smart_resize chose', () => {
    const out = preprocessImage({ width: 100, height: 61, data: rand(100 * 61 * 3, 9) }, cfg);
    expect([out.height, out.width]).toEqual([56, 112]);
    expect(out.grid).toEqual({ t: 1, h: 4, w: 8 });
    expect(out.pixelValues.length).toBe(32 * 588);
  });
});
