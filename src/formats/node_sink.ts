// Node-only GgufSink: a file on disk, written through `<path>.partial` and renamed into place on
// close, so an interrupted write never leaves a truncated file under the final name.
import { open, rename, rm } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import type { GgufSink } from './gguf_writer';

export function fileSink(path: string): GgufSink & { abort(): Promise<void> } {
  const tmp = `${path}.partial`;
  let handle: Promise<FileHandle> | undefined;
  const file = () => (handle ??= open(tmp, 'w'));
  return {
    async write(bytes) {
      const fh = await file();
      for (let done = 0; done < bytes.length; ) done += (await fh.write(bytes, done, bytes.length - done)).bytesWritten;
    },
    async close() {
      await (await file()).close();
      await rename(tmp, path);
    },
    /** Closes and removes the partial file (after a failed or aborted write). */
    async abort() {
      if (handle) await (await handle).close().catch(() => undefined);
      await rm(tmp, { force: true });
    },
  };
}
