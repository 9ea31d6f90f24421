// Building hostile copies of the fixtures in memory: safetensors split into header and data and
// put back together (with a lying length if asked), GGUF metadata values rewritten in place, model
// folders as maps of bytes, and one check that an error is typed and names the file at fault.
import { readFileSync } from 'node:fs';
import { expect } from 'vitest';
import { ErnieError } from '../../src/errors';
import { FileNotFoundError, fromArrayBuffer } from '../../src/formats/sources';
import type { FolderSource } from '../../src/formats/source';

export const TINY_DIR = 'test/fixtures/ernie45-moe-tiny';
export const TOKENIZER_DIR = 'test/fixtures/ernie-tokenizer-tiny';
export const GGUF_TINY = 'test/fixtures/gguf/ernie45-moe-tiny-q8_0.gguf';

export const read = (path: string) => new Uint8Array(readFileSync(path));
export const tinyConfig = () => JSON.parse(readFileSync(`${TINY_DIR}/config.json`, 'utf8')) as Record<string, any>;
export const json = (v: unknown) => new TextEncoder().encode(JSON.stringify(v, null, 1));

/** A model folder held in memory; a missing path is a FileNotFoundError, as on disk. */
export function memFolder(files: Map<string, Uint8Array>): FolderSource {
  return (path) => {
    const b = files.get(path);
    if (!b) throw new FileNotFoundError('BAD_FILE', path, 'not in the folder');
    return fromArrayBuffer(b, path);
  };
}

/** config.json + model.safetensors of the tiny fixture, with the tokenizer files beside them. */
export function tinyFolderFiles(): Map<string, Uint8Array> {
  return new Map([
    ['config.json', read(`${TINY_DIR}/config.json`)],
    ['model.safetensors', read(`${TINY_DIR}/model.safetensors`)],
    ['tokenizer.model', read(`${TOKENIZER_DIR}/tokenizer.model`)],
    ['tokenizer_config.json', read(`${TOKENIZER_DIR}/tokenizer_config.json`)],
  ]);
}

export interface SafetensorsParts {
  header: Record<string, any>;
  /** The header's JSON text as stored (with its padding). */
  text: string;
  data: Uint8Array;
}

export function splitSafetensors(bytes: Uint8Array): SafetensorsParts {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  const text = new TextDecoder().decode(bytes.subarray(8, 8 + n));
  return { header: JSON.parse(text), text, data: bytes.subarray(8 + n) };
}

/** Header text (padded with spaces to `pad` bytes past the JSON), data, and an optional lying length. */
export function joinSafetensors(text: string, data: Uint8Array, declaredLength?: number): Uint8Array {
  const h = new TextEncoder().encode(text);
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(declaredLength ?? h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

// ---- GGUF metadata, rewritten in place ----

const GGUF_TYPES: Record<number, { size: number; set: (v: DataView, at: number, x: number) => void }> = {
  4: { size: 4, set: (v, at, x) => v.setUint32(at, x, true) },
  5: { size: 4, set: (v, at, x) => v.setInt32(at, x, true) },
  6: { size: 4, set: (v, at, x) => v.setFloat32(at, x, true) },
  10: { size: 8, set: (v, at, x) => v.setBigUint64(at, BigInt(x), true) },
  11: { size: 8, set: (v, at, x) => v.setBigInt64(at, BigInt(x), true) },
  12: { size: 8, set: (v, at, x) => v.setFloat64(at, x, true) },
};

/** Byte offset of metadata `key`'s value type (the u32 after the key string). */
export function ggufKeyAt(bytes: Uint8Array, key: string): number {
  const k = new TextEncoder().encode(key);
  const withLen = new Uint8Array(8 + k.length);
  new DataView(withLen.buffer).setBigUint64(0, BigInt(k.length), true);
  withLen.set(k, 8);
  const at = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).indexOf(Buffer.from(withLen));
  if (at < 0) throw new Error(`no metadata key ${key}`);
  return at + withLen.length;
}

/** A copy of a GGUF file with numeric metadata `key` set to `value` (in the key's own type). */
export function setGgufNumber(bytes: Uint8Array, key: string, value: number): Uint8Array {
  const out = bytes.slice();
  const v = new DataView(out.buffer);
  const at = ggufKeyAt(out, key);
  const t = GGUF_TYPES[v.getUint32(at, true)];
  if (!t) throw new Error(`metadata ${key} is not numeric`);
  t.set(v, at + 4, value);
  return out;
}

/** The GGUF file's architecture prefix ("ernie4_5-moe"). */
export function ggufArch(bytes: Uint8Array): string {
  const at = ggufKeyAt(bytes, 'general.architecture');
  const v = new DataView(bytes.buffer, bytes.byteOffset);
  const len = Number(v.getBigUint64(at + 4, true));
  return new TextDecoder().decode(bytes.subarray(at + 12, at + 12 + len));
}

// ---- outcomes ----

/** What a rejection must look like: its code, the file it names, and text it contains. */
export interface Expected {
  /** One code, or the codes allowed. */
  code: string | string[];
  file: string;
  message?: RegExp;
  /** Text the message must not contain (e.g. a file that is not at fault). */
  not?: RegExp;
}

export async function expectTyped(run: Promise<unknown> | (() => unknown), want: Expected): Promise<ErnieError> {
  let err: unknown;
  try {
    await (typeof run === 'function' ? run() : run);
  } catch (e) {
    err = e;
  }
  expect(err, 'expected a rejection').toBeInstanceOf(ErnieError);
  const e = err as ErnieError;
  expect([want.code].flat(), e.message).toContain(e.code);
  expect(e.message, 'names the file').toContain(want.file);
  if (want.message) expect(e.message).toMatch(want.message);
  if (want.not) expect(e.message).not.toMatch(want.not);
  return e;
}
