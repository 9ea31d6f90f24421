import { describe, expect, it } from 'vitest';
import { referenceForward } from '../reference/forward_ref';
import { maxAbsDiff } from '../reference/ops';
import { CpuModel, loadTinyWeights } from './cpu_model';

describe('CpuModel (the API tests\' stand-in for the GPU model)', () => {
  it('prefill + decode with its KV cache gives referenceForward\'s logits', async () => {
    const tw = await loadTinyWeights();
    const model = new CpuModel(tw, { vocabSize: 700, contextLength: 64 });
    const ids = [4, 594, 653, 362, 617, 594, 85, 601, 23, 78];
    await model.forward(ids.slice(0, 6));
    for (const id of ids.slice(6)) await model.forward([id]);
    const ref = referenceForward(tw.config, (n) => tw.weights.get(n)!, ids);
    const V = tw.config.vocabSize;
    const lastRow = ref.logits.subarray((ids.length - 1) * V, (ids.length - 1) * V + 700);
    expect(maxAbsDiff(model.lastLogits(), lastRow)).toBeLessThan(1e-9);
    expect(model.cachedTokens()).toEqual(ids);

    // truncate keeps a prefix: recomputing the tail gives the same logits
    model.truncate(7);
    await model.forward(ids.slice(7));
    expect(maxAbsDiff(model.lastLogits(), lastRow)).toBeLessThan(1e-9);
    expect(model.forwardCalls).toBe(6);
  });

  it('refuses more tokens than its context and honours an aborted signal', async () => {
    const model = await CpuModel.load({ vocabSize: 700, contextLength: 4 });
    await expect(model.forward([1, 2, 3, 4, 5])).rejects.toThrow(/overflow/);
    const c = new AbortController();
    c.abort();
    await expect(model.forward([1], c.signal)).rejects.toMatchObject({ code: 'ABORTED' });
  });
});
