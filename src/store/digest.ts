// SHA-256 of a package file fed chunk by chunk. Files up to ONE_SHOT_MAX_BYTES are collected
// in one buffer and hashed once by WebCrypto (native, ~20x faster than JavaScript in the
// measurements of BENCHMARKS.md); larger ones, or pages without crypto.subtle (not a secure
// context), stream through @noble/hashes' incremental SHA-256, so memory stays one chunk.
import { sha256 } from '@noble/hashes/sha2.js';
import { hex } from '../package/hash';

/** Per-file buffer cap for the WebCrypto path: a default core shard (64 MiB) still takes it. */
export const ONE_SHOT_MAX_BYTES = 64 * 1024 * 1024;

export interface FileHasher {
  update(chunk: Uint8Array): void;
  /** Lowercase hex digest of everything fed so far. */
  digest(): Promise<string>;
}

export function fileHasher(size: number, oneShotMax = ONE_SHOT_MAX_BYTES): FileHasher {
  const subtle = globalThis.crypto?.subtle;
  if (subtle && size <= oneShotMax) {
    const buf = new Uint8Array(size);
    let at = 0;
    return {
      update(chunk) {
        buf.set(chunk, at);
        at += chunk.byteLength;
      },
      async digest() {
        return hex(new Uint8Array(await subtle.digest('SHA-256', buf.subarray(0, at))));
      },
    };
  }
  const h = sha256.create();
  return {
    update: (chunk) => void h.update(chunk),
    digest: async () => hex(h.digest()),
  };
}

/** Lowercase hex SHA-256 of a buffer already whole in memory (WebCrypto at any size, else @noble/hashes). */
export async function digestOf(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const subtle = globalThis.crypto?.subtle;
  return hex(subtle ? new Uint8Array(await subtle.digest('SHA-256', bytes)) : sha256(bytes));
}
