// The warning before a download that will not fit: the package's size (its manifest.json: every
// file and shard) less what the store already holds of it, against the free storage the browser
// reports (store.estimate()). The store refuses such a download too (QuotaError), but this says
// so before the person presses the button, with what to delete.
import type { ModelStore } from '../src/store/index.js';
import { normalizeBaseUrl } from '../src/store/store.js';
import { bytes } from './format.js';
import { shortName } from './names.js';

export interface FitReport {
  /** The whole package. */
  total: number;
  /** What a download still has to fetch. */
  needed: number;
  available: number | undefined;
  fits: boolean;
  /** One sentence for the person. */
  text: string;
}

interface ManifestSizes {
  files?: { bytes?: number }[];
  shards?: { bytes?: number }[];
}

export function packageBytes(manifest: ManifestSizes): number {
  const sum = (xs: { bytes?: number }[] | undefined) => (xs ?? []).reduce((n, x) => n + (Number.isFinite(x.bytes) ? x.bytes! : 0), 0);
  return sum(manifest.files) + sum(manifest.shards);
}

/** Reads `url`'s manifest.json and compares. Throws when the manifest cannot be fetched (the download then says why). */
export async function checkFit(store: ModelStore, url: string, signal?: AbortSignal): Promise<FitReport> {
  const { base, query } = normalizeBaseUrl(url);
  const res = await fetch(`${base}manifest.json${query}`, { signal });
  if (!res.ok) throw new Error(`${base}manifest.json: HTTP ${res.status}`);
  const total = packageBytes((await res.json()) as ManifestSizes);
  const [stored, est] = await Promise.all([store.get(base + query), store.estimate()]);
  const needed = Math.max(0, total - (stored?.bytesStored ?? 0));
  const available = est.available;
  const fits = available === undefined || needed <= available;
  const others = est.models.filter((m) => m.id !== base + query && m.bytes > 0);
  const text = fits
    ? `${shortName(url)}: ${bytes(total)}${stored ? `, ${bytes(needed)} still to fetch` : ''}; ${bytes(available)} free.`
    : `Will not fit: ${shortName(url)} needs ${bytes(needed)} more, only ${bytes(available)} is free. ` +
      (others.length ? `Delete ${others.map((m) => `${shortName(m.id)} (${bytes(m.bytes)})`).join(', ')} below, or free space on this device.` : 'Free space on this device (browser storage settings) and try again.');
  return { total, needed, available, fits, text };
}
