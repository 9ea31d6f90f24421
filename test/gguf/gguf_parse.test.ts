// GgufFile on the real fixtures and on a hand-written file that uses every metadata value type.
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { AbortError, ErnieError } from '../../src/errors';
import { GgufFile } from '../../src/formats/gguf';
import type { ByteSource } from '../../src/formats/source';
import { fromArrayBuffer } from '../../src/formats/sources';
import { GgufBytes, K256_FILES, TINY_FILES, craftGguf, ggufPath, openGguf } from './helpers';

// Weight-matrix type counts from the fixture README; norms, router and router bias are F32.
const EXPECTED_TYPES: Record<string, Record<string, number>> = {
  'ernie45-moe-tiny-f32': { F32: 53 },
  'ernie45-moe-tiny-f16': { F16: 38, F32: 15 },
  'ernie45-moe-tiny-bf16': { BF16: 38, F32: 15 },
  'ernie45-moe-tiny-q8_0': { Q8_0: 38, F32: 15 },
  'ernie45-moe-tiny-q4_0': { Q4_0: 38, F32: 15 },
  'ernie45-moe-k256-q4_k_m': { Q6_K: 9, Q4_K: 19, F32: 11 },
  'ernie45-moe-k256-q2_k': { Q2_K: 6, Q4_K: 22, F32: 11 },
  'ernie45-moe-k256-q3_k': { Q3_K: 28, F32: 11 },
  'ernie45-moe-k256-q5_k': { Q5_K: 28, F32: 11 },
  'ernie45-moe-k256-q5_0': { Q5_0: 28, F32: 11 },
  'ernie45-moe-k256-q4_1': { Q4_1: 28, F32: 11 },
};

describe.each([...TINY_FILES, ...K256_FILES])('%s', (name) => {
  test('parses: header, metadata, tensor infos and types', async () => {
    const g = await openGguf(name);
    expect(g.version).toBe(3);
    expect(g.alignment).toBe(32);
    expect(g.metadata.get('general.architecture')).toBe('ernie4_5-moe');
    const vocab = name.includes('tiny') ? 2048 : 512;
    const tokens = g.metadata.get('tokenizer.ggml.tokens') as string[];
    expect(tokens.length).toBe(vocab);
    expect(tokens.slice(0, 3)).toEqual(['<unk>', '<s>', '</s>']);
    expect(g.metadata.get('tokenizer.ggml.scores')).toBeInstanceOf(Float32Array);
    expect(g.metadata.get('tokenizer.ggml.token_type')).toBeInstanceOf(Int32Array);
    const counts: Record<string, number> = {};
    for (const t of g.tensors.values()) counts[t.typeName] = (counts[t.typeName] ?? 0) + 1;
    expect(counts).toEqual(EXPECTED_TYPES[name]);
    const embd = g.tensor('token_embd.weight');
    expect(embd.dims).toEqual(name.includes('tiny') ? [128, 2048] : [256, 512]);
    expect(g.tensor('blk.1.ffn_down_exps.weight').dims).toEqual(name.includes('tiny') ? [32, 128, 16] : [256, 256, 8]);
    expect(embd.offset).toBe(g.dataOffset);
  });
});

test('readRaw returns the bytes at the tensor offset; element ranges must be whole blocks', async () => {
  const name = 'ernie45-moe-k256-q4_k_m';
  const file = readFileSync(ggufPath(name));
  const g = await openGguf(name);
  const t = g.tensor('blk.1.ffn_up_exps.weight'); // Q4_K [256, 256, 8]
  expect(Buffer.from(await g.readRaw(t.name)).equals(file.subarray(t.offset, t.offset + t.byteLength))).toBe(true);
  expect(g.elementRange(t.name, 2 * 65536, 65536)).toEqual({ offset: t.offset + 2 * 36864, byteLength: 36864 });
  const whole = await g.readF32(t.name);
  expect(await g.readF32Elements(t.name, 65536 + 256, 512)).toEqual(whole.subarray(65536 + 256, 65536 + 768));
  expect(() => g.elementRange(t.name, 128, 256)).toThrow(/whole-block/);
  expect(() => g.elementRange(t.name, 0, 8 * 65536 + 256)).toThrow(/whole-block/);
  expect(() => g.tensor('nope')).toThrow(ErnieError);
  expect(() => g.tensor('nope')).toThrow(/no tensor "nope"/);
});

test('the header is read in chunks, not the whole file', async () => {
  const bytes = readFileSync(ggufPath('ernie45-moe-tiny-f32'));
  const reads: number[] = [];
  const inner = fromArrayBuffer(bytes, 'counted.gguf');
  const src: ByteSource = { ...inner, read: (o, n, s) => (reads.push(n), inner.read(o, n, s)) };
  const g = await GgufFile.open(src);
  expect(g.tensors.size).toBe(53);
  const total = reads.reduce((a, b) => a + b, 0);
  expect(total).toBeGreaterThanOrEqual(g.dataOffset - 32);
  expect(total).toBeLessThan(256 * 1024); // of a 4.9 MB file
});

test('version 2 parses like version 3', async () => {
  const bytes = Uint8Array.from(readFileSync(ggufPath('ernie45-moe-tiny-q4_0')));
  bytes[4] = 2;
  const g = await GgufFile.open(fromArrayBuffer(bytes, 'v2.gguf'));
  expect(g.version).toBe(2);
  expect(g.tensors.size).toBe(53);
});

test('an aborted signal stops open()', async () => {
  const ctrl = new AbortController();
  ctrl.abort();
  await expect(GgufFile.open(fromArrayBuffer(readFileSync(ggufPath('ernie45-moe-tiny-q4_0')), 'x.gguf'), ctrl.signal)).rejects.toBeInstanceOf(AbortError);
});

test('every metadata value type, nested arrays included', async () => {
  const T = { U8: 0, I8: 1, U16: 2, I16: 3, U32: 4, I32: 5, F32: 6, BOOL: 7, STRING: 8, ARRAY: 9, U64: 10, I64: 11, F64: 12 };
  const f32 = new Uint8Array(Float32Array.of(1.5).buffer);
  const f64 = new Uint8Array(Float64Array.of(-2.5e-300).buffer);
  const bytes = craftGguf({
    kv: (b: GgufBytes) => {
      b.str('u8').u32(T.U8).u8(200);
      b.str('i8').u32(T.I8).u8(-5);
      b.str('u16').u32(T.U16).u8(0x34).u8(0x12);
      b.str('i16').u32(T.I16).u8(0xfe).u8(0xff);
      b.str('u32').u32(T.U32).u32(4000000000);
      b.str('i32').u32(T.I32).u32(-7);
      b.str('f32').u32(T.F32).bytes(f32);
      b.str('bool').u32(T.BOOL).u8(1);
      b.str('str').u32(T.STRING).str('héllo');
      b.str('u64').u32(T.U64).u64(2n ** 60n);
      b.str('u64small').u32(T.U64).u64(42);
      b.str('i64').u32(T.I64).u64(2n ** 64n - 3n);
      b.str('f64').u32(T.F64).bytes(f64);
      b.str('arr_u16').u32(T.ARRAY).u32(T.U16).u64(3).u8(1).u8(0).u8(2).u8(0).u8(255).u8(255);
      b.str('arr_str').u32(T.ARRAY).u32(T.STRING).u64(2).str('a').str('');
      b.str('arr_bool').u32(T.ARRAY).u32(T.BOOL).u64(2).u8(0).u8(1);
      b.str('arr_u64').u32(T.ARRAY).u32(T.U64).u64(1).u64(5);
      b.str('arr_empty').u32(T.ARRAY).u32(T.F32).u64(0);
      b.str('nested').u32(T.ARRAY).u32(T.ARRAY).u64(2);
      b.u32(T.I32).u64(2).u32(1).u32(-2);
      b.u32(T.STRING).u64(1).str('x');
      return 19;
    },
  });
  const g = await GgufFile.open(fromArrayBuffer(bytes, 'types.gguf'));
  const m = Object.fromEntries(g.metadata);
  expect(m).toMatchObject({
    u8: 200, i8: -5, u16: 0x1234, i16: -2, u32: 4000000000, i32: -7, f32: 1.5, bool: true, str: 'héllo',
    u64: 2n ** 60n, u64small: 42, i64: -3, f64: -2.5e-300, arr_str: ['a', ''], arr_bool: [false, true],
  });
  expect(m.arr_u16).toEqual(Uint16Array.of(1, 2, 65535));
  expect(m.arr_u64).toEqual(BigUint64Array.of(5n));
  expect(m.arr_empty).toEqual(new Float32Array(0));
  expect(m.nested).toEqual([Int32Array.of(1, -2), ['x']]);
  expect(g.tensors.size).toBe(0);
});
