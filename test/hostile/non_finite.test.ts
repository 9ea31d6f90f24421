// NaN is a bug, not a token (issue 20): the GPU sampler flags a NaN or infinite logit and the host
// raises NonFiniteError naming the position, where it used to return token 4294967295; a weight
// that is NaN or infinite is refused at load, naming the tensor and the file.
import { beforeAll, describe, expect, test } from 'vitest';
import { NonFiniteError } from '../../src/errors';
import { NON_FINITE_TOKEN, checkSampled, sample } from '../../src/kernels/sample';
import { GpuLanguageModel } from '../../src/engine/gpu_model';
import { loadErnieFromFolder } from '../../src/model/ernie45/load';
import type { SampleStep } from '../../src/engine/language_model';
import type { GpuContext } from '../../src/gpu/context';
import { gpuContext } from '../helpers/gpu';
import { TINY_DIR, expectTyped, joinSafetensors, memFolder, read, splitSafetensors, tinyFolderFiles } from './helpers';

let ctx: GpuContext;
beforeAll(async () => {
  ctx = await gpuContext();
});

const V = 1000;
async function sampleRow(row: Float32Array, temperature: number): Promise<number> {
  const logits = ctx.upload('logits', row);
  const result = ctx.upload('result', new Uint32Array(4));
  sample(ctx, { logits, row: 0, vocab: V, result, options: { temperature, topK: 0, topP: 0.9 }, u: 0.5 });
  const [id] = await ctx.readU32(result, 0, 1);
  logits.destroy();
  result.destroy();
  return id!;
}

describe('the sampler flags non-finite logits', () => {
  const row = (poison?: [number, number]) => {
    const r = Float32Array.from({ length: V }, (_, i) => Math.sin(i) * 3);
    r[617] = 9; // the argmax
    if (poison) r[poison[0]] = poison[1];
    return r;
  };
  test.each([0, 0.8])('temperature %d: a finite row gives a token, a NaN or +inf anywhere gives NON_FINITE_TOKEN', async (t) => {
    const good = await sampleRow(row(), t);
    expect(good).toBeLessThan(V);
    if (t === 0) expect(good).toBe(617);
    for (const poison of [[3, NaN], [999, Infinity], [617, NaN]] as [number, number][]) {
      expect(await sampleRow(row(poison), t), `logit ${poison[0]} = ${poison[1]}`).toBe(NON_FINITE_TOKEN);
    }
    expect(await sampleRow(new Float32Array(V).fill(NaN), t)).toBe(NON_FINITE_TOKEN);
    // -inf is a masked token, never drawn and not an error; a row of nothing else has no token
    const masked = row([617, -Infinity]);
    const id = await sampleRow(masked, t);
    expect(id).toBeLessThan(V);
    expect(id).not.toBe(617);
    expect(await sampleRow(new Float32Array(V).fill(-Infinity), t)).toBe(NON_FINITE_TOKEN);
  });

  test('checkSampled turns the sentinel into NonFiniteError naming the position', () => {
    expect(checkSampled(617, V, 5)).toBe(617);
    const e = (() => { try { checkSampled(NON_FINITE_TOKEN, V, 5); } catch (x) { return x; } })() as NonFiniteError;
    expect(e).toBeInstanceOf(NonFiniteError);
    expect(e.code).toBe('NON_FINITE');
    expect(e.position).toBe(5);
    expect(e.message).toMatch(/position 5/);
  });
});

describe('a model whose numbers overflow', () => {
  // model.norm.weight at 3e38 is finite (it passes the load check) but its products overflow f32
  function overflowing(): Map<string, Uint8Array> {
    const files = tinyFolderFiles();
    const { header, text, data } = splitSafetensors(read(`${TINY_DIR}/model.safetensors`));
    const [b, e] = header['model.norm.weight'].data_offsets as [number, number];
    const bytes = data.slice();
    new Float32Array(bytes.buffer, b, (e - b) / 4).fill(3e38);
    files.set('model.safetensors', joinSafetensors(text, bytes));
    return files;
  }
  const greedy: SampleStep = { temperature: 0, topK: 0, topP: 1, minP: 0, u: 0, repetitionPenalty: 1, frequencyPenalty: 0, presencePenalty: 0, penaltyTokens: [], logitBias: new Map() };

  test('all-position logits are a NonFiniteError naming the first bad position', async () => {
    const { forward } = await loadErnieFromFolder(ctx, memFolder(overflowing()), { kvCacheBytes: 1 << 20 });
    const e = await expectTyped(forward.run([5, 17, 33], { allLogits: true }), { code: 'NON_FINITE', file: '', message: /the logits at position 0 hold NaN or infinite values/ });
    expect((e as NonFiniteError).position).toBe(0);
  });

  test('sampling through the LanguageModel is a NonFiniteError, never token 4294967295', async () => {
    const { forward } = await loadErnieFromFolder(ctx, memFolder(overflowing()), { kvCacheBytes: 1 << 20 });
    const lm = new GpuLanguageModel(ctx, forward);
    await lm.forward([5, 17, 33]);
    const e = await expectTyped(lm.sample(greedy), { code: 'NON_FINITE', file: '', message: /position 3/ });
    expect((e as NonFiniteError).position).toBe(3);
    lm.dispose();
  });
});

describe('non-finite weights are refused at load, naming the tensor and the file', () => {
  test.each([
    ['model.embed_tokens.weight', NaN],
    ['model.layers.2.mlp.experts.5.up_proj.weight', Infinity],
    ['model.layers.0.input_layernorm.weight', -Infinity],
  ])('%s holding %d', async (name, value) => {
    const files = tinyFolderFiles();
    const { header, text, data } = splitSafetensors(read(`${TINY_DIR}/model.safetensors`));
    const bytes = data.slice();
    new DataView(bytes.buffer).setFloat32(header[name].data_offsets[0] + 40, value, true);
    files.set('model.safetensors', joinSafetensors(text, bytes));
    await expectTyped(loadErnieFromFolder(ctx, memFolder(files), { kvCacheBytes: 1 << 20 }), {
      code: 'BAD_FILE', file: 'model.safetensors', message: new RegExp(`tensor "${name.replace(/\./g, '\\.')}" holds a NaN or infinite value \\(element 10\\)`),
    });
  });
});
