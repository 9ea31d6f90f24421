// Reads an ernie-webgpu package from any FolderSource (a URL, picked files, a directory):
// the manifest is validated in full at open; tensors are then read one byte range at a time, and
// a routed expert's shard can be fetched whole and checked against its SHA-256 (not hashed again
// when its source vouches for those exact bytes: the model store's view has just hashed them); a
// mismatch is an IntegrityError naming the file, for every package family (text and VL shards
// share this path).
import { ErnieError, FileFormatError, IntegrityError, throwIfAborted } from '../errors';
import type { ErnieConfig } from '../model/ernie45/config';
import type { ModelFamily } from './family';
import type { ByteSource, FolderSource } from '../formats/source';
import { FileNotFoundError, readWholeFile } from '../formats/sources';
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
  /**
   * Bytes hashed by readShard/readFile/readExpertShard so far, the milliseconds SHA-256 took, and
   * the bytes not hashed because their source had just checked them (`vouchedBytes`: a model
   * store's view, see ByteSource.vouchedSha256).
   */
  readonly hashStats = { bytes: 0, ms: 0, vouchedBytes: 0 };

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

  /** The language stack's config (a VL package's text side). */
  get config(): ErnieConfig {
    return this.valid.config;
  }

  /** The model family the config selects (text, or VL with `family.vl`). */
  get family(): ModelFamily {
    return this.valid.family;
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

  /**
   * A tensor's stored bytes, read as its byte range only: NOT verified (a shard's SHA-256 covers
   * the whole shard). The engine's load path reads whole shards instead (readShard, verified).
   */
  async readTensor(name: string, signal?: AbortSignal): Promise<RawTensor> {
    const t = this.tensor(name);
    const shard = this.valid.shards.get(t.shard)!;
    const bytes = await this.readShardRange(shard, t.offset, t.bytes, signal);
    return { tensor: t, bytes };
  }

  /** A tensor dequantized to f32, row-major in its shape. */
  async readF32(name: string, signal?: AbortSignal): Promise<Float32Array> {
    const { tensor, bytes } = await this.readTensor(name, signal);
    const [rows, cols] = matrixDims(tensor.shape);
    return dequantizeRows(tensor.layout, bytes, rows, cols);
  }

  /** The manifest entry of shard `file`, or undefined when the package has none. */
  shardInfo(file: string): ManifestShard | undefined {
    return this.valid.shards.get(file);
  }

  /** The shard of layer `layer`'s routed expert `expert`, or undefined when there is none. */
  findExpertShard(layer: number, expert: number): ManifestShard | undefined {
    return this.valid.expertShards.get(`${layer}/${expert}`);
  }

  /** The manifest entries of every shard, core shards first, in manifest order. */
  shards(): ManifestShard[] {
    const all = [...this.valid.shards.values()];
    return [...all.filter((s) => s.kind === 'core'), ...all.filter((s) => s.kind === 'expert')];
  }

  /** The tensors stored in shard `file`, by offset. */
  tensorsIn(file: string): ManifestTensor[] {
    return this.valid.manifest.tensors.filter((t) => t.shard === file).sort((a, b) => a.offset - b.offset);
  }

  /**
   * A whole shard, checked against its SHA-256 in the manifest before it is returned. Its size
   * comes from the manifest: one read, no size probe.
   */
  async readShard(file: string, signal?: AbortSignal): Promise<Uint8Array<ArrayBuffer>> {
    const shard = this.valid.shards.get(file);
    if (!shard) throw new ErnieError('BAD_REQUEST', `${MANIFEST_FILE}: no shard "${file}"`);
    const bytes = await this.readShardRange(shard, 0, shard.bytes, signal);
    await this.verify(file, bytes, shard.sha256);
    return bytes;
  }

  /** The shard of one routed expert (gate, up and down), verified. */
  async readExpertShard(layer: number, expert: number, signal?: AbortSignal): Promise<ExpertShard> {
    const shard = this.expertShardInfo(layer, expert);
    const bytes = await this.readShard(shard.file, signal);
    const cfgNames = expertNames(this.valid, layer, expert);
    return { layer, expert, file: shard.file, bytes, gate: this.tensor(cfgNames.gate), up: this.tensor(cfgNames.up), down: this.tensor(cfgNames.down) };
  }

  /** The manifest's entry for a non-weight file, or undefined when the package has no such file. */
  fileInfo(path: string): ManifestFile | undefined {
    return this.valid.manifest.files.find((x) => x.path === path);
  }

  /** A tokenizer / chat-template / generation-config file of the package, verified. */
  async readFile(path: string, signal?: AbortSignal): Promise<Uint8Array<ArrayBuffer>> {
    const f = this.fileInfo(path);
    if (!f) throw new FileNotFoundError('BAD_FILE', path, `is not in this package (${MANIFEST_FILE} lists: ${this.valid.manifest.files.map((x) => x.path).join(', ') || 'no files'})`);
    const bytes = await readWhole(this.folder, f.path, f.bytes, `listed in ${MANIFEST_FILE}`, signal);
    if (bytes.byteLength !== f.bytes) throw new FileFormatError(f.path, `is ${bytes.byteLength} bytes, but ${MANIFEST_FILE} says ${f.bytes}; the file is corrupt or from another package (download it again)`);
    await this.verify(f.path, bytes, f.sha256);
    return bytes;
  }

  /** Bytes of a shard; a read that runs past the end says the shard is shorter than the manifest's size. */
  private async readShardRange(shard: ManifestShard, offset: number, length: number, signal?: AbortSignal): Promise<Uint8Array<ArrayBuffer>> {
    try {
      return await shardRead(this.folder, shard, offset, length, signal);
    } catch (err) {
      if (!(err instanceof FileFormatError)) throw err;
      const size = await this.folder(shard.file).size(signal).catch(() => undefined);
      if (size === undefined || size === shard.bytes) throw err;
      throw new FileFormatError(shard.file, `is ${size} bytes, but ${MANIFEST_FILE} says ${shard.bytes}; the file is truncated or from another package`, { cause: err });
    }
  }

  private async verify(file: string, bytes: Uint8Array<ArrayBuffer>, want: string): Promise<void> {
    if (this.folder(file).vouchedSha256?.(bytes) === want) {
      this.hashStats.vouchedBytes += bytes.byteLength;
      return;
    }
    const t0 = performance.now();
    const got = await sha256Hex(bytes);
    this.hashStats.ms += performance.now() - t0;
    this.hashStats.bytes += bytes.byteLength;
    if (got !== want) {
      throw new IntegrityError(file, `SHA-256 is ${got}, but ${MANIFEST_FILE} says ${want}; the file is corrupt or from another package (download it again)`);
    }
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

/** Runs a read; a missing file becomes a FileNotFoundError naming the package-relative file (and keeping where it looked). */
async function guard<T>(file: string, why: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof FileNotFoundError) {
      const detail = err.message.startsWith(`${err.file}: `) ? err.message.slice(err.file.length + 2) : err.message;
      throw new FileNotFoundError(err.code as 'BAD_FILE' | 'FETCH_FAILED', file, `is missing (${why}): ${detail}`, { cause: err });
    }
    throw err;
  }
}

async function shardRead(folder: FolderSource, shard: ManifestShard, offset: number, length: number, signal?: AbortSignal): Promise<Uint8Array<ArrayBuffer>> {
  const raw = await guard(shard.file, describeShard(shard), () => open(folder, shard.file).read(offset, length, signal));
  return raw.buffer instanceof ArrayBuffer ? (raw as Uint8Array<ArrayBuffer>) : new Uint8Array(raw);
}

/** A whole small file in one read (one request over HTTP), refused above `max` bytes. */
async function readWhole(folder: FolderSource, file: string, max: number, why: string, signal?: AbortSignal): Promise<Uint8Array<ArrayBuffer>> {
  return guard(file, why, async () => {
    const raw = await readWholeFile(open(folder, file), max, signal);
    return raw.buffer instanceof ArrayBuffer ? (raw as Uint8Array<ArrayBuffer>) : new Uint8Array(raw);
  });
}
