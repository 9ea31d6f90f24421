// `npm run bench:vl-kl`: the tiny ERNIE-4.5-VL fixture converted to packages at several scheme
// mixes, loaded through the package reader (verified shards) into the GPU VL forward, and the
// KL(HF || package) of the next-token softmax at every position of the fixture's image prompt,
// against HF transformers' logits (test/fixtures/ernie45-vl-tiny/reference.safetensors); each
// package runs all-resident and again with its text and vision experts streaming under a GPU
// budget of 4 experts per layer and set.
// Usage: npm run bench:vl-kl
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ConvertOptions, convertModel } from '../src/convert/convert.js';
import { nodeFolder } from '../src/formats/node_source.js';
import { SafetensorsFile } from '../src/formats/safetensors.js';
import { fromPath } from '../src/formats/node_source.js';
import { acquireDevice } from '../src/gpu/device.js';
import { GpuContext } from '../src/gpu/context.js';
import { decodeImage } from '../src/image/decode.js';
import type { ExpertCacheOptions } from '../src/experts/budget.js';
import { loadErnieVl } from '../src/model/ernie45_vl/load.js';
import { parsePreprocessorConfig, preprocessImage } from '../src/model/ernie45_vl/preprocess.js';
import { nodeDirectoryWriter } from '../src/package/node_writer.js';
import { nodeGpu } from '../src/node.js';

const VL = 'test/fixtures/ernie45-vl-tiny';
const ids = (JSON.parse(readFileSync(`${VL}/reference.json`, 'utf8')) as { input_ids: number[] }).input_ids;
const hf = await (await SafetensorsFile.open(fromPath(`${VL}/reference.safetensors`))).readF32('logits');
const image = preprocessImage(decodeImage(readFileSync(`${VL}/test_image.png`)), parsePreprocessorConfig(JSON.parse(readFileSync(`${VL}/preprocessor_config.json`, 'utf8'))));
const V = hf.length / ids.length;

function logSoftmax(x: Float32Array, t: number): Float64Array {
  const row = x.subarray(t * V, (t + 1) * V);
  let m = -Infinity;
  for (const v of row) m = Math.max(m, v);
  let s = 0;
  for (const v of row) s += Math.exp(v - m);
  return Float64Array.from(row, (v) => v - m - Math.log(s));
}

/** KL(HF || ours) mean and max over positions, and positions whose argmax agrees. */
function klOf(logits: Float32Array): { mean: number; max: number; top: number } {
  let sum = 0, max = 0, top = 0;
  for (let t = 0; t < ids.length; t++) {
    const p = logSoftmax(hf, t), q = logSoftmax(logits, t);
    let k = 0;
    for (let j = 0; j < V; j++) k += Math.exp(p[j]!) * (p[j]! - q[j]!);
    sum += k;
    max = Math.max(max, k);
    const am = (x: Float64Array) => x.reduce((b, v, j) => (v > x[b]! ? j : b), 0);
    if (am(p) === am(q)) top++;
  }
  return { mean: sum / ids.length, max, top };
}

/** The image prompt's logits with the given expert cache; the cache's misses and evictions. */
async function run(folder: string, expertCache: ExpertCacheOptions) {
  const { forward } = await loadErnieVl(ctx, nodeFolder(folder), { maxBatch: 8, expertCache });
  const { logits } = await forward.prefill(ids, [image], { allLogits: true });
  const experts = forward.text.w.experts!, s = experts.stats();
  experts.destroy();
  return { logits: logits!, misses: s.gpu.misses, evictions: s.gpu.evictions, slots: s.gpu.slots };
}

const ctx = new GpuContext(await acquireDevice(await nodeGpu()));
const info = ctx.adapterInfo;
console.log(`# ${new Date().toISOString().slice(0, 10)} adapter: ${info.vendor} ${info.architecture} ${info.description}`);
console.log('| schemes (text experts / vision experts / core / vision tower) | experts bpw | KL mean | KL max | top-1 = HF | streamed (4 per layer and set): KL mean, max abs diff vs resident, slots, misses, evictions |');
console.log('|---|---:|---:|---:|---:|---|');
const dir = mkdtempSync(join(tmpdir(), 'vl-kl-'));
const mixes: Pick<ConvertOptions, 'experts' | 'visionExperts' | 'core' | 'vision'>[] = [
  { experts: 'q4', visionExperts: 'q4', core: 'f16', vision: 'f16' },
  { experts: 'q4', visionExperts: 'q4', core: 'f16', vision: 'q8' },
  { experts: 'q2', visionExperts: 'q4', core: 'f16', vision: 'f16' },
  { experts: 'q4', visionExperts: 'q4', core: 'q4', vision: 'q8' },
  { experts: 'q2', visionExperts: 'q4', core: 'q4', vision: 'q8' },
];
for (const [i, mix] of mixes.entries()) {
  const out = join(dir, String(i));
  const report = await convertModel({ input: { kind: 'hf', folder: nodeFolder(VL) }, out: nodeDirectoryWriter(out), ...mix });
  const resident = await run(out, { gpuExperts: '100%' });
  const streamed = await run(out, { gpuExperts: 4, ramBytes: 0 });
  const k = klOf(resident.logits), ks = klOf(streamed.logits);
  let diff = 0;
  for (let j = 0; j < resident.logits.length; j++) diff = Math.max(diff, Math.abs(resident.logits[j]! - streamed.logits[j]!));
  const label = `${mix.experts} / ${mix.visionExperts} / ${mix.core} (head ${report.manifest.metadata!.converter && (report.manifest.metadata!.converter as { head: string }).head}) / ${mix.vision}`;
  const stream = `${ks.mean.toExponential(2)}, ${diff.toExponential(1)}, ${streamed.slots} of ${resident.slots}, ${streamed.misses}, ${streamed.evictions}`;
  console.log(`| ${label} | ${report.bitsPerWeight.experts.toFixed(2)} | ${k.mean.toExponential(2)} | ${k.max.toExponential(2)} | ${k.top}/${ids.length} | ${stream} |`);
}
rmSync(dir, { recursive: true, force: true });
ctx.destroy();
