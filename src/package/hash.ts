// SHA-256 through WebCrypto (globalThis.crypto.subtle: browsers, workers and Node >= 19).
import { ErnieError } from '../errors';

/** Lowercase hex SHA-256 of `bytes`. */
export async function sha256Hex(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const subtle = globalThis.crypto?.subtle;
  if (!subtle) throw new ErnieError('UNSUPPORTED', 'WebCrypto (crypto.subtle) is not available; it needs a secure context (https or localhost)');
  return hex(new Uint8Array(await subtle.digest('SHA-256', bytes)));
}

/** Lowercase hex of a digest. */
export function hex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}
