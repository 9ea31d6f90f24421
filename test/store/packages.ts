// Packages for the store tests, made with the converter from the fixtures: the tiny model (q4
// everywhere, one 376 KiB core shard) and the 256-wide model (q2 experts, q4 core), both with the
// tiny tokenizer's files inside.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TINY_MODEL_DIR, writeFixturePackage } from '../helpers/tiny_package.js';

/** Converts the packages once per test file (a few seconds). */
export async function makeTestPackages(opts: { k256?: boolean } = {}): Promise<{ tiny: string; k256?: string }> {
  const root = mkdtempSync(join(tmpdir(), 'ernie-store-pkgs-'));
  const tiny = (await writeFixturePackage(TINY_MODEL_DIR, join(root, 'tiny'), { experts: 'q4', head: 'q4', maxShardBytes: 1 << 20 })).pkg;
  const k256 = opts.k256 ? (await writeFixturePackage('test/fixtures/ernie45-moe-k256', join(root, 'k256'), { experts: 'q2', maxShardBytes: 4 << 20 })).pkg : undefined;
  return { tiny, k256 };
}
