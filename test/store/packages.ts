// Packages for the store tests, made with the converter from the fixtures: the tiny model (q4)
// and the 256-wide model (q2 experts, q4 core), both with the tiny tokenizer's files inside.
import { copyFileSync, existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { convertModel } from '../../src/convert/index.js';
import { nodeFolder } from '../../src/formats/node_source.js';
import { nodeDirectoryWriter } from '../../src/package/node_writer.js';

const TOKENIZER = 'test/fixtures/ernie-tokenizer-tiny/hf';

async function makePackage(fixture: string, experts: 'q2' | 'q4', out: string, maxShardBytes?: number): Promise<string> {
  const hf = mkdtempSync(join(tmpdir(), 'ernie-hf-'));
  for (const f of ['config.json', 'generation_config.json', 'model.safetensors']) copyFileSync(join(fixture, f), join(hf, f));
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) copyFileSync(join(TOKENIZER, f), join(hf, f));
  mkdirSync(out, { recursive: true });
  await convertModel({ input: { kind: 'hf', folder: nodeFolder(hf) }, experts, core: 'q4', head: experts === 'q4' ? 'q4' : undefined, out: nodeDirectoryWriter(out), effort: 'fast', maxShardBytes });
  return out;
}

/** Converts the packages once per test file (a few seconds); `maxShardBytes` splits the core into several shards. */
export async function makeTestPackages(opts: { k256?: boolean } = {}): Promise<{ tiny: string; k256?: string }> {
  const root = mkdtempSync(join(tmpdir(), 'ernie-store-pkgs-'));
  const tiny = await makePackage('test/fixtures/ernie45-moe-tiny', 'q4', join(root, 'tiny'), 1 << 20);
  const k256 = opts.k256 ? await makePackage('test/fixtures/ernie45-moe-k256', 'q2', join(root, 'k256'), 4 << 20) : undefined;
  if (!existsSync(join(tiny, 'manifest.json'))) throw new Error('conversion wrote no manifest');
  return { tiny, k256 };
}
