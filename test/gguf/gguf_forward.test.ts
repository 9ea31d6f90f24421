// The numerics check: the f64 reference forward on each GGUF's exactly dequantized weights must
// reproduce the logits the fixture's independent (gguf-py + numpy float64) pipeline computed.
// The brief's bound is 1e-4; exact dequantization lands at f32 rounding of the stored logits
// (~1e-7), so we assert 1e-5 to catch a single misdecoded block.
import { afterAll, describe, expect, test } from 'vitest';
import { ernieConfigFromGguf } from '../../src/formats/gguf_ernie';
import { fromPath } from '../../src/formats/node_source';
import { SafetensorsFile } from '../../src/formats/safetensors';
import { parseConfig } from '../../src/model/ernie45/config';
import { referenceForward } from '../reference/forward_ref';
import { maxAbsDiff } from '../reference/ops';
import { GGUF_DIR, K256_FILES, TINY_FILES, loadWeights, lookupFn, openGguf, prompts } from './helpers';

const GREEDY_STEPS = 6;
const measured: string[] = [];
afterAll(() => console.log(`max |logit diff| per prompt vs <file>.reference.safetensors:\n${measured.join('\n')}`));

function argmaxLast(logits: Float64Array, vocab: number): number {
  const row = logits.subarray(logits.length - vocab);
  let best = 0;
  for (let i = 1; i < vocab; i++) if (row[i]! > row[best]!) best = i;
  return best;
}

describe.each([...TINY_FILES, ...K256_FILES])('%s', (name) => {
  test('logits match logits_{p} for every prompt, and the start of greedy_0', async () => {
    const gguf = await openGguf(name);
    const cfg = parseConfig(ernieConfigFromGguf(gguf));
    const w = lookupFn(await loadWeights(gguf, cfg));
    const ref = await SafetensorsFile.open(fromPath(`${GGUF_DIR}/${name}.reference.safetensors`));
    const diffs: number[] = [];
    for (const [p, ids] of prompts(name).entries()) {
      const { logits } = referenceForward(cfg, w, ids);
      diffs.push(maxAbsDiff(logits, await ref.readF32(`logits_${p}`)));
      // Greedy recomputes the whole sequence per step: only the first GREEDY_STEPS of prompt 0.
      if (p !== 0) continue;
      const raw = await ref.readRaw(`greedy_${p}`);
      const want = Array.from(new Int32Array(raw.buffer, raw.byteOffset, GREEDY_STEPS));
      const seq = [...ids];
      const got: number[] = [];
      for (let s = 0; s < want.length; s++) {
        const next = argmaxLast(s === 0 ? logits : referenceForward(cfg, w, seq).logits, cfg.vocabSize);
        got.push(next);
        seq.push(next);
      }
      expect(got, `greedy_${p}`).toEqual(want);
    }
    measured.push(`  ${name}: ${diffs.map((d) => d.toExponential(2)).join(' / ')}`);
    for (const d of diffs) expect(d).toBeLessThan(1e-5);
  });
});
