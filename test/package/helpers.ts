// Shared helpers for the package and converter tests: fixtures, a safetensors writer for
// synthetic multi-file checkpoints, and the KL / top-1 measurement against reference logits.
import { readFileSync, writeFileSync } from 'node:fs';
import { fromPath } from '../../src/formats/node_source';
import { SafetensorsFile } from '../../src/formats/safetensors';
import type { ErnieConfig } from '../../src/model/ernie45/config';
import { referenceForward } from '../reference/forward_ref';

export const TINY_DIR = 'test/fixtures/ernie45-moe-tiny';
export const K256_DIR = 'test/fixtures/ernie45-moe-k256';
export const GGUF_DIR = 'test/fixtures/gguf';

export function prompts(dir: string): number[][] {
  return (JSON.parse(readFileSync(`${dir}/reference.json`, 'utf8')) as { prompts: number[][] }).prompts;
}

export interface KlStats {
  mean: number;
  max: number;
  top1: number;
  positions: number;
}

/**
 * KL(HF || ours) of the softmax at every prompt position, ours = the f64 reference forward on
 * `weights`, HF = `logits_{p}` of `<dir>/reference.safetensors`; and how often the argmax agrees.
 */
export async function klVsReference(dir: string, cfg: ErnieConfig, weights: (name: string) => ArrayLike<number>): Promise<KlStats> {
  const ref = await SafetensorsFile.open(fromPath(`${dir}/reference.safetensors`));
  const V = cfg.vocabSize;
  let sum = 0, max = 0, top1 = 0, n = 0;
  for (const [p, ids] of prompts(dir).entries()) {
    const { logits } = referenceForward(cfg, weights, ids);
    const hf = await ref.readF32(`logits_${p}`);
    for (let t = 0; t < ids.length; t++) {
      const a = hf.subarray(t * V, (t + 1) * V), b = logits.subarray(t * V, (t + 1) * V);
      const la = logSumExp(a), lb = logSumExp(b);
      let kl = 0;
      for (let i = 0; i < V; i++) kl += Math.exp(a[i]! - la) * (a[i]! - la - (b[i]! - lb));
      sum += kl;
      max = Math.max(max, kl);
      if (argmax(a) === argmax(b)) top1++;
      n++;
    }
  }
  return { mean: sum / n, max, top1, positions: n };
}

function logSumExp(v: ArrayLike<number>): number {
  let m = -Infinity;
  for (let i = 0; i < v.length; i++) m = Math.max(m, v[i]!);
  let s = 0;
  for (let i = 0; i < v.length; i++) s += Math.exp(v[i]! - m);
  return m + Math.log(s);
}

function argmax(v: ArrayLike<number>): number {
  let b = 0;
  for (let i = 1; i < v.length; i++) if (v[i]! > v[b]!) b = i;
  return b;
}

/** Writes a safetensors file of F32/BF16 tensors (data as f32; BF16 keeps the upper 16 bits). Returns its size. */
export function writeSafetensors(path: string, tensors: { name: string; shape: number[]; data: Float32Array; dtype?: 'F32' | 'BF16' }[]): number {
  const header: Record<string, unknown> = {};
  let offset = 0;
  const parts: Uint8Array[] = [];
  for (const t of tensors) {
    const dtype = t.dtype ?? 'F32';
    const f32 = new Uint8Array(t.data.buffer.slice(t.data.byteOffset, t.data.byteOffset + t.data.byteLength));
    const bytes = dtype === 'F32' ? f32 : new Uint8Array(Uint16Array.from(new Uint32Array(f32.buffer), (v) => v >>> 16).buffer);
    header[t.name] = { dtype, shape: t.shape, data_offsets: [offset, offset + bytes.length] };
    offset += bytes.length;
    parts.push(bytes);
  }
  let json = JSON.stringify(header);
  while ((8 + json.length) % 8) json += ' ';
  const out = new Uint8Array(8 + json.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(new TextEncoder().encode(json), 8);
  let o = 8 + json.length;
  for (const p of parts) (out.set(p, o), (o += p.length));
  writeFileSync(path, out);
  return out.length;
}
