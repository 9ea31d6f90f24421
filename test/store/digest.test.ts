// Both SHA-256 paths of the store (WebCrypto over the collected file; @noble/hashes streaming
// for files past the one-shot cap) give node:crypto's digest, whatever the chunking.
import { createHash, randomFillSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { fileHasher } from '../../src/store/digest.js';

describe('store file digest', () => {
  it.each([['WebCrypto one-shot', 1 << 30], ['@noble/hashes incremental', 0]])('%s matches node:crypto', async (_, cap) => {
    const data = randomFillSync(new Uint8Array(300_001));
    const h = fileHasher(data.length, cap);
    for (let o = 0, step = 1; o < data.length; o += step, step = step * 3 + 7) h.update(data.subarray(o, Math.min(data.length, o + step)));
    expect(await h.digest()).toBe(createHash('sha256').update(data).digest('hex'));
    expect(await fileHasher(0, cap).digest()).toBe(createHash('sha256').digest('hex'));
  });
});
