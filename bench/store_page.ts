// Page side of `npm run bench:store` (bench/store.ts): download into IndexedDB, re-hash, and
// SHA-256 cost in this browser.
import { sha256 } from '@noble/hashes/sha2.js';
import { openModelStore } from '../src/store/store.js';

const MB = 1e6;

export async function benchIndexedDb(arg: { url: string; bytes: number }) {
  const store = await openModelStore();
  for (const m of await store.list()) await store.delete(m.id);
  let t = performance.now();
  await store.download(arg.url);
  const download = arg.bytes / MB / ((performance.now() - t) / 1000);
  t = performance.now();
  const v = await store.verify(arg.url);
  if (v.dropped.length) throw new Error(`verify dropped ${v.dropped.join(', ')}`);
  const verify = arg.bytes / MB / ((performance.now() - t) / 1000);
  await store.delete(arg.url);

  const buf = new Uint8Array(64 * 2 ** 20);
  for (let o = 0; o < buf.length; o += 65536) crypto.getRandomValues(buf.subarray(o, o + 65536));
  t = performance.now();
  const h = sha256.create();
  for (let o = 0; o < buf.length; o += 2 ** 20) h.update(buf.subarray(o, o + 2 ** 20));
  h.digest();
  const noble = buf.length / MB / ((performance.now() - t) / 1000);
  t = performance.now();
  await crypto.subtle.digest('SHA-256', buf);
  const webcrypto = buf.length / MB / ((performance.now() - t) / 1000);
  return { download, verify, noble, webcrypto, chunkBytes: store.chunkBytes };
}
