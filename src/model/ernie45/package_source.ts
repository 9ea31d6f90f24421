// An ernie-webgpu package (FORMAT.md) as a WeightSource whose bytes are verified before the
// uploader sees them: each shard is read whole (core shards and routed experts' shards alike),
// checked against its SHA-256 in the manifest, and only then are its tensors' byte ranges handed
// out. Tensors stored f16/f32 upload as they are; quantized ones the kernels read as they are too.
//
// Memory: one verified shard at a time, plus the next `prefetch` expert shards of the same layer
// being read meanwhile (the uploader takes a layer's experts in order; over HTTP this hides a
// round trip per shard). When the uploader asks for a tensor of another shard before it has taken
// every tensor of the current one (it fills a layer's gate/up stack before its down stack, so each
// expert shard is visited twice), the tensors it has not taken yet are copied out and the shard
// buffer is dropped; so at most one shard, the prefetched ones and the tensors skipped so far are
// held (for a MoE layer: one third of that layer's expert bytes).
import type { FolderSource } from '../../formats/source.js';
import { openPackage, type ErniePackage } from '../../package/reader.js';
import { dequantizeRows, matrixDims } from '../../quant/layouts.js';
import type { ErnieConfig } from './config.js';
import type { WeightSource } from './weights.js';
import { MANIFEST_FILE } from '../../package/manifest.js';

export interface PackageWeightsStats {
  /** Shards read (and hashed) so far. */
  shardsRead: number;
  /** Of those, how many were read ahead of the uploader. */
  shardsReadAhead: number;
  /** Bytes hashed so far. */
  bytesVerified: number;
  /** Milliseconds spent in SHA-256. */
  hashMs: number;
  /** The most bytes held at once (the current shard plus tensors kept for later). */
  peakHeldBytes: number;
}

/** Expert shards read ahead of the uploader by default. */
export const DEFAULT_PREFETCH_SHARDS = 2;

export async function openPackageWeights(
  folder: FolderSource,
  signal?: AbortSignal,
  opts: { prefetch?: number } = {},
): Promise<{ config: ErnieConfig; weights: WeightSource; pkg: ErniePackage; stats: PackageWeightsStats }> {
  const pkg = await openPackage(folder, signal);
  const stats: PackageWeightsStats = { shardsRead: 0, shardsReadAhead: 0, bytesVerified: 0, hashMs: 0, peakHeldBytes: 0 };
  const verified = verifiedTensors(pkg, stats, opts.prefetch ?? DEFAULT_PREFETCH_SHARDS);
  const weights: WeightSource = {
    name: MANIFEST_FILE,
    has: (name) => pkg.has(name),
    info: (name) => {
      const t = pkg.tensor(name);
      return { shape: t.shape, dtype: t.layout === 'f16' ? 'F16' : t.layout === 'f32' ? 'F32' : t.layout.toUpperCase(), file: t.shard };
    },
    readRaw: (name, s) => verified(name, s),
    readF32: async (name, s) => {
      const t = pkg.tensor(name);
      const [rows, cols] = matrixDims(t.shape);
      return dequantizeRows(t.layout, await verified(name, s), rows, cols);
    },
  };
  return { config: pkg.config, weights, pkg, stats };
}

/** A tensor's bytes out of its shard, read whole and verified once. */
function verifiedTensors(pkg: ErniePackage, stats: PackageWeightsStats, prefetch: number): (name: string, signal?: AbortSignal) => Promise<Uint8Array> {
  let current: { file: string; bytes: Uint8Array; taken: Set<string> } | undefined;
  let loading: Promise<void> | undefined;
  const kept = new Map<string, Uint8Array>(); // tensors of earlier shards not taken yet (copies)
  let keptBytes = 0;
  const ahead = new Map<string, Promise<Uint8Array<ArrayBuffer>>>(); // shards read ahead, verified
  let aheadBytes = 0;
  const read = new Set<string>(); // shards read so far (never read ahead again)

  const note = () => (stats.peakHeldBytes = Math.max(stats.peakHeldBytes, keptBytes + aheadBytes + (current?.bytes.byteLength ?? 0)));

  const readAhead = (file: string, signal?: AbortSignal) => {
    const s = pkg.shardInfo(file);
    if (s?.kind !== 'expert') return;
    for (let d = 1; d <= prefetch; d++) {
      const next = pkg.findExpertShard(s.layer!, s.expert! + d);
      if (!next || read.has(next.file) || ahead.has(next.file)) continue;
      const p = pkg.readShard(next.file, signal);
      p.catch(() => undefined); // surfaces when the uploader asks for it
      ahead.set(next.file, p);
      aheadBytes += next.bytes;
    }
    note();
  };

  const load = async (file: string, signal?: AbortSignal) => {
    if (current) {
      // Keep what the uploader has not taken yet, then let the old shard go.
      for (const t of pkg.tensorsIn(current.file)) {
        if (current.taken.has(t.name)) continue;
        kept.set(t.name, current.bytes.slice(t.offset, t.offset + t.bytes));
        keptBytes += t.bytes;
      }
      current = undefined;
    }
    let pending = ahead.get(file);
    if (pending) {
      stats.shardsReadAhead++;
      ahead.delete(file);
      aheadBytes -= pkg.shardInfo(file)!.bytes;
    } else pending = pkg.readShard(file, signal);
    read.add(file);
    readAhead(file, signal);
    const bytes = await pending;
    stats.shardsRead++;
    stats.bytesVerified += bytes.byteLength;
    stats.hashMs = pkg.hashStats.ms;
    current = { file, bytes, taken: new Set() };
    note();
  };

  return async (name, signal) => {
    const t = pkg.tensor(name);
    const k = kept.get(name);
    if (k) {
      kept.delete(name);
      keptBytes -= k.byteLength;
      return k;
    }
    // Reads come one at a time from the uploader; serialise anyway so two callers never race.
    while (loading) await loading;
    if (current?.file !== t.shard) {
      // (A tensor taken before and asked for again re-reads and re-verifies its shard.)
      loading = load(t.shard, signal).finally(() => (loading = undefined));
      await loading;
    }
    const cur = current!;
    cur.taken.add(name);
    return cur.bytes.subarray(t.offset, t.offset + t.bytes);
  };
}
