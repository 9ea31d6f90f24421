// Shared helpers for the GGUF tests: fixture paths, a weight cache for the reference forward,
// and a tiny GGUF writer for crafting hostile headers.
import { readFileSync } from 'node:fs';
import { GgufFile } from '../../src/formats/gguf';
import { ggufWeightLookup } from '../../src/formats/gguf_ernie';
import { fromPath } from '../../src/formats/node_source';
import type { ErnieConfig } from '../../src/model/ernie45/config';
import { expectedTensors } from '../../src/package/tensors';

export const GGUF_DIR = 'test/fixtures/gguf';
export const TINY_FILES = ['f32', 'f16', 'bf16', 'q8_0', 'q4_0'].map((t) => `ernie45-moe-tiny-${t}`);
export const K256_FILES = ['q4_k_m', 'q2_k', 'q3_k', 'q5_k', 'q5_0', 'q4_1'].map((t) => `ernie45-moe-k256-${t}`);

export const ggufPath = (name: string) => `${GGUF_DIR}/${name}.gguf`;
export const openGguf = (name: string) => GgufFile.open(fromPath(ggufPath(name)));

export function prompts(name: string): number[][] {
  const file = name.includes('tiny') ? 'test/fixtures/ernie45-moe-tiny/reference.json' : `${GGUF_DIR}/ernie45-moe-k256/reference.json`;
  return (JSON.parse(readFileSync(file, 'utf8')) as { prompts: number[][] }).prompts;
}

/** Every HF tensor the forward of `cfg` reads, dequantized through the GGUF lookup. */
export async function loadWeights(gguf: GgufFile, cfg: ErnieConfig): Promise<Map<string, Float32Array>> {
  const lookup = ggufWeightLookup(gguf);
  const names = expectedTensors(cfg).map((t) => t.name);
  const out = new Map<string, Float32Array>();
  for (const name of names) out.set(name, await lookup.readF32(name));
  return out;
}

export function lookupFn(weights: Map<string, Float32Array>) {
  return (name: string) => {
    const w = weights.get(name);
    if (!w) throw new Error(`no weight ${name}`);
    return w;
  };
}

/** Little-endian byte builder for hand-written GGUF files. */
export class GgufBytes {
  private parts: number[] = [];
  u8(v: number) { this.parts.push(v & 255); return this; }
  u32(v: number) { for (let i = 0; i < 4; i++) this.u8(v >>> (8 * i)); return this; }
  u64(v: number | bigint) {
    const b = BigInt(v);
    for (let i = 0n; i < 8n; i++) this.u8(Number((b >> (8n * i)) & 255n));
    return this;
  }
  str(s: string) {
    const b = new TextEncoder().encode(s);
    this.u64(b.length);
    b.forEach((x) => this.u8(x));
    return this;
  }
  bytes(b: ArrayLike<number>) { for (let i = 0; i < b.length; i++) this.u8(b[i]!); return this; }
  padTo(align: number) { while (this.parts.length % align) this.u8(0); return this; }
  get length() { return this.parts.length; }
  build() { return Uint8Array.from(this.parts); }
}

export interface TensorSpec { name: string; dims: (number | bigint)[]; type: number; offset: number | bigint }

/**
 * A GGUF v3 file: header, `kv` (writes its entries and returns how many), tensor infos, padding,
 * then `dataBytes` zero bytes. Counts can be overridden to lie.
 */
export function craftGguf(opts: {
  version?: number;
  kv?: (b: GgufBytes) => number;
  tensors?: TensorSpec[];
  tensorCount?: number | bigint;
  kvCount?: number | bigint;
  dataBytes?: number;
  alignment?: number;
}): Uint8Array {
  const kvBody = new GgufBytes();
  const nKv = opts.kv ? opts.kv(kvBody) : 0;
  const tensors = opts.tensors ?? [];
  const b = new GgufBytes().bytes([0x47, 0x47, 0x55, 0x46]).u32(opts.version ?? 3);
  b.u64(opts.tensorCount ?? tensors.length).u64(opts.kvCount ?? nKv).bytes(kvBody.build());
  for (const t of tensors) {
    b.str(t.name).u32(t.dims.length);
    t.dims.forEach((d) => b.u64(d));
    b.u32(t.type).u64(t.offset);
  }
  b.padTo(opts.alignment ?? 32);
  return Uint8Array.from([...b.build(), ...new Uint8Array(opts.dataBytes ?? 0)]);
}
