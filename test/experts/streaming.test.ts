// Expert streaming: the answer does not depend on the GPU expert budget. For the tiny fixture
// (f32 safetensors), the tiny q4 package, the k256 q2 package and a GGUF (Q4_K_M) import, every
// position's logits and greedy tokens with budgets of one layer's top-k, top-k per layer, 25%
// and 100% of the experts equal the all-resident run (max abs <= 1e-6; in practice bit-equal,
// since each assignment is computed by the same kernel from the same bytes). A counting
// allocator (device.createBuffer wrapped) shows slot buffers stay within the budget and are
// never created after load; ctx.readback is counted per decoded token.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { convertModel } from '../../src/convert/convert.js';
import { fromPath, nodeFolder } from '../../src/formats/node_source.js';
import type { GpuContext } from '../../src/gpu/context.js';
import { SLOT_BUFFER_LABEL } from '../../src/experts/gpu_cache.js';
import type { ExpertCacheOptions } from '../../src/experts/budget.js';
import { loadErnieFromFolder } from '../../src/model/ernie45/load.js';
import type { ErnieForward } from '../../src/model/ernie45/forward.js';
import { memoryPackage } from '../../src/package/writer.js';
import { expertShardName } from '../../src/package/tensors.js';
import type { FolderSource } from '../../src/formats/source.js';
import { sample } from '../../src/kernels/sample.js';
import { GGUF_DIR, K256_DIR, prompts, TINY_DIR } from '../package/helpers.js';
import { gpuContext } from '../helpers/gpu.js';

let ctx: GpuContext;
/** bytes of slot buffers created since the last reset */
let slotBytes = 0;
let readbacks = 0;
/** prefetched uploads per parity run (model, budget) */
const prefetchUploads = new Map<string, number>();

beforeAll(async () => {
  ctx = await gpuContext();
  const device = ctx.device;
  const create = device.createBuffer.bind(device);
  device.createBuffer = (d: GPUBufferDescriptor) => {
    if (d.label?.startsWith(SLOT_BUFFER_LABEL)) slotBytes += d.size;
    return create(d);
  };
  const readback = ctx.readback.bind(ctx);
  ctx.readback = (...args: Parameters<GpuContext['readback']>) => {
    readbacks++;
    return readback(...args);
  };
});

async function packageOf(input: Parameters<typeof convertModel>[0]['input'], experts: 'q2' | 'q4'): Promise<FolderSource> {
  const mem = memoryPackage();
  await convertModel({ input, experts, core: 'q4', head: 'q4', effort: 'fast', out: mem.writer });
  return mem.folder;
}

const MODELS: [string, () => Promise<FolderSource>, string][] = [
  ['tiny f32 safetensors', async () => nodeFolder(TINY_DIR), TINY_DIR],
  ['tiny q4 package', () => packageOf({ kind: 'hf', folder: nodeFolder(TINY_DIR) }, 'q4'), TINY_DIR],
  ['k256 q2 package', () => packageOf({ kind: 'hf', folder: nodeFolder(K256_DIR) }, 'q2'), K256_DIR],
  ['k256 Q4_K_M GGUF import', () => packageOf({ kind: 'gguf', source: fromPath(`${GGUF_DIR}/ernie45-moe-k256-q4_k_m.gguf`) }, 'q4'), K256_DIR],
];

/** All-position logits of `prompt` (prefill in chunks of 8), then `n` greedy tokens. */
async function run(forward: ErnieForward, prompt: number[], n: number): Promise<{ logits: Float32Array; tokens: number[]; decodeReadbacks: number }> {
  const { logits } = await forward.run(prompt, { allLogits: true });
  const result = ctx.createBuffer('token', 4);
  const tokens: number[] = [];
  const r0 = readbacks;
  for (let i = 0; i < n; i++) {
    sample(ctx, { logits: forward.logitsBuffer, row: 0, vocab: forward.cfg.vocabSize, result, options: { temperature: 0 }, u: 0 });
    const [id] = await ctx.readU32(result, 0, 1);
    tokens.push(id!);
    if (i < n - 1) await forward.run([id!]);
  }
  result.destroy();
  return { logits: logits!, tokens, decodeReadbacks: readbacks - r0 };
}

const s0 = (f: ErnieForward) => f.w.experts!.stats();

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

describe.each(MODELS)('%s: same logits and tokens at every GPU expert budget', (_name, open, dir) => {
  let folder: FolderSource;
  let prompt: number[];
  let all: Awaited<ReturnType<typeof run>>;
  let perExpert = 0;
  let topK = 0;
  const N = 3;
  const load = (expertCache: ExpertCacheOptions) => loadErnieFromFolder(ctx, folder, { maxBatch: 8, kvCacheBytes: 1 << 21, expertCache });

  beforeAll(async () => {
    folder = await open();
    prompt = prompts(dir).reduce((a, b) => (b.length > a.length ? b : a)).slice(0, 14);
    slotBytes = 0;
    const { forward } = await load({ gpuExperts: '100%' });
    const moeLayers = forward.w.experts!.source.layers.length;
    all = await run(forward, prompt, N);
    const s = forward.w.experts!.stats();
    expect(s.gpu.misses, 'all resident: nothing streamed').toBe(0);
    expect(s.readbacks).toBe(0);
    // one readback per decoded token (the sampled id), none for experts
    expect(all.decodeReadbacks).toBe(N);
    expect(slotBytes).toBeLessThanOrEqual(s.gpu.budgetBytes);
    expect(s.gpu.slots).toBe(moeLayers * forward.cfg.moe!.numExperts);
    perExpert = s.gpu.slotBytes;
    topK = forward.cfg.moe!.topK;
    forward.w.experts!.destroy();
  });

  // (every fixture routes to a quarter of its experts: top-k per layer is the 25% budget)
  it.each([['of one layer\'s top-k for the whole model', 'min'], ['of top-k per layer (25%)', 'k']] as const)('GPU budget %s', async (_label, budget) => {
    slotBytes = 0;
    // 'min': exactly one layer's top-k slots for the whole model, and no RAM tier
    const opts: ExpertCacheOptions = budget === 'min' ? { gpuBytes: topK * perExpert, ramBytes: 0 } : { gpuExperts: topK };
    const { forward } = await load(opts);
    const afterLoad = slotBytes;
    const moeLayers = forward.w.experts!.source.layers.length;
    expect(s0(forward).gpu.slots).toBe(budget === 'min' ? topK : Math.ceil(moeLayers * forward.cfg.moe!.numExperts / 4));
    const got = await run(forward, prompt, N);
    const s = forward.w.experts!.stats();
    expect(maxAbsDiff(got.logits, all.logits)).toBeLessThanOrEqual(1e-6);
    expect(got.tokens).toEqual(all.tokens);
    // the counting allocator: slot buffers within the budget, none created after load
    expect(afterLoad).toBeGreaterThan(0);
    expect(afterLoad).toBeLessThanOrEqual(s.gpu.budgetBytes);
    expect(slotBytes).toBe(afterLoad);
    expect(s.gpu.misses).toBeGreaterThan(0);
    // prefetch guessed the next layer's experts (uploads counted below) and the logits above did not move
    expect(s.prefetch.predicted).toBeGreaterThan(0);
    prefetchUploads.set(`${_name} ${budget}`, s.prefetch.uploaded);
    // streaming: at most one expert-id readback per MoE layer per decoded token, plus the sampled id
    expect(got.decodeReadbacks).toBeLessThanOrEqual(N * (moeLayers + 1));
    expect(s.readbacksPerToken).toBeLessThanOrEqual(moeLayers);
    if (budget === 'min') expect(s.waves, 'a prefill chunk needed more experts than the cache holds').toBeGreaterThan(0);
    forward.w.experts!.destroy();
  });
});

it('the parity runs above include runs where prefetch uploaded guessed experts (right and wrong)', () => {
  expect(prefetchUploads.size).toBe(MODELS.length * 2);
  expect([...prefetchUploads.values()].filter((n) => n > 0).length).toBeGreaterThanOrEqual(2);
});

afterAll(() => {
  slotBytes = 0;
});

/** The tiny model as an in-memory q4 package, streaming 4 experts per layer; the first MoE layer's expert shards. */
async function streamingQ4() {
  const mem = memoryPackage();
  await convertModel({ input: { kind: 'hf', folder: nodeFolder(TINY_DIR) }, experts: 'q4', core: 'q4', head: 'q4', effort: 'fast', out: mem.writer });
  const { forward } = await loadErnieFromFolder(ctx, mem.folder, { maxBatch: 8, kvCacheBytes: 1 << 20, expertCache: { gpuExperts: 4, ramBytes: 0 } });
  const experts = forward.w.experts!;
  const layer = experts.source.layers[0]!;
  const shards = [...Array(16).keys()].map((e) => expertShardName(forward.cfg, layer, e));
  return { mem, forward, experts, shards };
}

/** After a failed streaming step: nothing was uploaded nor made resident; with the shards put back the same step runs. */
async function expectNothingUploadedThenRetry({ mem, forward, experts, shards }: Awaited<ReturnType<typeof streamingQ4>>, saved: Uint8Array[]) {
  expect(experts.stats().gpu.bytesUploaded).toBe(0);
  expect([...Array(16).keys()].some((e) => experts.cache.isResident(0, e))).toBe(false);
  shards.forEach((f, i) => mem.files.set(f, saved[i]!));
  forward.truncate(0);
  await forward.run([5, 6, 7]);
  expect(experts.stats().gpu.misses).toBeGreaterThan(0);
  experts.destroy();
}

describe('typed errors, nothing half-loaded', () => {
  it('a GPU budget below one layer\'s top-k is BUDGET_TOO_SMALL, before any upload', async () => {
    slotBytes = 0;
    await expect(loadErnieFromFolder(ctx, nodeFolder(TINY_DIR), { expertCache: { gpuBytes: 100_000 } })).rejects.toMatchObject({
      name: 'BudgetError',
      code: 'BUDGET_TOO_SMALL',
      needBytes: 196608,
      message: expect.stringMatching(/holds 2 expert\(s\) of f32.*fewer than one layer's top-4; give at least 196\d{3} bytes/),
    });
    expect(slotBytes).toBe(0);
    await expect(loadErnieFromFolder(ctx, nodeFolder(TINY_DIR), { expertCache: { gpuExperts: 'lots' } })).rejects.toMatchObject({ code: 'BAD_REQUEST', message: expect.stringContaining('expertCache.gpuExperts') });
  });

  it('a corrupt expert shard read while streaming is an IntegrityError naming it; the cache keeps its state and the step can be retried', async () => {
    const setup = await streamingQ4();
    const { mem, forward, shards } = setup;
    // corrupt every expert shard of the first MoE layer: whichever the router picks fails its SHA-256
    expect(shards.every((f) => mem.files.has(f))).toBe(true);
    const saved = shards.map((f) => mem.files.get(f)!.slice());
    for (const f of shards) mem.files.get(f)![100]! ^= 0xff;
    await expect(forward.run([5, 6, 7])).rejects.toMatchObject({ name: 'IntegrityError', code: 'INTEGRITY', file: expect.stringMatching(/^experts\/layer-\d+\/expert-\d+\.bin$/), message: expect.stringMatching(/layer-\d+\/expert-\d+.*SHA-256/) });
    await expectNothingUploadedThenRetry(setup, saved);
  });

  it('a missing expert shard read while streaming is a FileNotFoundError naming it; nothing is uploaded, and a retry with the file back runs', async () => {
    const setup = await streamingQ4();
    const { mem, forward, shards } = setup;
    const saved = shards.map((f) => mem.files.get(f)!);
    for (const f of shards) mem.files.delete(f);
    await expect(forward.run([5, 6, 7])).rejects.toMatchObject({ name: 'FileNotFoundError', file: expect.stringMatching(/^experts\/layer-\d+\/expert-\d+\.bin$/) });
    await expectNothingUploadedThenRetry(setup, saved);
  });
});
