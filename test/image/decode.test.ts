// Decoding PNG/JPEG bytes to RGB in Node (fast-png, jpeg-js) and the typed errors for bad input.
import { readFileSync } from 'node:fs';
import { encode as encodePng } from 'fast-png';
import jpeg from 'jpeg-js';
import { describe, expect, it } from 'vitest';
import { compositeOverWhite, decodeImage, imageDimensions } from '../../src/image/decode.js';

const FIXTURE_PNG = 'test/fixtures/ernie45-vl-tiny/test_image.png';

describe('decodeImage', () => {
  it('RGB PNG: pixels as stored', () => {
    const rgb = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    const img = decodeImage(encodePng({ width: 2, height: 2, data: rgb, channels: 3, depth: 8 }));
    expect(img).toMatchObject({ width: 2, height: 2 });
    expect(Array.from(img.data)).toEqual(Array.from(rgb));
  });

  it('grey, grey+alpha, RGBA and 16-bit PNGs become RGB, transparency over white', () => {
    const grey = decodeImage(encodePng({ width: 2, height: 1, data: new Uint8Array([0, 200]), channels: 1, depth: 8 }));
    expect(Array.from(grey.data)).toEqual([0, 0, 0, 200, 200, 200]);
    const rgba = decodeImage(encodePng({ width: 3, height: 1, data: new Uint8Array([10, 20, 30, 255, 10, 20, 30, 0, 0, 0, 0, 128]), channels: 4, depth: 8 }));
    expect(Array.from(rgba.data)).toEqual([10, 20, 30, 255, 255, 255, 127, 127, 127]);
    const la = decodeImage(encodePng({ width: 1, height: 1, data: new Uint8Array([0, 0]), channels: 2, depth: 8 }));
    expect(Array.from(la.data)).toEqual([255, 255, 255]);
    const deep = decodeImage(encodePng({ width: 1, height: 1, data: new Uint16Array([0x1234, 0xff00, 0x00ff]), channels: 3, depth: 16 }));
    expect(Array.from(deep.data)).toEqual([0x12, 0xff, 0x00]);
  });

  it('compositing an opaque pixel keeps every value', () => {
    const n = 256, rgba = new Uint8Array(n * 4);
    for (let i = 0; i < n; i++) rgba.set([i, 255 - i, i, 255], i * 4);
    const out = compositeOverWhite(rgba, n);
    for (let i = 0; i < n; i++) expect([out[i * 3], out[i * 3 + 1]]).toEqual([i, 255 - i]);
  });

  it('JPEG: decoded to RGB close to what was encoded', () => {
    const w = 16, h = 8, rgba = new Uint8Array(w * h * 4);
    for (let i = 0; i < w * h; i++) rgba.set([200, 100, 50, 255], i * 4);
    const bytes = jpeg.encode({ width: w, height: h, data: rgba }, 95).data;
    const img = decodeImage(new Uint8Array(bytes));
    expect([img.width, img.height, img.data.length]).toEqual([w, h, w * h * 3]);
    expect(Math.abs(img.data[0] - 200) + Math.abs(img.data[1] - 100) + Math.abs(img.data[2] - 50)).toBeLessThan(8);
    expect(imageDimensions(new Uint8Array(bytes), 'jpeg')).toEqual({ width: w, height: h });
  });

  it('bytes that are no image, a truncated PNG and a truncated JPEG are BAD_IMAGE errors naming the source', () => {
    const bad = (bytes: Uint8Array, text: string) =>
      expect(() => decodeImage(bytes, { source: 'x.img' })).toThrow(expect.objectContaining({ code: 'BAD_IMAGE', message: expect.stringMatching(new RegExp(`^x\\.img: .*${text}`)) }));
    bad(new TextEncoder().encode('<html>not found</html>'), 'not a PNG or JPEG');
    const png = readFileSync(FIXTURE_PNG);
    bad(png.subarray(0, 60), 'cannot decode PNG');
    bad(png.subarray(0, 10), 'truncated');
    const rgba = new Uint8Array(8 * 8 * 4).fill(90);
    const jpg = new Uint8Array(jpeg.encode({ width: 8, height: 8, data: rgba }, 90).data);
    bad(jpg.subarray(0, jpg.length / 2), 'cannot decode JPEG');
  });

  it('a header claiming a huge image is refused before decoding', () => {
    const png = new Uint8Array(readFileSync(FIXTURE_PNG));
    const view = new DataView(png.buffer, png.byteOffset);
    view.setUint32(16, 100_000); view.setUint32(20, 100_000); // IHDR width, height
    expect(() => decodeImage(png, { source: 'huge.png' })).toThrow(expect.objectContaining({ code: 'BAD_IMAGE', message: expect.stringContaining('over the limit') }));
    expect(() => decodeImage(new Uint8Array(readFileSync(FIXTURE_PNG)), { maxPixels: 1000 })).toThrow(expect.objectContaining({ code: 'BAD_IMAGE' }));
  });
});
