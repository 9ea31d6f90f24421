// Bicubic resize of 8-bit images as torchvision does it for uint8 tensors on the CPU
// (`resize(..., BICUBIC, antialias=True)`, which HF's image processors call): separable, the
// width first and then the height, each pass only when that side changes; per output pixel an
// antialiased Keys cubic (a = -0.5) whose support widens with the downscale factor, weights
// normalised in f64 then rounded to int16 at the largest precision that keeps them in range,
// integer accumulation with +0.5 rounding, clamped to 0..255 after every pass.

/** The Keys cubic convolution kernel with a = -0.5 (PIL's and torch's antialiased bicubic). */
export function cubicKernel(x: number): number {
  const a = -0.5;
  x = Math.abs(x);
  if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2) return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
  return 0;
}

/** For each output index: the first input index, the int16 weights, and the shared precision. */
export interface ResampleWeights {
  start: Int32Array;
  size: Int32Array;
  /** [outSize, taps] */
  weights: Int32Array;
  taps: number;
  precision: number;
}

export function resampleWeights(inSize: number, outSize: number): ResampleWeights {
  const scale = inSize / outSize;
  const support = scale >= 1 ? 2 * scale : 2;
  const taps = Math.ceil(support) * 2 + 1;
  const invScale = scale >= 1 ? 1 / scale : 1;
  const start = new Int32Array(outSize), size = new Int32Array(outSize);
  const f = new Float64Array(outSize * taps);
  let wMax = 0;
  for (let i = 0; i < outSize; i++) {
    const center = scale * (i + 0.5);
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const xsize = Math.min(Math.max(Math.min(Math.trunc(center + support + 0.5), inSize) - xmin, 0), taps);
    let total = 0;
    for (let j = 0; j < xsize; j++) total += (f[i * taps + j] = cubicKernel((j + xmin - center + 0.5) * invScale));
    if (total !== 0) for (let j = 0; j < xsize; j++) wMax = Math.max(wMax, (f[i * taps + j] /= total));
    start[i] = xmin;
    size[i] = xsize;
  }
  let precision = 0;
  for (; precision < 22; precision++) if (Math.trunc(0.5 + wMax * 2 ** (precision + 1)) >= 1 << 15) break;
  const weights = new Int32Array(outSize * taps);
  for (let k = 0; k < f.length; k++) {
    const v = f[k] * 2 ** precision;
    weights[k] = v < 0 ? Math.trunc(-0.5 + v) : Math.trunc(0.5 + v);
  }
  return { start, size, weights, taps, precision };
}

/** One pass along x (stride = channels) or y (stride = width * channels). */
function pass(src: Uint8Array, w: number, h: number, ch: number, outW: number, outH: number, horizontal: boolean): Uint8Array {
  const rw = resampleWeights(horizontal ? w : h, horizontal ? outW : outH);
  const out = new Uint8Array(outW * outH * ch);
  const half = 1 << (rw.precision - 1);
  const step = horizontal ? ch : w * ch;
  for (let y = 0; y < outH; y++)
    for (let x = 0; x < outW; x++) {
      const o = horizontal ? x : y;
      const first = horizontal ? (y * w + rw.start[o]) * ch : (rw.start[o] * w + x) * ch;
      for (let c = 0; c < ch; c++) {
        let acc = half;
        for (let j = 0; j < rw.size[o]; j++) acc += src[first + j * step + c] * rw.weights[o * rw.taps + j];
        const v = acc >> rw.precision;
        out[(y * outW + x) * ch + c] = v < 0 ? 0 : v > 255 ? 255 : v;
      }
    }
  return out;
}

/** Resize interleaved 8-bit pixels [h, w, channels] to [outH, outW, channels]. */
export function resizeBicubic(src: Uint8Array, w: number, h: number, ch: number, outW: number, outH: number): Uint8Array {
  let img = src, cw = w;
  if (outW !== w) { img = pass(img, w, h, ch, outW, h, true); cw = outW; }
  if (outH !== h) img = pass(img, cw, h, ch, cw, outH, false);
  return img === src ? src.slice() : img;
}
