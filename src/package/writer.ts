// Where a converter puts a package: anything that can store whole files by relative path.
// memoryPackage() keeps them in a Map (tests, or a browser that then saves them elsewhere);
// node_writer.ts writes a directory.
import { throwIfAborted } from '../errors';
import type { FolderSource } from '../formats/source';
import { FileNotFoundError, fromArrayBuffer } from '../formats/sources';

export interface PackageWriter {
  /**
   * Stores one complete file of the package at `path` (relative, '/'-separated, e.g.
   * "experts/layer-01/expert-03.bin"), replacing any file already there. Files are written
   * once each; manifest.json is written last, so a folder with a manifest is a finished package.
   */
  writeFile(path: string, bytes: Uint8Array, signal?: AbortSignal): Promise<void>;
}

export interface MemoryPackage {
  writer: PackageWriter;
  /** Reads back what the writer stored (for openPackage). */
  folder: FolderSource;
  files: Map<string, Uint8Array>;
}

/** A package held in memory. */
export function memoryPackage(): MemoryPackage {
  const files = new Map<string, Uint8Array>();
  return {
    files,
    writer: {
      async writeFile(path, bytes, signal) {
        throwIfAborted(signal);
        files.set(path, bytes.slice());
      },
    },
    folder: (path) => {
      const bytes = files.get(path);
      if (!bytes) throw new FileNotFoundError('BAD_FILE', path, 'not in the package');
      return fromArrayBuffer(bytes, path);
    },
  };
}
