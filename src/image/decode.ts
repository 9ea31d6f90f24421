// PNG and JPEG bytes -> 8-bit RGB pixels, the way HF's image processor sees them (PIL opens the
// file, `convert_to_rgb` composites any transparency over white). Decoding is done by small,
// well-kept packages (fast-png, jpeg-js); this module only sniffs the format, bounds the size
// before anything large is allocated, and maps every decoder failure to a typed ImageError.
import { decode as decodePngBytes } from 'fast-png';
import type { DecodedPng } from 'fast-png';
import jpeg from 'jpeg-js';
import { ImageError } from '../errors.js';
import { type DecodeOptions, DEFAULT_MAX_IMAGE_PIXELS, type RgbImage, checkDimensions, compositeOverWhite } from './rgb.js';

export type { DecodeOptions, RgbImage } from './rgb.js';
export { compositeOverWhite, imageDimensions, sniffImageFormat } from './rgb.js';

/** Decode a PNG or JPEG into 8-bit RGB; transparency is composited over white as PIL does. */
export function decodeImage(bytes: Uint8Array, options: DecodeOptions = {}): RgbImage {
  const source = options.source ?? 'image';
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_IMAGE_PIXELS;
  const format = checkDimensions(bytes, source, maxPixels);
  try {
    return format === 'png' ? pngToRgb(decodePngBytes(bytes)) : jpegToRgb(bytes, maxPixels);
  } catch (e) {
    if (e instanceof ImageError) throw e;
    throw new ImageError(source, `cannot decode ${format.toUpperCase()}: ${(e as Error).message}`, { cause: e });
  }
}

function jpegToRgb(bytes: Uint8Array, maxPixels: number): RgbImage {
  const img = jpeg.decode(bytes, {
    useTArray: true,
    formatAsRGBA: false,
    maxResolutionInMP: maxPixels / 1e6,
    maxMemoryUsageInMB: Math.max(512, Math.ceil((maxPixels * 8) / 2 ** 20)),
  });
  const n = img.width * img.height;
  if (img.data.length === n * 3) return { width: img.width, height: img.height, data: img.data };
  throw new Error(`decoder returned ${img.data.length} bytes for ${img.width}x${img.height}`);
}

/** Samples of every pixel as 8-bit values, channel-interleaved (16-bit keeps its high byte, as PIL). */
function samples8(png: DecodedPng): Uint8Array {
  const { width, height, depth } = png;
  const channels = png.palette ? 1 : png.channels;
  const n = width * height * channels;
  const out = new Uint8Array(n);
  const src = png.data;
  if (depth === 8) out.set(src.subarray(0, n));
  else if (depth === 16) for (let i = 0; i < n; i++) out[i] = src[i] >> 8;
  else {
    // packed rows of 1/2/4-bit samples; grey levels scale to 0..255, palette indices stay
    const rowBytes = Math.ceil((width * channels * depth) / 8);
    const maxV = (1 << depth) - 1;
    for (let y = 0; y < height; y++)
      for (let x = 0; x < width * channels; x++) {
        const bit = x * depth;
        const v = (src[y * rowBytes + (bit >> 3)] >> (8 - depth - (bit & 7))) & maxV;
        out[y * width * channels + x] = png.palette ? v : Math.round((v * 255) / maxV);
      }
  }
  return out;
}

function pngToRgb(png: DecodedPng): RgbImage {
  const { width, height } = png;
  const n = width * height;
  const s = samples8(png);
  const rgba = new Uint8Array(n * 4);
  if (png.palette) {
    for (let i = 0; i < n; i++) {
      const c = png.palette[s[i]];
      if (!c) throw new Error(`palette index ${s[i]} out of range (${png.palette.length} colours)`);
      rgba.set([c[0], c[1], c[2], c[3] ?? 255], i * 4);
    }
  } else {
    const ch = png.channels;
    const key = png.transparency && png.transparency.length > 0 ? png.transparency : null;
    for (let i = 0; i < n; i++) {
      const p = i * ch;
      const grey = ch <= 2;
      const r = s[p], g = grey ? s[p] : s[p + 1], b = grey ? s[p] : s[p + 2];
      let a = ch === 2 ? s[p + 1] : ch === 4 ? s[p + 3] : 255;
      // a tRNS colour key (grey or RGB, in the file's own bit depth) makes matching pixels transparent
      if (key) {
        const raw = (j: number) => png.data[p + j];
        if (grey ? raw(0) === key[0] : raw(0) === key[0] && raw(1) === key[1] && raw(2) === key[2]) a = 0;
      }
      rgba[i * 4] = r; rgba[i * 4 + 1] = g; rgba[i * 4 + 2] = b; rgba[i * 4 + 3] = a;
    }
    if (!key && (ch === 1 || ch === 3)) return { width, height, data: ch === 3 ? s : dropAlpha(rgba, n) };
  }
  return { width, height, data: compositeOverWhite(rgba, n) };
}

function dropAlpha(rgba: Uint8Array, n: number): Uint8Array {
  const out = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) { out[i * 3] = rgba[i * 4]; out[i * 3 + 1] = rgba[i * 4 + 1]; out[i * 3 + 2] = rgba[i * 4 + 2]; }
  return out;
}

