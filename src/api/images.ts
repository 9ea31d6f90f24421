// Images of a chat request, from their content parts to RGB pixels, in two steps so that nothing
// large is allocated for an image the model would refuse:
//   openImage()  reads the bytes (data: URL, http(s) through src/formats/http.ts, blob:, a Blob or
//                Uint8Array) and the size from the header: a non-image, a truncated header or a
//                size over the decode limit fails here (ImageError);
//   decode()     decodes the pixels: the browser's createImageBitmap where there is one, else
//                fast-png / jpeg-js (src/image/decode.ts).
// Any failure is an ImageError (code BAD_IMAGE) naming the content part; an abort is an AbortError.
import { AbortError, abortErrorOf, ErnieError, ImageError } from '../errors';
import { httpRequest, readBody } from '../formats/http';
import { browserImageToRgb } from '../image/browser';
import { checkDimensions, imageDimensions, type RgbImage } from '../image/rgb';
import type { ImageRef } from './image_parts';

/** Encoded image bytes accepted per image (a larger download or data: URL is refused). */
export const MAX_IMAGE_BYTES = 64 * 2 ** 20;

export interface OpenedImage {
  /** Names the image in errors: its content part and URL. */
  source: string;
  width: number;
  height: number;
  decode(): Promise<RgbImage>;
}

export interface OpenImageOptions {
  signal?: AbortSignal;
  /** Images with more pixels than this are refused from their header, before decoding. */
  maxPixels: number;
  fetch?: typeof fetch;
}

const inBrowser = (): boolean => typeof createImageBitmap === 'function' && typeof OffscreenCanvas === 'function';

function describeUrl(url: string): string {
  return url.length > 60 ? `${url.slice(0, 57)}...` : url;
}

function dataUrlBytes(url: string, source: string): Uint8Array {
  const comma = url.indexOf(',');
  if (comma < 0) throw new ImageError(source, 'malformed data: URL (no comma)');
  const meta = url.slice(5, comma);
  const mediaType = meta.split(';')[0]!.trim().toLowerCase();
  if (mediaType !== '' && !mediaType.startsWith('image/')) throw new ImageError(source, `the data: URL holds ${mediaType}, not an image (send image/png or image/jpeg)`);
  const body = url.slice(comma + 1);
  if ((body.length * 3) / 4 > MAX_IMAGE_BYTES) throw new ImageError(source, `the data: URL is over the ${MAX_IMAGE_BYTES}-byte limit per image`);
  if (!/;base64$/i.test(meta)) return new TextEncoder().encode(decodeURIComponent(body));
  let bin: string;
  try {
    bin = atob(body.replace(/\s+/g, ''));
  } catch (e) {
    throw new ImageError(source, 'the data: URL is not valid base64', { cause: e });
  }
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

async function urlBytes(url: string, source: string, opts: OpenImageOptions): Promise<Uint8Array> {
  if (/^data:/i.test(url)) return dataUrlBytes(url, source);
  try {
    if (/^https?:/i.test(url)) {
      const res = await httpRequest(url, { signal: opts.signal, fetch: opts.fetch, retry: { retries: 1 }, file: describeUrl(url) });
      return await readBody(res, { maxBytes: MAX_IMAGE_BYTES, signal: opts.signal, file: describeUrl(url), url });
    }
    // blob: URLs name a Blob of this page; fetch() reads them
    const res = await (opts.fetch ?? fetch)(url, { signal: opts.signal });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const blob = await res.blob();
    if (blob.size > MAX_IMAGE_BYTES) throw new Error(`${blob.size} bytes, over the ${MAX_IMAGE_BYTES}-byte limit per image`);
    return new Uint8Array(await blob.arrayBuffer());
  } catch (e) {
    if (e instanceof AbortError) throw e;
    if (opts.signal?.aborted) throw abortErrorOf(opts.signal);
    throw new ImageError(source, `cannot read the image: ${(e as Error).message}`, { cause: e });
  }
}

function fromBytes(bytes: Uint8Array, source: string, maxPixels: number): OpenedImage {
  const format = checkDimensions(bytes, source, maxPixels);
  const { width, height } = imageDimensions(bytes, format)!;
  return {
    source,
    width,
    height,
    // the Node decoders (fast-png, jpeg-js: CommonJS) load only where there is no browser decoder
    decode: async () => (inBrowser() ? browserImageToRgb(new Blob([bytes as Uint8Array<ArrayBuffer>]), { source, maxPixels }) : (await import('../image/decode')).decodeImage(bytes, { source, maxPixels })),
  };
}

/** Reads an image's bytes (or pixels) and its size; decode() then gives its RGB pixels. */
export async function openImage(ref: ImageRef, opts: OpenImageOptions): Promise<OpenedImage> {
  if ('url' in ref) {
    const source = `${ref.param} (${/^data:/i.test(ref.url) ? ref.url.slice(0, 30) + '...' : describeUrl(ref.url)})`;
    return fromBytes(await urlBytes(ref.url, source, opts), source, opts.maxPixels);
  }
  const source = ref.param;
  const v = ref.image;
  if (v instanceof Uint8Array) return fromBytes(v, source, opts.maxPixels);
  if (typeof Blob !== 'undefined' && v instanceof Blob) {
    if (v.size > MAX_IMAGE_BYTES) throw new ImageError(source, `the Blob is ${v.size} bytes, over the ${MAX_IMAGE_BYTES}-byte limit per image`);
    return fromBytes(new Uint8Array(await v.arrayBuffer()), source, opts.maxPixels);
  }
  // ImageBitmap / ImageData: already pixels (browser only)
  const { width, height } = v as ImageBitmap | ImageData;
  if (!(width > 0 && height > 0)) throw new ImageError(source, `image is ${width}x${height}`);
  if (width * height > opts.maxPixels) throw new ImageError(source, `${width}x${height} is ${width * height} pixels, over the limit of ${opts.maxPixels}`);
  if (!inBrowser()) throw new ErnieError('UNSUPPORTED', `${source}: ImageBitmap / ImageData images need a browser (createImageBitmap, OffscreenCanvas); send PNG/JPEG bytes in Node`);
  return { source, width, height, decode: () => browserImageToRgb(v as ImageBitmap | ImageData, { source, maxPixels: opts.maxPixels }) };
}

/** A digest of an image's preprocessed pixels: equal pixels, equal key (prefix reuse keeps its KV). */
export async function imageKey(pixels: Float32Array, grid: { t: number; h: number; w: number }): Promise<string> {
  const bytes = new Uint8Array(pixels.buffer, pixels.byteOffset, pixels.byteLength);
  const digest = new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
  return `${grid.t}x${grid.h}x${grid.w}:` + Array.from(digest.subarray(0, 16), (b) => b.toString(16).padStart(2, '0')).join('');
}
