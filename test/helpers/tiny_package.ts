// The tiny MoE fixture with its tokenizer beside it, as an HF folder and converted to a package
// (q4, several core shards), written under `dir`.
import { cp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { convertModel } from '../../src/convert/convert';
import { nodeFolder } from '../../src/formats/node_source';
import { nodeDirectoryWriter } from '../../src/package/node_writer';
import { ERNIE_45_DEFAULT_TEMPLATE } from '../../src/text/chat_template';

export const TINY_MODEL_DIR = 'test/fixtures/ernie45-moe-tiny';
const TOKENIZER_HF = 'test/fixtures/ernie-tokenizer-tiny/hf';

/** Writes `dir`/hf (config, safetensors, tokenizer.json, tokenizer_config.json, chat_template.jinja) and `dir`/pkg. */
export async function writeTinyPackage(dir: string): Promise<{ hf: string; pkg: string }> {
  return writeFixturePackage(TINY_MODEL_DIR, dir, { experts: 'q4', maxShardBytes: 128 * 1024 });
}

/** Any fixture checkpoint with the tiny tokenizer's files beside it, as `dir`/hf and converted to `dir`/pkg (core q4). */
export async function writeFixturePackage(
  fixtureDir: string,
  dir: string,
  opts: { experts: 'q2' | 'q4'; head?: 'q4' | 'q6'; maxShardBytes?: number },
): Promise<{ hf: string; pkg: string }> {
  const hf = join(dir, 'hf');
  await cp(fixtureDir, hf, { recursive: true });
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) await cp(join(TOKENIZER_HF, f), join(hf, f));
  await writeFile(join(hf, 'chat_template.jinja'), ERNIE_45_DEFAULT_TEMPLATE);
  const pkg = join(dir, 'pkg');
  await convertModel({ input: { kind: 'hf', folder: nodeFolder(hf) }, experts: opts.experts, core: 'q4', head: opts.head, out: nodeDirectoryWriter(pkg), maxShardBytes: opts.maxShardBytes, effort: 'fast' });
  return { hf, pkg };
}
