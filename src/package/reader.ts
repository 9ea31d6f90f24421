// Reads an ernie-webgpu package from any FolderSource (a URL, picked files, a directory):
// the manifest is validated in full at open; tensors are then read one byte range at a time, and
// a routed expert's shard can be fetched whole and checked against its SHA-256.
import { ErnieError, FileFormatError, throwIfAborted } from '../errors';
import type { ErnieConfig } from '../model/ernie45/config';
import type { ByteSource, FolderSource } from '../formats/source';
import { FileNotFoundError } from '../formats/sources';
import { dequantizeRows, matrixDims } from '../quant/layouts';
import {
  MANIFEST_FILE, MAX_MANIFEST_BYTES, type Manifest, type ManifestFile, type ManifestShard, type ManifestTensor, type ValidManifest,
  parseManifestText, validateManifest,
} from './manifest';
import { sha256Hex } from './hash';

/** One routed expert's shard, verified: its bytes and the three tensors inside (offsets into `bytes`). */
export interface ExpertShard {
  layer: number;
  expert: number;
  file: string;
  bytes: Uint8Array<ArrayBuffer>;
  gate: ManifestTensor;
  up: ManifestTensor;
  down: ManifestTensor;
}

export interface RawTensor {
  tensor: ManifestTensor;
  bytes: Uint8Array;
}

export class ErniePackage {
  private readonly sizes = new Map<string, Promise<void>>();

  private constructor(
    private readonly folder: FolderSource,
    private readonly valid: ValidManifest,
  ) {}

  /** Opens and validates manifest.json. No weight is read. */
  static async open(folder: FolderSource, signal?: AbortSignal): Promise<ErniePackage> {
    throwIfAborted(signal);
    const bytes = await readWhole(folder, MANIFEST_FILE, MAX_MANIFEST_BYTES, 'the package manifest; is this an ernie-webgpu package folder?', signal);
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch (err) {
      throw new FileFormatError(MANIFEST_FILE, 'is not valid UTF-8', { cause: err });
    }
    return new ErniePackage(folder, validateManifest(parseManifestText(text)));
  }

  get manifest(): Manifest {
    return this.valid.manifest;
  }

  get config(): ErnieConfig {
    return this.valid.config;
  }

  names(): string[] {
    return [...this.valid.tensors.keys()];
  }

  has(name: string): boolean {
    return this.valid.tensors.has(name);
  }

  tensor(name: string): ManifestTensor {
    const t = this.valid.tensors.get(name);
    if (!t) throw new ErnieError('MISSING_TENSOR', `${MANIFEST_FILE}: no tensor "${name}"`);
    return t;
  }

  /** The manifest entry of the shard holding layer `layer`'s routed expert `expert`. */
  expertShardInfo(layer: number, expert: number): ManifestShard {
    const s = this.valid.expertShards.get(`${layer}/${expert}`);
    if (!s) throw new ErnieError('BAD_REQUEST', `${MANIFEST_FILE}: no shard for layer ${layer} expert ${expert}`);
    return s;
  }

  /** A tensor's stored bytes (its byte range only; use readExpertShard/readShard to verify hashes). */
  async readTensor(name: string, signal?: AbortSignal): Promise<RawTensor> {
    const t = this.tensor(name);
    const shard = this.valid.shards.get(t.shard)!;
    await this.checkSize(shard, signal);
    const bytes = await shardRead(this.folder, shard, t.offset, t.bytes, signal);
    return { tensor: t, bytes };
  }

  /** A tensor dequantized to f32, row-major in its shape. */
  async readF32(name: string, signal?: AbortSignal): Promise<Float32Array> {
    const { tensor, bytes } = await this.readTensor(name, signal);
    const [rows, cols] = matrixDims(tensor.shape);
    return dequantizeRows(tensor.layout, bytes, rows, cols);
  }

  /** A whole shard, checked against its size and SHA-256 in the manifest. */
  async readShard(file: string, signal?: AbortSignal): Promise<Uint8Array<ArrayBuffer>> {
    const shard = this.valid.shards.get(file);
    if (!shard) throw new ErnieError('BAD_REQUEST', `${MANIFEST_FILE}: no shard "${file}"`);
    await this.checkSize(shard, signal);
    const bytes = await shardRead(this.folder, shard, 0, shard.bytes, signal);
    await verify(file, bytes, shard.sha256);
    return bytes;
  }

  /** The shard of one routed expert (gate, up and down), verified. */
  async readExpertShard(layer: number, expert: number, signal?: AbortSignal): Promise<ExpertShard> {
    const shard = this.expertShardInfo(layer, expert);
    const bytes = await this.readShard(shard.file, signal);
    const cfgNames = expertNames(this.valid, layer, expert);
    return { layer, expert, file: shard.file, bytes, gate: this.tensor(cfgNames.gate), up: this.tensor(cfgNames.up), down: this.tensor(cfgNames.down) };
  }

  /** A tokenizer / chat-template / generation-config file of the package, verified. */
  async readFile(path: string, signal?: AbortSignal): Promise<Uint8Array<ArrayBuffer>> {
    const f: ManifestFile | undefined = this.valid.manifest.files.find((x) => x.path === path);
    if (!f) throw new ErnieError('BAD_REQUEST', `${MANIFEST_FILE}: no file "${path}" (has: ${this.valid.manifest.files.map((x) => x.path).join(', ') || 'none'})`);
    const bytes = await readWhole(this.folder, f.path, f.bytes, `listed in ${MANIFEST_FILE}`, signal, f.bytes);
    await verify(f.path, bytes, f.sha256);
    return bytes;
  }

  private checkSize(shard: ManifestShard, signal?: AbortSignal): Promise<void> {
    let p = this.sizes.get(shard.file);
    if (!p) {
      p = (async () => {
        const size = await guard(shard.file, describeShard(shard), () => open(this.folder, shard.file).size());
        if (size !== shard.bytes) {
          throw new FileFormatError(shard.file, `is ${size} bytes, but ${MANIFEST_FILE} says ${shard.bytes}; the file is truncated or from another package`);
        }
      })();
      // Cache success only: a transient failure may be retried.
      p.catch(() => this.sizes.delete(shard.file));
      this.sizes.set(shard.file, p);
    }
    throwIfAborted(signal);
    return p;
  }
}

/** Opens an ernie-webgpu package: reads and validates manifest.json (see FORMAT.md). */
export function openPackage(folder: FolderSource, signal?: AbortSignal): Promise<ErniePackage> {
  return ErniePackage.open(folder, signal);
}

function expertNames(valid: ValidManifest, layer: number, expert: number): { gate: string; up: string; down: string } {
  const out: Partial<Record<'gate' | 'up' | 'down', string>> = {};
  for (const t of valid.expected.values()) {
    if (t.role === 'expert' && t.layer === layer && t.expert === expert) out[t.proj!] = t.name;
  }
  return out as { gate: string; up: string; down: string };
}

function describeShard(s: ManifestShard): string {
  return s.kind === 'expert' ? `listed in ${MANIFEST_FILE} as the shard of layer ${s.layer} expert ${s.expert}` : `listed in ${MANIFEST_FILE} as a core shard`;
}

function open(folder: FolderSource, file: string): ByteSource {
  return folder(file);
}

/** Runs a read; a missing file becomes a FileNotFoundError naming the package-relative file. */
async function guard<T>(file: string, why: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof FileNotFoundError) throw new FileNotFoundError(err.code as 'BAD_FILE' | 'FETCH_FAILED', file, `is missing (${why})`, { cause: err });
    throw err;
  }
}

async function shardRead(folder: FolderSource, shard: ManifestShard, offset: number, length: number, signal?: AbortSignal): Promise<Uint8Array<ArrayBuffer>> {
  const raw = await guard(shard.file, describeShard(shard), () => open(folder, shard.file).read(offset, length, signal));
  return raw.buffer instanceof ArrayBuffer ? (raw as Uint8Array<ArrayBuffer>) : new Uint8Array(raw);
}

async function readWhole(folder: FolderSource, file: string, max: number, why: string, signal?: AbortSignal, exact?: number): Promise<Uint8Array<ArrayBuffer>> {
  return guard(file, why, async () => {
    const src = open(folder, file);
    const size = await src.size();
    if (exact !== undefined && size !== exact) throw new FileFormatError(file, `is ${size} bytes, but ${MANIFEST_FILE} says ${exact}`);
    if (size > max) throw new FileFormatError(file, `is ${size} bytes, more than the ${max}-byte limit`);
    const raw = await src.read(0, size, signal);
    return raw.buffer instanceof ArrayBuffer ? (raw as Uint8Array<ArrayBuffer>) : new Uint8Array(raw);
  });
}

async function verify(file: string, bytes: Uint8Array<ArrayBuffer>, want: string): Promise<void> {
  const got = await sha256Hex(bytes);
  if (got !== want) {
    throw new FileFormatError(file, `SHA-256 is ${got}, but ${MANIFEST_FILE} says ${want}; the file is corrupt or from another package (download it again)`);
  }
}
