// Node-only ByteSources over files on disk, read with positional reads (never the whole file).

import { open, stat } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import { FileFormatError, throwIfAborted } from '../errors';
import { checkRange, FileNotFoundError } from './sources';
import type { ByteSource, FolderSource } from './source';

/**
 * A file on disk. Each read opens the file, reads and closes it: an open() costs microseconds
 * next to a tensor read, and no file descriptor outlives a read or needs an explicit close().
 */
export function fromPath(path: string): ByteSource {
  let sizePromise: Promise<number> | undefined;

  function size(): Promise<number> {
    sizePromise ??= stat(path).then(
      (st) => {
        if (!st.isFile()) throw new FileFormatError(path, 'not a regular file');
        return st.size;
      },
      (err: unknown) => {
        sizePromise = undefined;
        throw fsError(path, err);
      },
    );
    return sizePromise;
  }

  async function read(offset: number, length: number, signal?: AbortSignal): Promise<Uint8Array> {
    throwIfAborted(signal);
    checkRange(path, offset, length, await size());
    const out = new Uint8Array(length);
    if (length === 0) return out;
    let handle;
    try {
      handle = await open(path, 'r');
    } catch (err) {
      throw fsError(path, err);
    }
    try {
      // read() may return fewer bytes than asked; loop until filled or the file ends.
      let done = 0;
      while (done < length) {
        throwIfAborted(signal);
        const { bytesRead } = await handle.read(out, done, length - done, offset + done);
        if (bytesRead === 0) throw new FileFormatError(path, `file ended at ${offset + done} while reading ${length} bytes at ${offset} (changed on disk?)`);
        done += bytesRead;
      }
    } finally {
      await handle.close();
    }
    return out;
  }

  return { name: path, size, read };
}

/** A model folder on disk. Paths that escape the folder (a hostile index's "../x") are refused. */
export function nodeFolder(dir: string): FolderSource {
  const root = resolve(dir);
  return (relativePath) => {
    const full = resolve(join(root, relativePath));
    if (!full.startsWith(root + sep)) {
      throw new FileFormatError(relativePath, `path leaves the model folder ${root}`);
    }
    return fromPath(full);
  };
}

function fsError(path: string, err: unknown): Error {
  if (err instanceof FileFormatError) return err;
  const code = (err as { code?: unknown })?.code;
  if (code === 'ENOENT' || code === 'ENOTDIR') return new FileNotFoundError('BAD_FILE', path, 'file not found', { cause: err });
  const msg = err instanceof Error ? err.message : String(err);
  return new FileFormatError(path, `cannot read: ${msg}`, { cause: err });
}
