import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AbortError, ErnieError, FileFormatError } from '../../src/errors';
import { blobFolder, fromArrayBuffer, fromBlob, urlFolder } from '../../src/formats/sources';
import { fromPath, nodeFolder } from '../../src/formats/node_source';
import {
  bf16ArrayToF32, f16ArrayToF32, f16ToF32, SafetensorsFile, SafetensorsModel,
} from '../../src/formats/safetensors';
import type { ByteSource } from '../../src/formats/source';

const FIXTURE = 'test/fixtures/ernie45-moe-tiny/model.safetensors';

// ---- a tiny safetensors writer (the format: u64 LE header length, JSON header, data) ----

interface T { name: string; dtype: string; shape: number[]; data: Uint8Array }

function encode(header: unknown, data: Uint8Array, headerLenOverride?: bigint): Uint8Array<ArrayBuffer> {
  let json = typeof header === 'string' ? header : JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8); // pad like the reference writer
  const h = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, headerLenOverride ?? BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

function writeSafetensors(tensors: T[], metadata?: Record<string, string>): Uint8Array<ArrayBuffer> {
  const header: Record<string, unknown> = metadata ? { __metadata__: metadata } : {};
  let off = 0;
  for (const t of tensors) {
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [off, off + t.data.length] };
    off += t.data.length;
  }
  const data = new Uint8Array(off);
  off = 0;
  for (const t of tensors) {
    data.set(t.data, off);
    off += t.data.length;
  }
  return encode(header, data);
}

const bytesOf = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
const f32 = (name: string, shape: number[], values: number[]): T => ({ name, dtype: 'F32', shape, data: bytesOf(new Float32Array(values)) });

/** The fixture header, parsed here independently of the reader under test. */
function parseFixture(buf: Buffer) {
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8')) as Record<string, { shape: number[]; data_offsets: [number, number] }>;
  return { dataStart: 8 + n, header };
}

describe('SafetensorsFile on the tiny ERNIE checkpoint', () => {
  let buf: Buffer;
  beforeAll(async () => {
    buf = await readFile(FIXTURE);
  });

  it.each(['fromPath', 'fromArrayBuffer'])('reads names, shapes and values via %s', async (how) => {
    const src = how === 'fromPath' ? fromPath(FIXTURE) : fromArrayBuffer(new Uint8Array(buf), 'model.safetensors');
    const file = await SafetensorsFile.open(src);
    const { dataStart, header } = parseFixture(buf);
    const expectedNames = Object.keys(header).filter((k) => k !== '__metadata__');
    expect(file.names().sort()).toEqual(expectedNames.sort());
    expect(file.metadata).toEqual({ format: 'pt' });
    expect(file.info('model.embed_tokens.weight').shape).toEqual([2048, 128]);
    expect(file.info('model.embed_tokens.weight').dtype).toBe('F32');

    for (const name of ['model.embed_tokens.weight', 'model.layers.0.input_layernorm.weight', 'model.layers.1.mlp.experts.10.up_proj.weight']) {
      const [b, e] = header[name]!.data_offsets;
      const expected = new Float32Array(buf.buffer.slice(buf.byteOffset + dataStart + b, buf.byteOffset + dataStart + e));
      const got = await file.readF32(name);
      expect(got.length).toBe(header[name]!.shape.reduce((x, y) => x * y, 1));
      expect(got).toEqual(expected);
      expect(Array.from(await file.readRaw(name))).toEqual(Array.from(new Uint8Array(expected.buffer)));
    }
  });

  it('readRows reads only the requested embedding rows', async () => {
    let lastRead: [number, number] = [0, 0];
    const inner = fromPath(FIXTURE);
    const spy: ByteSource = { name: inner.name, size: () => inner.size(), read: (o, l, s) => ((lastRead = [o, l]), inner.read(o, l, s)) };
    const file = await SafetensorsFile.open(spy);
    const all = await file.readF32('model.embed_tokens.weight');
    const rows = await file.readRows('model.embed_tokens.weight', 1129, 3);
    expect(rows).toEqual(all.subarray(1129 * 128, 1132 * 128));
    expect(lastRead).toEqual([file.info('model.embed_tokens.weight').begin + 1129 * 128 * 4, 3 * 128 * 4]);
    await expect(file.readRows('model.embed_tokens.weight', 2047, 2)).rejects.toThrow(ErnieError);
    await expect(file.readF32('no.such.tensor')).rejects.toMatchObject({ code: 'MISSING_TENSOR' });
  });

  it('open reads only the length and the header', async () => {
    const reads: [number, number][] = [];
    const inner = fromArrayBuffer(new Uint8Array(buf), 'model.safetensors');
    const spy: ByteSource = { name: inner.name, size: () => inner.size(), read: (o, l, s) => (reads.push([o, l]), inner.read(o, l, s)) };
    await SafetensorsFile.open(spy);
    expect(reads).toEqual([[0, 8], [8, parseFixture(buf).dataStart - 8]]);
  });
});

describe('dtype conversion', () => {
  // f16 bit patterns and their exact values.
  const F16_CASES: [number, number][] = [
    [0x0000, 0], [0x8000, -0], [0x0001, 2 ** -24], [0x8001, -(2 ** -24)], [0x03ff, 1023 * 2 ** -24],
    [0x0400, 2 ** -14], [0x3c00, 1], [0xc000, -2], [0x3555, 0.333251953125], [0x7bff, 65504],
    [0xfbff, -65504], [0x7c00, Infinity], [0xfc00, -Infinity], [0x7e00, NaN], [0xfe01, NaN],
  ];

  it('f16ToF32 decodes subnormals, zeros, inf and nan exactly', () => {
    for (const [bits, value] of F16_CASES) expect(Object.is(f16ToF32(bits), value), bits.toString(16)).toBe(true);
  });

  it('f16ArrayToF32 agrees with f16ToF32 on all 65536 patterns', () => {
    const all = Uint16Array.from({ length: 65536 }, (_, i) => i);
    const got = f16ArrayToF32(all);
    for (let i = 0; i < 65536; i++) {
      if (!Object.is(got[i], f16ToF32(i))) throw new Error(`0x${i.toString(16)}: ${got[i]} vs ${f16ToF32(i)}`);
    }
  });

  it('bf16 is the upper half of an f32', () => {
    const src = new Float32Array([1, -2.5, 3.140625, -0, Infinity, -Infinity, NaN, 1e-40, 3.3895313892515355e38]);
    const u32 = new Uint32Array(src.buffer);
    const got = bf16ArrayToF32(Uint16Array.from(u32, (x) => x >>> 16));
    const truncated = new Float32Array(Uint32Array.from(u32, (x) => x & 0xffff0000).buffer);
    for (let i = 0; i < src.length; i++) expect(Object.is(got[i], truncated[i]), `${i}`).toBe(true);
    expect(Array.from(got.subarray(0, 3))).toEqual([1, -2.5, 3.140625]);
    expect(Object.is(got[3], -0)).toBe(true);
  });

  it('readF32 converts F16, BF16, F64 and F32 tensors from a written file', async () => {
    const f16bits = Uint16Array.from(F16_CASES, ([b]) => b);
    const bf16bits = new Uint16Array([0x3f80, 0xc020, 0x8000, 0x7f80, 0xff80, 0x7fc0, 0x0001]); // 1, -2.5, -0, inf, -inf, nan, subnormal
    const f64 = new Float64Array([0.1, -1e300, 2 ** -1074, 1.5]);
    const bytes = writeSafetensors([
      { name: 'h', dtype: 'F16', shape: [3, 5], data: bytesOf(f16bits) }, // 30 bytes: later tensors start misaligned
      { name: 'b', dtype: 'BF16', shape: [7], data: bytesOf(bf16bits) },
      { name: 'd', dtype: 'F64', shape: [2, 2], data: bytesOf(f64) },
      f32('f', [2], [1.25, -0]),
      { name: 'i', dtype: 'I32', shape: [1], data: bytesOf(new Int32Array([7])) },
      { name: 'empty', dtype: 'F32', shape: [0, 4], data: new Uint8Array(0) },
    ], { note: 'hi' });
    const file = await SafetensorsFile.open(fromBlob(new Blob([bytes]), 'mixed.safetensors'));
    expect(file.metadata).toEqual({ note: 'hi' });

    const h = await file.readF32('h');
    F16_CASES.forEach(([, v], i) => expect(Object.is(h[i], v), `h[${i}]`).toBe(true));
    const b = await file.readF32('b');
    expect([b[0], b[1], b[3], b[4]]).toEqual([1, -2.5, Infinity, -Infinity]);
    expect(Object.is(b[2], -0)).toBe(true);
    expect(b[5]).toBeNaN();
    expect(b[6]).toBe(new Float32Array(new Uint32Array([0x00010000]).buffer)[0]);
    expect(Array.from(await file.readF32('d'))).toEqual(Array.from(f64, Math.fround));
    const f = await file.readF32('f');
    expect(f[0]).toBe(1.25);
    expect(Object.is(f[1], -0)).toBe(true);
    expect((await file.readF32('empty')).length).toBe(0);
    expect(Array.from(await file.readRaw('i'))).toEqual([7, 0, 0, 0]);
    await expect(file.readF32('i')).rejects.toMatchObject({ code: 'UNSUPPORTED' });
    expect(await file.readRows('h', 1, 2)).toEqual(h.subarray(5, 15));
  });
});

/** A header whose tensor name contains the byte 0xFF, which is never valid UTF-8. */
function invalidUtf8(): Uint8Array {
  const bytes = encode({ aXa: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, new Uint8Array(8));
  bytes[bytes.indexOf(0x58)] = 0xff; // the 'X'
  return bytes;
}

describe('hostile headers', () => {
  const good = { dtype: 'F32', shape: [2], data_offsets: [0, 8] };
  const data8 = new Uint8Array(8);
  const cases: [string, Uint8Array, RegExp][] = [
    ['header length larger than the file', encode({ a: good }, data8, 10_000n), /header length/],
    ['header length 2^40', encode({ a: good }, data8, 2n ** 40n), /header length/],
    ['header length 2^64-1', encode({ a: good }, data8, 2n ** 64n - 1n), /header length/],
    ['file shorter than 8 bytes', new Uint8Array(5), /too small/],
    ['not JSON', encode('{"a": nope}', data8), /JSON/],
    ['invalid UTF-8', invalidUtf8(), /UTF-8/],
    ['header is an array', encode([good], data8), /not an object/],
    ['entry not an object', encode({ a: 5 }, data8), /"a".*not an object/],
    ['unknown dtype', encode({ a: { ...good, dtype: 'F8_E4M3' } }, data8), /"a".*dtype/],
    ['negative dim', encode({ a: { ...good, shape: [-2] } }, data8), /"a".*shape/],
    ['non-integer dim', encode({ a: { ...good, shape: [1.5] } }, data8), /"a".*shape/],
    ['shape not a list', encode({ a: { ...good, shape: '2' } }, data8), /"a".*shape/],
    ['data_offsets past the end', encode({ a: { ...good, shape: [4], data_offsets: [0, 16] } }, data8), /"a".*past the end/],
    ['end before begin', encode({ a: { ...good, shape: [0], data_offsets: [8, 0] } }, data8), /"a".*end before begin/],
    ['data_offsets not a pair', encode({ a: { ...good, data_offsets: [0] } }, data8), /"a".*data_offsets/],
    ['data_offsets not integers', encode({ a: { ...good, data_offsets: [0, '8'] } }, data8), /"a".*data_offsets/],
    ['size mismatch with shape', encode({ a: { ...good, shape: [1] } }, data8), /"a".*holds 8 bytes.*needs 4/],
    ['overlapping ranges', encode({ a: good, b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, data8), /"b" overlaps tensor "a"/],
    ['absurd dims product', encode({ a: { ...good, shape: [2 ** 31, 2 ** 31] } }, data8), /"a".*more elements/],
    ['absurd dims product, huge', encode({ a: { ...good, shape: [2 ** 53 - 1, 2 ** 53 - 1, 2 ** 53 - 1] } }, data8), /"a".*more elements/],
    ['metadata not strings', encode({ __metadata__: { n: 1 }, a: good }, data8), /__metadata__/],
  ];

  it.each(cases)('%s -> FileFormatError naming the file', async (label, bytes, pattern) => {
    const name = `hostile-${label.replace(/\W+/g, '-')}.safetensors`;
    const reads: [number, number][] = [];
    const inner = fromArrayBuffer(bytes, name);
    const spy: ByteSource = { name, size: () => inner.size(), read: (o, l, s) => (reads.push([o, l]), inner.read(o, l, s)) };
    const t0 = performance.now();
    const err = await SafetensorsFile.open(spy).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FileFormatError);
    expect((err as Error).message).toContain(name);
    expect((err as Error).message).toMatch(pattern);
    if (label.startsWith('header length')) {
      expect(reads).toEqual([[0, 8]]); // refused before reading (or allocating) the header
      expect(performance.now() - t0).toBeLessThan(100);
    }
  });

  it('accepts the valid baseline and empty tensors anywhere', async () => {
    const file = await SafetensorsFile.open(fromArrayBuffer(encode({ a: good, z: { dtype: 'F32', shape: [0], data_offsets: [4, 4] } }, data8), 'ok.safetensors'));
    expect(file.names().sort()).toEqual(['a', 'z']);
  });

  it('honours an aborted signal', async () => {
    const ctl = new AbortController();
    ctl.abort();
    await expect(SafetensorsFile.open(fromPath(FIXTURE), ctl.signal)).rejects.toBeInstanceOf(AbortError);
  });
});

describe('SafetensorsModel', () => {
  let dir: string;
  let single: string;
  let server: Server;
  let base: string;
  let bytesServed = 0;
  let totalShardBytes = 0;
  // Three shards, each 3 tensors of 16 KiB (4096 f32), values encode (shard, tensor, index).
  const value = (s: number, t: number, i: number) => s * 1e6 + t * 1e4 + i;
  const weightMap: Record<string, string> = {};

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ernie-st-'));
    for (let s = 0; s < 3; s++) {
      const file = `model-0000${s + 1}-of-00003.safetensors`;
      const tensors = [0, 1, 2].map((t) => {
        weightMap[`layers.${s}.w${t}`] = file;
        return f32(`layers.${s}.w${t}`, [64, 64], Array.from({ length: 4096 }, (_, i) => value(s, t, i)));
      });
      const bytes = writeSafetensors(tensors);
      totalShardBytes += bytes.length;
      await writeFile(join(dir, file), bytes);
    }
    await writeFile(join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: { total_size: 3 * 3 * 16384 }, weight_map: weightMap }));
    single = await mkdtemp(join(tmpdir(), 'ernie-st1-'));
    await writeFile(join(single, 'model.safetensors'), writeSafetensors([f32('x', [2, 2], [1, 2, 3, 4])]));

    // A static file server with Range support that counts the body bytes it sends.
    server = createServer(async (req, res) => {
      const path = join(dir, decodeURIComponent((req.url ?? '/').slice(1)));
      let data: Buffer;
      try {
        data = await readFile(path);
      } catch {
        res.writeHead(404).end();
        return;
      }
      if (req.method === 'HEAD') {
        res.writeHead(200, { 'Content-Length': data.length, 'Accept-Ranges': 'bytes' }).end();
        return;
      }
      const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
      if (!m) {
        bytesServed += data.length;
        res.writeHead(200, { 'Content-Length': data.length }).end(data);
        return;
      }
      const a = Number(m[1]);
      const b = Math.min(Number(m[2]), data.length - 1);
      bytesServed += b - a + 1;
      res.writeHead(206, { 'Content-Range': `bytes ${a}-${b}/${data.length}`, 'Content-Length': b - a + 1 }).end(data.subarray(a, b + 1));
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((ok) => server.close(ok));
    await rm(dir, { recursive: true, force: true });
    await rm(single, { recursive: true, force: true });
  });

  async function checkModel(model: SafetensorsModel) {
    expect(model.names().sort()).toEqual(Object.keys(weightMap).sort());
    expect(model.has('layers.2.w1')).toBe(true);
    expect(model.has('layers.3.w0')).toBe(false);
    expect(model.info('layers.1.w2')).toMatchObject({ dtype: 'F32', shape: [64, 64], file: 'model-00002-of-00003.safetensors' });
    const w = await model.readF32('layers.2.w1');
    expect([w[0], w[4095]]).toEqual([value(2, 1, 0), value(2, 1, 4095)]);
    expect(Array.from(await model.readRows('layers.0.w2', 10, 1))).toEqual(Array.from({ length: 64 }, (_, i) => value(0, 2, 640 + i)));
    expect((await model.readRaw('layers.1.w0')).length).toBe(16384);
    await expect(model.readRaw('nope')).rejects.toMatchObject({ code: 'MISSING_TENSOR' });
  }

  it('reads a sharded checkpoint through nodeFolder', async () => {
    await checkModel(await SafetensorsModel.open(nodeFolder(dir)));
  });

  it('reads a sharded checkpoint through urlFolder with ranged requests only', async () => {
    bytesServed = 0;
    const model = await SafetensorsModel.open(urlFolder(base));
    const afterOpen = bytesServed;
    const w = await model.readF32('layers.1.w1');
    expect(w[7]).toBe(value(1, 1, 7));
    const forOneTensor = bytesServed - afterOpen;
    expect(forOneTensor).toBe(16384);
    // Open reads the index and three headers, nothing else.
    expect(afterOpen).toBeLessThan(4096);
    expect(bytesServed).toBeLessThan(totalShardBytes / 5);
    await checkModel(model);
  });

  it('opens a single-file checkpoint when there is no index (404 or ENOENT)', async () => {
    const viaDisk = await SafetensorsModel.open(nodeFolder(single));
    expect(viaDisk.names()).toEqual(['x']);
    expect(viaDisk.info('x').file).toBe('model.safetensors');
    expect(Array.from(await viaDisk.readF32('x'))).toEqual([1, 2, 3, 4]);
    const bytes = await readFile(join(single, 'model.safetensors'));
    const blobs = new Map([['model.safetensors', new Blob([new Uint8Array(bytes)])]]);
    expect(Array.from(await (await SafetensorsModel.open(blobFolder(blobs))).readF32('x'))).toEqual([1, 2, 3, 4]);
    // Served over HTTP: the index 404s, the shard folder has no model.safetensors either.
    await expect(SafetensorsModel.open(urlFolder(base + 'nowhere/'))).rejects.toThrow(/model\.safetensors/);
  });

  it('reports a weight_map naming a missing file, or a tensor the shard lacks', async () => {
    const bad = await mkdtemp(join(tmpdir(), 'ernie-st-bad-'));
    try {
      await writeFile(join(bad, 'a.safetensors'), writeSafetensors([f32('t1', [1], [1])]));
      const write = (wm: Record<string, string>) => writeFile(join(bad, 'model.safetensors.index.json'), JSON.stringify({ weight_map: wm }));

      await write({ t1: 'a.safetensors', t2: 'b.safetensors' });
      const e1 = await SafetensorsModel.open(nodeFolder(bad)).catch((e: unknown) => e);
      expect(e1).toBeInstanceOf(FileFormatError);
      expect((e1 as Error).message).toMatch(/b\.safetensors.*missing/);

      await write({ t1: 'a.safetensors', t9: 'a.safetensors' });
      const e2 = await SafetensorsModel.open(nodeFolder(bad)).catch((e: unknown) => e);
      expect(e2).toBeInstanceOf(FileFormatError);
      expect((e2 as Error).message).toMatch(/a\.safetensors.*"t9"/);

      await write({ t1: '../a.safetensors' });
      await expect(SafetensorsModel.open(nodeFolder(bad))).rejects.toBeInstanceOf(FileFormatError);

      await writeFile(join(bad, 'model.safetensors.index.json'), '{ not json');
      await expect(SafetensorsModel.open(nodeFolder(bad))).rejects.toThrow(/index\.json.*JSON/);
    } finally {
      await rm(bad, { recursive: true, force: true });
    }
  });
});
