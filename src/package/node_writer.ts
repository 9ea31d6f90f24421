// Node-only PackageWriter: a package written as a directory on disk.
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { ErnieError, throwIfAborted } from '../errors';
import type { PackageWriter } from './writer';

/**
 * Writes each file to `dir`/path through a temporary name and a rename, so an interrupted
 * conversion never leaves a truncated file under its final name.
 */
export function nodeDirectoryWriter(dir: string): PackageWriter {
  const root = resolve(dir);
  return {
    async writeFile(path, bytes, signal) {
      throwIfAborted(signal);
      const full = resolve(join(root, path));
      if (!full.startsWith(root + sep)) throw new ErnieError('BAD_REQUEST', `package path "${path}" leaves the output folder ${root}`);
      await mkdir(dirname(full), { recursive: true });
      const tmp = `${full}.partial`;
      await writeFile(tmp, bytes, { signal });
      await rename(tmp, full);
    },
  };
}
