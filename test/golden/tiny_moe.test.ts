// The tiny ERNIE 4.5 MoE fixture on real WebGPU against HF transformers' own outputs:
// logits of every position, hidden states per layer, and 24-token greedy continuations
// decoded one token per step through the KV cache.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadErnieFromFolder } from '../../src/model/ernie45/load.js';
import type { ErnieForward } from '../../src/model/ernie45/forward.js';
import { sample } from '../../src/kernels/sample.js';
import { forceVariants } from '../../src/kernels/variants.js';
import { maxAbsDiff } from '../reference/ops.js';
import { gpuContext } from '../helpers/gpu.js';
import { TINY, nodeFolder, openReferenceTensors, readTinyReference } from '../helpers/fixtures.js';
import type { SafetensorsFile } from '../../src/formats/safetensors.js';
import type { GpuContext } from '../../src/gpu/context.js';

const ref = readTinyReference();
let ctx: GpuContext;
let model: ErnieForward;
let refs: SafetensorsFile;
const measured: string[] = [];

beforeAll(async () => {
  ctx = await gpuContext();
  ({ forward: model } = await loadErnieFromFolder(ctx, nodeFolder(TINY), { maxBatch: 16 }));
  refs = await openReferenceTensors(`${TINY}/reference.safetensors`);
});

afterAll(() => {
  console.log(`tiny MoE vs HF: ${measured.join('; ')}`);
});

describe('ernie45-moe-tiny vs HF transformers', () => {
  it.each([0, 1, 2])('prompt %i: logits of every position and hidden states per layer', async (p) => {
    const ids = ref.prompts[p];
    model.truncate(0);
    const { logits, hidden } = await model.run(ids, { allLogits: true, captureHidden: true });
    const want = await refs.readF32(`logits_${p}`);
    const diff = maxAbsDiff(logits!, want);
    measured.push(`prompt ${p} (${ids.length} tokens) max |logit diff| ${diff.toExponential(2)}`);
    expect(diff).toBeLessThan(1e-3);
    expect(hidden!.length).toBe(5);
    for (let l = 0; l < hidden!.length; l++) {
      const h = await refs.readF32(`hidden_${p}_${l}`);
      expect(maxAbsDiff(hidden![l], h), `hidden ${l}`).toBeLessThan(1e-4);
    }
  });

  it.each([0, 1, 2])('prompt %i: 24 greedy tokens, one per step through the KV cache', { timeout: 600_000 }, async (p) => {
    model.truncate(0);
    const result = ctx.createBuffer('token', 4);
    const out: number[] = [];
    let next = ref.prompts[p];
    for (let i = 0; i < 24; i++) {
      await model.run(next);
      sample(ctx, { logits: model.logitsBuffer, row: 0, vocab: model.cfg.vocabSize, result, options: { temperature: 0 }, u: 0 });
      const [id] = await ctx.readU32(result, 0, 1);
      out.push(id);
      next = [id];
    }
    expect(out).toEqual(ref.greedy[p]);
  });
});

describe('ernie45-moe-tiny with the GPU prefill variant forced (src/kernels/variants.ts)', () => {
  it("prefill=workgroup_tiled: the first 12 tokens of prompt 2 (causal: HF's first 12 logit rows) match", async () => {
    const before = forceVariants(ctx, { prefill: 'workgroup_tiled' });
    try {
      const ids = ref.prompts[2].slice(0, 12); // > 8 tokens: the prefill kernels, not matvec
      model.truncate(0);
      const { logits } = await model.run(ids, { allLogits: true });
      const want = (await refs.readF32('logits_2')).subarray(0, ids.length * model.cfg.vocabSize);
      expect(maxAbsDiff(logits!, want)).toBeLessThan(1e-3);
    } finally {
      forceVariants(ctx, before);
    }
  });
});

describe('big matrices split to fit small storage bindings', () => {
  it('vocabulary in row blocks and expert stacks in expert blocks (300 kB) give the same logits and greedy tokens', async () => {
    const { forward: split } = await loadErnieFromFolder(ctx, nodeFolder(TINY), { maxBatch: 16, maxBindingBytes: 300_000 });
    expect(split.w.embed.blocks.length).toBe(Math.ceil(2048 / Math.floor(300_000 / (128 * 4))));
    // expert slots of [64, 128] f32 = 32 kB (gate_up): buffers of 9 slots, over every MoE layer's 16 experts
    const slots = split.w.experts!.cache.layout().gateUp;
    expect(slots.slice(0, -1).every((n) => n === 9) && slots.at(-1)! <= 9).toBe(true);
    expect(slots.reduce((x, y) => x + y)).toBe(16 * split.w.experts!.source.layers.length);
    const { logits } = await split.run(ref.prompts[1], { allLogits: true });
    expect(maxAbsDiff(logits!, await refs.readF32('logits_1'))).toBeLessThan(1e-3);
    const result = ctx.createBuffer('token', 4);
    sample(ctx, { logits: split.logitsBuffer, row: 0, vocab: 2048, result, options: { temperature: 0 }, u: 0 });
    expect((await ctx.readU32(result, 0, 1))[0]).toBe(ref.greedy[1][0]);
  });

  it('a matrix that cannot be split and does not fit is a GPU_LIMIT error naming it', async () => {
    await expect(loadErnieFromFolder(ctx, nodeFolder(TINY), { maxBindingBytes: 40_000 })).rejects.toMatchObject({
      code: 'GPU_LIMIT',
      message: expect.stringContaining('model.layers.0.self_attn.q_proj.weight'),
    });
  });
});
