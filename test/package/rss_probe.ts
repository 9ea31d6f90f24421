// Child-process probe: converts the HF checkpoint in argv[2] to a package directory argv[3] and
// prints one JSON line with the process's RSS before and during the conversion.
// Run: node --expose-gc --import tsx test/package/rss_probe.ts <checkpoint dir> <out dir> [experts] [core] [effort]
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { convertModel } from '../../src/convert/convert';
import { nodeFolder } from '../../src/formats/node_source';
import { nodeDirectoryWriter } from '../../src/package/node_writer';

const [dir, out, experts = 'q2', core = 'f16', effort = 'fast'] = process.argv.slice(2);
if (!dir || !out) throw new Error('usage: rss_probe.ts <checkpoint dir> <out dir> [experts] [core] [effort]');
const checkpointBytes = readdirSync(dir).filter((f) => f.endsWith('.safetensors')).reduce((a, f) => a + statSync(join(dir, f)).size, 0);
(globalThis as { gc?: () => void }).gc?.();
const baseline = process.memoryUsage().rss;
let peak = baseline;
const sample = () => (peak = Math.max(peak, process.memoryUsage().rss));
const timer = setInterval(sample, 2);
const t0 = performance.now();
const report = await convertModel({
  input: { kind: 'hf', folder: nodeFolder(dir) },
  experts: experts as 'q2' | 'q4',
  core: core as 'q4' | 'f16',
  effort: effort as 'fast' | 'best',
  out: nodeDirectoryWriter(out),
  maxShardBytes: 4 * 1024 * 1024,
  onProgress: sample,
});
clearInterval(timer);
sample();
console.log(JSON.stringify({ checkpointBytes, baseline, peak, growth: peak - baseline, packageBytes: report.packageBytes, seconds: (performance.now() - t0) / 1000, tensors: report.tensors.length }));
