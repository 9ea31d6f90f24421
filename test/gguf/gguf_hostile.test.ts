// Malformed and hostile GGUF headers: each must fail at open() with a FileFormatError that names
// the file, quickly and without allocating for the sizes it claims.
import { readFileSync } from 'node:fs';
import { expect, test } from 'vitest';
import { FileFormatError } from '../../src/errors';
import { GgufFile } from '../../src/formats/gguf';
import { fromArrayBuffer } from '../../src/formats/sources';
import { GgufBytes, craftGguf, ggufPath } from './helpers';

const REAL = new Uint8Array(readFileSync(ggufPath('ernie45-moe-tiny-q4_0')));
const T = { U32: 4, STRING: 8, ARRAY: 9 };

/** A copy of the real file with `edit` applied. */
function mutate(edit: (b: Uint8Array, v: DataView) => void): Uint8Array {
  const b = REAL.slice();
  edit(b, new DataView(b.buffer));
  return b;
}

/** Byte position of a tensor info's n_dims field (just after its name). */
function infoAt(name: string): { nDims: number; type: number; offset: number } {
  const key = new TextEncoder().encode(name);
  const withLen = new GgufBytes().u64(key.length).bytes(key).build();
  const at = Buffer.from(REAL).indexOf(Buffer.from(withLen));
  if (at < 0) throw new Error(`no tensor info for ${name}`);
  const nDims = at + withLen.length;
  const n = new DataView(REAL.buffer).getUint32(nDims, true);
  return { nDims, type: nDims + 4 + 8 * n, offset: nDims + 8 + 8 * n };
}

const embd = infoAt('token_embd.weight'); // Q4_0 [128, 2048], first in the data section
const norm = infoAt('output_norm.weight'); // F32 [128], right after it

const F32 = 0, Q4_0 = 2;
const tensor = (dims: (number | bigint)[], type = F32, offset: number | bigint = 0) => [{ name: 'w', dims, type, offset }];

const cases: [string, Uint8Array, RegExp][] = [
  ['empty file', new Uint8Array(0), /truncated/],
  ['bad magic', mutate((b) => (b[0] = 0x47 ^ 0x20)), /not a GGUF file/],
  ['version 1', mutate((b) => (b[4] = 1)), /version 1 is not supported/],
  ['version 4', mutate((b) => (b[4] = 4)), /version 4 is not supported/],
  ['big-endian file', mutate((v) => v.set([0, 0, 0, 3], 4)), /big-endian/],
  ['truncated before the counts', REAL.slice(0, 12), /truncated/],
  ['tensor count 2^40', mutate((_, v) => v.setBigUint64(8, 2n ** 40n, true)), /claims 1099511627776 tensors/],
  ['kv count 2^64-1', mutate((_, v) => v.setBigUint64(16, 2n ** 64n - 1n, true)), /more than the .* bytes left/],
  ['tensor count a little too large', mutate((_, v) => v.setBigUint64(8, 60000n, true)), /claims 60000 tensors/],
  ['key length past the end', craftGguf({ kv: (b) => (b.u64(2n ** 40n), 1), dataBytes: 64 }), /string length 1099511627776 runs past the end/],
  ['string value past the end', craftGguf({ kv: (b) => (b.str('k').u32(T.STRING).u64(1e9), 1) }), /metadata "k": string length/],
  ['unknown value type', craftGguf({ kv: (b) => (b.str('k').u32(13).u32(0), 1) }), /"k" has unknown value type 13/],
  ['array of an unknown type', craftGguf({ kv: (b) => (b.str('k').u32(T.ARRAY).u32(99).u64(1), 1) }), /array of unknown value type 99/],
  ['array count 2^40', craftGguf({ kv: (b) => (b.str('k').u32(T.ARRAY).u32(T.U32).u64(2n ** 40n), 1) }), /array of 1099511627776 elements cannot fit/],
  ['string array count past the end', craftGguf({ kv: (b) => (b.str('k').u32(T.ARRAY).u32(T.STRING).u64(1e6), 1) }), /array of 1000000 elements cannot fit/],
  // The count field follows the key text, the value type and the element type.
  ['vocabulary array longer than the file', mutate((_, v) => v.setBigUint64(Buffer.from(REAL).indexOf('tokenizer.ggml.tokens') + 29, 2n ** 32n, true)), /"tokenizer.ggml.tokens": an array of 4294967296 elements cannot fit/],
  ['arrays nested too deep', craftGguf({ kv: (b) => { b.str('k').u32(T.ARRAY); for (let i = 0; i < 20; i++) b.u32(T.ARRAY).u64(1); return 1; } }), /nested more than 8 deep/],
  ['too many nested arrays', craftGguf({ kv: (b) => (b.str('k').u32(T.ARRAY).u32(T.ARRAY).u64(1e5), 1), dataBytes: 12e5 }), /array of 100000 arrays exceeds the limit/],
  ['duplicate metadata key', craftGguf({ kv: (b) => (b.str('k').u32(T.U32).u32(1).str('k').u32(T.U32).u32(2), 2) }), /duplicate metadata key "k"/],
  ['alignment not a power of two', craftGguf({ kv: (b) => (b.str('general.alignment').u32(T.U32).u32(48), 1) }), /general.alignment must be a power-of-two/],
  ['alignment as a string', craftGguf({ kv: (b) => (b.str('general.alignment').u32(T.STRING).str('32'), 1) }), /general.alignment/],
  ['truncated inside the metadata', REAL.slice(0, 20000), /file ends at byte 20000 .*truncated/],
  ['truncated inside the tensor infos', REAL.slice(0, embd.nDims + 6), /truncated/],
  ['too many dims', mutate((_, v) => v.setUint32(embd.nDims, 5, true)), /"token_embd.weight" has 5 dimensions/],
  ['zero dims', mutate((_, v) => v.setUint32(embd.nDims, 0, true)), /has 0 dimensions/],
  ['unknown ggml type', mutate((_, v) => v.setUint32(embd.type, 99, true)), /unknown ggml type 99/],
  ['removed ggml type id 4', mutate((_, v) => v.setUint32(embd.type, 4, true)), /unknown ggml type 4/],
  ['a dim of 2^63', mutate((_, v) => v.setBigUint64(embd.nDims + 12, 2n ** 63n, true)), /need \d+ bytes, more than the whole/],
  ['dims whose product overflows 64 bits', craftGguf({ tensors: tensor([2n ** 32n, 2n ** 32n, 2n ** 32n, 2n ** 32n]), dataBytes: 64 }), /more than the whole/],
  ['tensor larger than the file', craftGguf({ tensors: tensor([1024, 1024]), dataBytes: 64 }), /4194304 bytes, more than the whole/],
  ['tensor running past the end', craftGguf({ tensors: tensor([64], F32, 256), dataBytes: 384 }), /256 bytes at data offset 256 run past the end/],
  ['offset 2^63', craftGguf({ tensors: tensor([8], F32, 2n ** 63n), dataBytes: 64 }), /run past the end/],
  ['row not a whole number of blocks', craftGguf({ tensors: tensor([16, 2], Q4_0), dataBytes: 64 }), /first dim 16 is not a multiple of the Q4_0 block size 32/],
  ['misaligned offset', mutate((_, v) => v.setBigUint64(norm.offset, v.getBigUint64(norm.offset, true) + 4n, true)), /"output_norm.weight": offset \d+ is not a multiple of the alignment 32/],
  ['overlapping tensors', mutate((_, v) => v.setBigUint64(norm.offset, 1024n, true)), /"output_norm.weight" .* overlaps tensor "token_embd.weight"/],
  ['duplicate tensor name', craftGguf({ tensors: [...tensor([8]), ...tensor([8], F32, 32)], dataBytes: 64 }), /duplicate tensor name "w"/],
  ['data section cut off', REAL.slice(0, REAL.length - 100), /run past the end of the file .* truncated/],
];

test.each(cases)('%s', async (what, bytes, message) => {
  const name = `hostile-${what.replace(/\W+/g, '-')}.gguf`;
  const err = await GgufFile.open(fromArrayBuffer(bytes, name)).then(() => undefined, (e: unknown) => e);
  expect(err, 'open() should fail').toBeInstanceOf(FileFormatError);
  expect((err as FileFormatError).file).toBe(name);
  expect((err as Error).message).toMatch(message);
  expect((err as Error).message.startsWith(`${name}: `)).toBe(true);
});

test('the untouched file parses (the mutations above are what break it)', async () => {
  const g = await GgufFile.open(fromArrayBuffer(REAL, 'real.gguf'));
  // token_embd is Q4_0 [128, 2048]: 8192 blocks of 18 bytes, then output_norm.
  expect(g.tensor('output_norm.weight').offset).toBe(g.dataOffset + 8192 * 18);
});
