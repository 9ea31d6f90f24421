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
  const hf = join(dir, 'hf');
  await cp(TINY_MODEL_DIR, hf, { recursive: true });
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) await cp(join(TOKENIZER_HF, f), join(hf, f));
  await writeFile(join(hf, 'chat_template.jinja'), ERNIE_45_DEFAULT_TEMPLATE);
  const pkg = join(dir, 'pkg');
  await convertModel({ input: { kind: 'hf', folder: nodeFolder(hf) }, experts: 'q4', core: 'q4', out: nodeDirectoryWriter(pkg), maxShardBytes: 128 * 1024, effort: 'fast' });
  return { hf, pkg };
}
