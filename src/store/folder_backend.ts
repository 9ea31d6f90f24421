// The store's Node backend: a folder on disk (a cache directory), so the CLI and the tests run
// the same store code as the browser. Files are written in place at their package paths, so a
// finished model's folder is a plain package folder (manifest.json is written last):
//   <root>/<model>/<package files>              (multi-model cache; <model> = readable id + hash)
//   <root>/<model>/.ernie-store/info.json        ModelInfo
//   <root>/<model>/.ernie-store/state.json       ModelState (written after the chunk it counts)
// With `{ single: true }` the one model's files go straight into <root> (`download --out <dir>`).
import { createHash } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm, statfs, unlink, writeFile } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { FileFormatError } from '../errors';
import type { BackendEstimate, ModelInfo, ModelState, StoreBackend } from './backend';

export interface FolderBackendOptions {
  /** One model, its files directly in the folder (default: one subfolder per model). */
  single?: boolean;
  /**
   * Pretend the disk holds only this many bytes for the store (usage counts what the store
   * wrote): writes past it fail like a full disk. For tests and for capping a cache.
   */
  quotaBytes?: number;
}

const META = '.ernie-store';

export function folderBackend(rootDir: string, opts: FolderBackendOptions = {}): StoreBackend & { quotaBytes?: number } {
  const root = resolve(rootDir);
  const modelDir = (id: string) => (opts.single ? root : join(root, slug(id)));
  const filePath = (id: string, file: string) => {
    const dir = modelDir(id);
    const full = resolve(dir, file);
    if (!full.startsWith(dir + sep)) throw new FileFormatError(file, `path leaves the store folder ${dir}`);
    return full;
  };
  let usage: Map<string, number> | undefined; // id -> bytesStored, for quotaBytes

  async function readJson<T>(path: string): Promise<T | undefined> {
    try {
      return JSON.parse(await readFile(path, 'utf8')) as T;
    } catch (e) {
      if ((e as { code?: string }).code === 'ENOENT') return undefined;
      throw e;
    }
  }
  async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
    await mkdir(dirname(path), { recursive: true });
    const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    await writeFile(tmp, JSON.stringify(value));
    await rename(tmp, path);
  }
  async function modelIds(): Promise<string[]> {
    if (opts.single) {
      const info = await readJson<ModelInfo>(join(root, META, 'info.json'));
      return info ? [info.id] : [];
    }
    let names: string[];
    try {
      names = await readdir(root);
    } catch (e) {
      if ((e as { code?: string }).code === 'ENOENT') return [];
      throw e;
    }
    const ids: string[] = [];
    for (const n of names) {
      const info = await readJson<ModelInfo>(join(root, n, META, 'info.json'));
      if (info) ids.push(info.id);
    }
    return ids;
  }
  async function usageMap(): Promise<Map<string, number>> {
    if (!usage) {
      usage = new Map();
      for (const id of await modelIds()) usage.set(id, (await readJson<ModelState>(join(modelDir(id), META, 'state.json')))?.bytesStored ?? 0);
    }
    return usage;
  }
  async function checkQuota(id: string, nextBytesStored: number): Promise<void> {
    if (backend.quotaBytes === undefined) return;
    const u = await usageMap();
    let others = 0;
    for (const [k, v] of u) if (k !== id) others += v;
    if (others + nextBytesStored > backend.quotaBytes) {
      throw Object.assign(new Error(`quota of ${backend.quotaBytes} bytes exceeded`), { name: 'QuotaExceededError' });
    }
  }
  async function putState(id: string, state: ModelState): Promise<void> {
    await writeJsonAtomic(join(modelDir(id), META, 'state.json'), state);
    (await usageMap()).set(id, state.bytesStored);
  }

  const backend: StoreBackend & { quotaBytes?: number } = {
    description: `folder ${root}`,
    quotaBytes: opts.quotaBytes,
    listModels: modelIds,
    getInfo: (id) => readJson<ModelInfo>(join(modelDir(id), META, 'info.json')),
    getState: (id) => readJson<ModelState>(join(modelDir(id), META, 'state.json')),
    async putRecords(id, info, state) {
      await writeJsonAtomic(join(modelDir(id), META, 'info.json'), info);
      await putState(id, state);
    },
    async putChunk(id, file, offset, bytes, state) {
      await checkQuota(id, state.bytesStored);
      const path = filePath(id, file);
      await mkdir(dirname(path), { recursive: true });
      const h = await open(path, offset === 0 ? 'w' : 'r+');
      try {
        let done = 0;
        while (done < bytes.byteLength) done += (await h.write(bytes, done, bytes.byteLength - done, offset + done)).bytesWritten;
        await h.truncate(offset + bytes.byteLength);
      } finally {
        await h.close();
      }
      await putState(id, state);
    },
    async getChunk(id, file, offset, length) {
      let h;
      try {
        h = await open(filePath(id, file), 'r');
      } catch (e) {
        if ((e as { code?: string }).code === 'ENOENT') return undefined;
        throw e;
      }
      try {
        const out = new Uint8Array(length);
        let done = 0;
        while (done < length) {
          const { bytesRead } = await h.read(out, done, length - done, offset + done);
          if (bytesRead === 0) return undefined;
          done += bytesRead;
        }
        return out;
      } finally {
        await h.close();
      }
    },
    async deleteFile(id, file, state) {
      await unlink(filePath(id, file)).catch((e: { code?: string }) => {
        if (e.code !== 'ENOENT') throw e;
      });
      await putState(id, state);
    },
    async deleteModel(id) {
      const dir = modelDir(id);
      if (opts.single) {
        const info = await backend.getInfo(id);
        const files = info ? [...info.manifest.shards.map((s) => s.file), ...info.manifest.files.map((f) => f.path), 'manifest.json'] : [];
        for (const f of files) await rm(filePath(id, f), { force: true });
        await rm(join(dir, META), { recursive: true, force: true });
      } else {
        await rm(dir, { recursive: true, force: true });
      }
      (await usageMap()).delete(id);
    },
    async estimate(): Promise<BackendEstimate | undefined> {
      let used = 0;
      for (const v of (await usageMap()).values()) used += v;
      if (backend.quotaBytes !== undefined) return { usage: used, quota: backend.quotaBytes };
      await mkdir(root, { recursive: true });
      const fs = await statfs(root);
      return { usage: used, quota: used + Number(fs.bavail) * Number(fs.bsize) };
    },
    persist: async () => true, // a folder on disk is not evicted
  };
  return backend;
}

/** A folder name for a model id: its readable part plus a short hash, so ids never collide. */
function slug(id: string): string {
  const readable = id.replace(/^[a-z]+:\/\//i, '').replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[._]+/, '').slice(-80);
  return `${readable || 'model'}-${createHash('sha256').update(id).digest('hex').slice(0, 10)}`;
}
