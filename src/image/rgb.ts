// What both image decoders share (Node: decode.ts; browser: browser.ts), with no dependencies:
// the RGB image type, format sniffing, reading the size from the header so a hostile image is
// refused before anything large is allocated, and PIL's alpha-over-white compositing.
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

function hex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(' ');
}

/** The format of `bytes`, after checking its header's size against maxPixels; typed errors otherwise. */
export function checkDimensions(bytes: Uint8Array, source: string, maxPixels: number): ImageFormat {
  const format = sniffImageFormat(bytes);
  if (!format) throw new ImageError(source, `not a PNG or JPEG image (first bytes ${hex(bytes.subarray(0, 8))})`);
  const dims = imageDimensions(bytes, format);
  if (!dims) throw new ImageError(source, `truncated or malformed ${format.toUpperCase()}: no image header found`);
  if (dims.width === 0 || dims.height === 0) throw new ImageError(source, `${format.toUpperCase()} header says ${dims.width}x${dims.height}`);
  if (dims.width * dims.height > maxPixels) {
    throw new ImageError(source, `${dims.width}x${dims.height} is ${dims.width * dims.height} pixels, over the limit of ${maxPixels} (DecodeOptions.maxPixels)`);
  }
  return format;
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
