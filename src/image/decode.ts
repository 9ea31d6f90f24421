// PNG and JPEG bytes -> 8-bit RGB pixels, the way HF's image processor sees them (PIL opens the
// file, `convert_to_rgb` composites any transparency over white). Decoding is done by small,
// well-kept packages (fast-png, jpeg-js); this module only sniffs the format, bounds the size
// before anything large is allocated, and maps every decoder failure to a typed ImageError.
import { decode as decodePngBytes } from 'fast-png';
import type { DecodedPng } from 'fast-png';
import jpeg from 'jpeg-js';
import { ImageError } from '../errors.js';

/** 8-bit RGB, row-major, interleaved: data[(y * width + x) * 3 + c]. */
export interface RgbImage {
  width: number;
  height: number;
  data: Uint8Array;
}

export interface DecodeOptions {
  /** Names the image in errors (a file name or URL). */
  source?: string;
  /** Refuse images with more pixels than this before decoding them (default 100 MP, as jpeg-js). */
  maxPixels?: number;
}

export const DEFAULT_MAX_IMAGE_PIXELS = 100_000_000;

export type ImageFormat = 'png' | 'jpeg';

export function sniffImageFormat(bytes: Uint8Array): ImageFormat | null {
  if (bytes.length >= 8 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47 && bytes[4] === 0x0d && bytes[5] === 0x0a && bytes[6] === 0x1a && bytes[7] === 0x0a) return 'png';
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  return null;
}

/** Width and height from the file header (PNG IHDR, JPEG SOFn), without decoding; null if not found. */
export function imageDimensions(bytes: Uint8Array, format: ImageFormat): { width: number; height: number } | null {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (format === 'png') {
    // signature(8) + length(4) + "IHDR"(4) + width(4) + height(4)
    if (bytes.length < 24 || String.fromCharCode(...bytes.subarray(12, 16)) !== 'IHDR') return null;
    return { width: view.getUint32(16), height: view.getUint32(20) };
  }
  let p = 2;
  while (p + 4 <= bytes.length) {
    if (bytes[p] !== 0xff) return null;
    const marker = bytes[p + 1];
    if (marker === 0xff) { p++; continue; } // fill byte
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) { p += 2; continue; }
    const length = view.getUint16(p + 2);
    // SOF0..SOF15 except DHT (c4), JPG (c8), DAC (cc)
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      if (p + 9 > bytes.length) return null;
      return { height: view.getUint16(p + 5), width: view.getUint16(p + 7) };
    }
    if (marker === 0xda || marker === 0xd9) return null; // scan data before any frame header
    p += 2 + length;
  }
  return null;
}

/** Decode a PNG or JPEG into 8-bit RGB; transparency is composited over white as PIL does. */
export function decodeImage(bytes: Uint8Array, options: DecodeOptions = {}): RgbImage {
  const source = options.source ?? 'image';
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_IMAGE_PIXELS;
  const format = sniffImageFormat(bytes);
  if (!format) throw new ImageError(source, `not a PNG or JPEG image (first bytes ${hex(bytes.subarray(0, 8))})`);
  const dims = imageDimensions(bytes, format);
  if (!dims) throw new ImageError(source, `truncated or malformed ${format.toUpperCase()}: no image header found`);
  if (dims.width === 0 || dims.height === 0) throw new ImageError(source, `${format.toUpperCase()} header says ${dims.width}x${dims.height}`);
  if (dims.width * dims.height > maxPixels) {
    throw new ImageError(source, `${dims.width}x${dims.height} is ${dims.width * dims.height} pixels, over the limit of ${maxPixels} (DecodeOptions.maxPixels)`);
  }
  try {
    return format === 'png' ? pngToRgb(decodePngBytes(bytes)) : jpegToRgb(bytes, maxPixels);
  } catch (e) {
    if (e instanceof ImageError) throw e;
    throw new ImageError(source, `cannot decode ${format.toUpperCase()}: ${(e as Error).message}`, { cause: e });
  }
}

function hex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(' ');
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

/**
 * RGBA over an opaque white background, in Pillow's integer arithmetic (alpha_composite with
 * 7 extra bits of precision and its rounded division by 255), which HF's convert_to_rgb uses.
 */
export function compositeOverWhite(rgba: Uint8Array, n: number): Uint8Array {
  const out = new Uint8Array(n * 3);
  const PREC = 7;
  const div255 = (v: number) => ((v >>> 8) + v) >>> 8;
  for (let i = 0; i < n; i++) {
    const a = rgba[i * 4 + 3];
    for (let c = 0; c < 3; c++) {
      const src = rgba[i * 4 + c];
      if (a === 0) { out[i * 3 + c] = 255; continue; }
      // background alpha 255: outa255 = 255 * 255, so coef1 = a << PREC
      const coef1 = Math.floor((a * 255 * 255 * (1 << PREC)) / (255 * 255));
      const coef2 = 255 * (1 << PREC) - coef1;
      const t = src * coef1 + 255 * coef2;
      out[i * 3 + c] = div255(t + (0x80 << PREC)) >>> PREC;
    }
  }
  return out;
}
