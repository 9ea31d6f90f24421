// Converts the tiny fixture models (with their tiny tokenizers' files) into packages in
// <models>/ (default dist-demo/models/), the catalogue's bundled demo models:
//   ernie45-moe-tiny  the text MoE fixture, q4
//   ernie45-vl-tiny   the ERNIE-4.5-VL fixture (vision tower f16, q4 text and vision experts), for image chats
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { convertModel } from '../src/convert/index.js';
import { nodeFolder } from '../src/formats/node_source.js';
import { nodeDirectoryWriter } from '../src/package/node_writer.js';

const models = process.argv[2] ?? 'dist-demo/models';

type Schemes = Pick<Parameters<typeof convertModel>[0], 'experts' | 'core' | 'head' | 'vision' | 'visionExperts'>;

async function build(name: string, fixture: string, tokenizer: string, schemes: Schemes): Promise<void> {
  const out = join(models, name);
  const hf = mkdtempSync(join(tmpdir(), 'ernie-demo-hf-'));
  for (const f of ['config.json', 'generation_config.json', 'preprocessor_config.json', 'model.safetensors']) if (existsSync(join(fixture, f))) copyFileSync(join(fixture, f), join(hf, f));
  for (const f of ['tokenizer.json', 'tokenizer_config.json', 'chat_template.jinja']) if (existsSync(join(tokenizer, f))) copyFileSync(join(tokenizer, f), join(hf, f));
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const report = await convertModel({ input: { kind: 'hf', folder: nodeFolder(hf) }, ...schemes, out: nodeDirectoryWriter(out), effort: 'fast' });
  rmSync(hf, { recursive: true, force: true });
  console.log(`demo model: ${out} (${report.files.length} files, ${(report.packageBytes / 1e6).toFixed(2)} MB)`);
}

await build('ernie45-moe-tiny', 'test/fixtures/ernie45-moe-tiny', 'test/fixtures/ernie-tokenizer-tiny/hf', { experts: 'q4', core: 'q4', head: 'q4' });
await build('ernie45-vl-tiny', 'test/fixtures/ernie45-vl-tiny', 'test/fixtures/ernie45-vl-tiny-tokenizer', { experts: 'q4', visionExperts: 'q4', core: 'f16', vision: 'f16' });
