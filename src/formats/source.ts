// A ByteSource is a file we read in slices: a Blob/File the user picked, an ArrayBuffer,
// a URL served with HTTP Range, or (in Node, see node_source.ts) a path on disk.
// Loaders never read a whole multi-gigabyte file at once; they ask for byte ranges.

export interface ByteSource {
  /** File name or URL; used in error messages. */
  readonly name: string;
  /** Total size in bytes. */
  size(signal?: AbortSignal): Promise<number>;
  /** Exactly `length` bytes starting at `offset`; throws FileFormatError past the end. */
  read(offset: number, length: number, signal?: AbortSignal): Promise<Uint8Array>;
  /**
   * The whole file, refused when larger than `maxBytes` (optional: a URL does it in one request
   * instead of a size probe and a read; readWholeFile() falls back to size() + read()).
   */
  readAll?(maxBytes: number, signal?: AbortSignal): Promise<Uint8Array>;
  /**
   * Only for sources that check what they serve (the model store's view, src/store/view.ts): the
   * SHA-256 that `bytes`, a buffer this source's read() returned whole, was found to have when it
   * was read from storage for that read; undefined for any other buffer. A reader that finds the
   * digest it expects need not hash the same bytes again (ErniePackage.readShard / readFile).
   */
  vouchedSha256?(bytes: Uint8Array): string | undefined;
}

/** Resolves a path inside a model folder ("config.json", "model-00001-of-00002.safetensors"). */
export type FolderSource = (relativePath: string) => ByteSource;
