// Converts the tiny fixture model (with the tiny tokenizer's files) into a package in
// dist-demo/models/ernie45-moe-tiny/, the catalogue's bundled demo model.
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { convertModel } from '../src/convert/index.js';
import { nodeFolder } from '../src/formats/node_source.js';
import { nodeDirectoryWriter } from '../src/package/node_writer.js';

const out = process.argv[2] ?? 'dist-demo/models/ernie45-moe-tiny';
const hf = mkdtempSync(join(tmpdir(), 'ernie-demo-hf-'));
for (const f of ['config.json', 'generation_config.json', 'model.safetensors']) copyFileSync(join('test/fixtures/ernie45-moe-tiny', f), join(hf, f));
for (const f of ['tokenizer.json', 'tokenizer_config.json']) copyFileSync(join('test/fixtures/ernie-tokenizer-tiny/hf', f), join(hf, f));
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const report = await convertModel({ input: { kind: 'hf', folder: nodeFolder(hf) }, experts: 'q4', core: 'q4', head: 'q4', out: nodeDirectoryWriter(out), effort: 'fast' });
rmSync(hf, { recursive: true, force: true });
console.log(`demo model: ${out} (${report.files.length} files, ${(report.packageBytes / 1e6).toFixed(2)} MB)`);
