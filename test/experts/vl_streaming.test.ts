// ERNIE-4.5-VL experts stream through the same expert cache as text models: the tiny VL fixture
// as a q4 package (q4 text and q4 vision experts), prompted with the fixture's image, gives the
// all-resident run's logits at every position and its greedy tokens under a GPU budget of the
// top-k per layer and set (16 of 64 experts), with misses and evictions in both sets' pools. A
// vision-expert shard that is missing or fails its SHA-256 is a typed error naming the shard;
// nothing of that set is uploaded, and the same prompt runs once the file is back.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { convertModel } from '../../src/convert/convert.js';
import { nodeFolder } from '../../src/formats/node_source.js';
import type { GpuContext } from '../../src/gpu/context.js';
import { decodeImage } from '../../src/image/decode.js';
import type { ExpertCacheOptions } from '../../src/experts/budget.js';
import { sample } from '../../src/kernels/sample.js';
import type { ErnieVlForward } from '../../src/model/ernie45_vl/forward.js';
import { loadErnieVl } from '../../src/model/ernie45_vl/load.js';
import { parsePreprocessorConfig, preprocessImage } from '../../src/model/ernie45_vl/preprocess.js';
import type { VisionInput } from '../../src/model/ernie45_vl/vision.js';
import { expertShardName } from '../../src/package/tensors.js';
import { memoryPackage } from '../../src/package/writer.js';
import { gpuContext } from '../helpers/gpu.js';
import { VL } from '../helpers/vl_fixture.js';
import { maxAbsDiff } from '../reference/ops.js';

const ref = JSON.parse(readFileSync(`${VL}/reference.json`, 'utf8')) as { input_ids: number[] };
const N = 3;
let ctx: GpuContext;
let image: VisionInput;
let mem: ReturnType<typeof memoryPackage>;
let resident: { logits: Float32Array; tokens: number[] };

const load = async (expertCache: ExpertCacheOptions) => (await loadErnieVl(ctx, mem.folder, { maxBatch: 8, kvCacheBytes: 1 << 20, expertCache })).forward;
const experts = (f: ErnieVlForward) => f.text.w.experts!;

/** All-position logits of the fixture's image prompt (prefill in chunks of 8), then N greedy tokens. */
async function run(f: ErnieVlForward): Promise<{ logits: Float32Array; tokens: number[] }> {
  f.truncate(0);
  const { logits } = await f.prefill(ref.input_ids, [image], { allLogits: true });
  const result = ctx.createBuffer('token', 4), tokens: number[] = [];
  for (let i = 0; i < N; i++) {
    sample(ctx, { logits: f.logitsBuffer, row: 0, vocab: f.cfg.text.vocabSize, result, options: { temperature: 0 }, u: 0 });
    const [id] = await ctx.readU32(result, 0, 1);
    tokens.push(id!);
    if (i < N - 1) await f.decode([id!]);
  }
  result.destroy();
  return { logits: logits!, tokens };
}

beforeAll(async () => {
  ctx = await gpuContext();
  image = preprocessImage(decodeImage(readFileSync(`${VL}/test_image.png`)), parsePreprocessorConfig(JSON.parse(readFileSync(`${VL}/preprocessor_config.json`, 'utf8'))));
  mem = memoryPackage();
  await convertModel({ input: { kind: 'hf', folder: nodeFolder(VL) }, experts: 'q4', visionExperts: 'q4', core: 'f16', vision: 'f16', effort: 'fast', out: mem.writer });
  const f = await load({ gpuExperts: '100%' });
  resident = await run(f);
  const s = experts(f).stats();
  expect(s.gpu.misses, 'all resident: nothing streamed').toBe(0);
  expect(s.readbacks).toBe(0);
  expect(s.gpu.slots).toBe(2 * 2 * 16); // 2 dual-MoE layers x (text + vision) x 16 experts
  experts(f).destroy();
});

afterAll(() => ctx?.destroy());

describe('ERNIE-4.5-VL q4 package: text and vision experts stream through one cache', () => {
  it('a GPU budget of top-k per layer and set gives the all-resident logits and greedy tokens; misses, evictions, vision experts in their own pool', async () => {
    const f = await load({ gpuExperts: 4, ramBytes: 0 });
    const x = experts(f), cache = x.cache;
    // one cache, two pools (the vision experts' own width): 8 slots each for 2 layers x 4
    expect(x.source.sets).toBe(2);
    expect(cache.layout().gateUp).toEqual([8, 8]);
    expect(x.stats().gpu.slots).toBe(16);
    const got = await run(f);
    expect(maxAbsDiff(got.logits, resident.logits)).toBeLessThanOrEqual(1e-6);
    expect(got.tokens).toEqual(resident.tokens);
    const s = x.stats();
    expect(s.gpu.misses).toBeGreaterThan(0);
    expect(s.gpu.evictions).toBeGreaterThan(0);
    // decode (text tokens): the next layer's text experts were guessed on this layer's hidden state
    expect(s.prefetch.predicted).toBeGreaterThan(0);
    // vision experts were uploaded into their rows of the slot table (the image's placeholders chose them)
    const layers = x.source.layers;
    expect(layers.some((l) => Array.from({ length: 16 }, (_, e) => e).some((e) => cache.isResident(cache.row(l, 1), e)))).toBe(true);
    x.destroy();
  });

  it('a missing or corrupt vision-expert shard is a typed error naming it (FileNotFoundError, IntegrityError); nothing of that set is uploaded, and the prompt runs once the file is back', async () => {
    const f = await load({ gpuExperts: 4, ramBytes: 0 });
    const x = experts(f), layer = x.source.layers.at(-1)!, row = x.cache.row(layer, 1);
    // every vision-expert shard of the last dual-MoE layer: whichever the router picks fails
    const shards = Array.from({ length: 16 }, (_, e) => expertShardName(f.cfg.text, layer, 16 + e, 32));
    expect(shards.every((s) => mem.files.has(s))).toBe(true);
    const saved = shards.map((s) => mem.files.get(s)!.slice());
    const restore = () => shards.forEach((s, i) => mem.files.set(s, saved[i]!.slice()));
    const visionResident = () => Array.from({ length: 16 }, (_, e) => e).filter((e) => x.cache.isResident(row, e)).length;
    const shard = expect.stringMatching(/^experts\/layer-2\/expert-(1[6-9]|2\d|3[01])\.bin$/);

    shards.forEach((s) => mem.files.delete(s));
    await expect(f.prefill(ref.input_ids, [image])).rejects.toMatchObject({ name: 'FileNotFoundError', file: shard });
    expect(visionResident()).toBe(0);
    expect(f.length, 'the failed prompt left nothing in the KV cache').toBe(0);

    restore();
    for (const s of shards) mem.files.get(s)![100]! ^= 0xff;
    await expect(f.prefill(ref.input_ids, [image])).rejects.toMatchObject({ name: 'IntegrityError', code: 'INTEGRITY', file: shard, message: expect.stringContaining('SHA-256') });
    expect(visionResident()).toBe(0);

    restore();
    const { logits } = await f.prefill(ref.input_ids, [image], { allLogits: true });
    expect(maxAbsDiff(logits!, resident.logits)).toBeLessThanOrEqual(1e-6);
    expect(visionResident()).toBeGreaterThan(0);
    x.destroy();
  });
});
