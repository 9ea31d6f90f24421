// Images in the browser -> 8-bit RGB: a Blob (PNG/JPEG bytes) is sniffed and its header size
// checked first, then decoded by the browser (createImageBitmap, with no colour-space
// conversion and no premultiplication, so an sRGB PNG keeps its exact bytes) and read back
// through an OffscreenCanvas; an ImageBitmap or ImageData is read as it is. Transparency is
// composited over white as PIL's convert_to_rgb does.
import { ImageError } from '../errors.js';
import { type DecodeOptions, DEFAULT_MAX_IMAGE_PIXELS, type RgbImage, checkDimensions, compositeOverWhite } from './rgb.js';

export type BrowserImage = Blob | ImageBitmap | ImageData;

function fromRgba(rgba: Uint8ClampedArray | Uint8Array, width: number, height: number): RgbImage {
  const data = new Uint8Array(rgba.buffer, rgba.byteOffset, rgba.byteLength);
  return { width, height, data: compositeOverWhite(data, width * height) };
}

function checkSize(width: number, height: number, source: string, maxPixels: number): void {
  if (width === 0 || height === 0) throw new ImageError(source, `image is ${width}x${height}`);
  if (width * height > maxPixels) throw new ImageError(source, `${width}x${height} is ${width * height} pixels, over the limit of ${maxPixels} (DecodeOptions.maxPixels)`);
}

function bitmapPixels(bitmap: ImageBitmap, source: string): RgbImage {
  const { width, height } = bitmap;
  const canvas = new OffscreenCanvas(width, height);
  const g = canvas.getContext('2d', { willReadFrequently: true });
  if (!g) throw new ImageError(source, 'no 2D canvas context to read the pixels with');
  g.drawImage(bitmap, 0, 0);
  return fromRgba(g.getImageData(0, 0, width, height, { colorSpace: 'srgb' }).data, width, height);
}

/** Decode a Blob of PNG/JPEG bytes, or read an ImageBitmap / ImageData, into RGB. */
export async function browserImageToRgb(image: BrowserImage, options: DecodeOptions = {}): Promise<RgbImage> {
  const source = options.source ?? 'image';
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_IMAGE_PIXELS;
  if (typeof ImageData !== 'undefined' && image instanceof ImageData) {
    checkSize(image.width, image.height, source, maxPixels);
    return fromRgba(image.data, image.width, image.height);
  }
  if (typeof ImageBitmap !== 'undefined' && image instanceof ImageBitmap) {
    checkSize(image.width, image.height, source, maxPixels);
    return bitmapPixels(image, source);
  }
  const blob = image as Blob;
  checkDimensions(new Uint8Array(await blob.arrayBuffer()), source, maxPixels);
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(blob, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  } catch (e) {
    throw new ImageError(source, `the browser cannot decode it: ${(e as Error).message}`, { cause: e });
  }
  try {
    return bitmapPixels(bitmap, source);
  } finally {
    bitmap.close();
  }
}
