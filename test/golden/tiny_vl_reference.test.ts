// The f64 reference VL forward (test/reference/vl_forward_ref.ts) against HF transformers'
// outputs for the tiny VL fixture: our own preprocessing of test_image.png feeds it, and its
// logits, per-layer hidden states and 16 greedy tokens must match. It is the oracle the GPU VL
// forward is checked against, so it is checked first.
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeImage } from '../../src/image/decode.js';
import { parseVlConfig } from '../../src/model/ernie45_vl/config.js';
import { parsePreprocessorConfig, preprocessImage } from '../../src/model/ernie45_vl/preprocess.js';
import { promptLayout } from '../../src/model/ernie45_vl/positions3d.js';
import { visionPrefix } from '../../src/model/ernie45_vl/tensors.js';
import { maxAbsDiff } from '../reference/ops.js';
import { type RefImage, referenceVlForward, referenceVlGreedy } from '../reference/vl_forward_ref.js';
import { VL, loadAllTensors } from '../helpers/vl_fixture.js';

const cfg = parseVlConfig(JSON.parse(readFileSync(`${VL}/config.json`, 'utf8')));
const ref = JSON.parse(readFileSync(`${VL}/reference.json`, 'utf8')) as { input_ids: number[]; greedy: number[] };
let weights: Map<string, Float32Array>;
let refs: Map<string, Float32Array>;
let image: RefImage;
const w = (name: string) => {
  const t = weights.get(name);
  if (!t) throw new Error(`no tensor ${name}`);
  return t;
};

beforeAll(async () => {
  weights = await loadAllTensors(`${VL}/model.safetensors`);
  refs = await loadAllTensors(`${VL}/reference.safetensors`, ['image_grid_thw']);
  const pre = parsePreprocessorConfig(JSON.parse(readFileSync(`${VL}/preprocessor_config.json`, 'utf8')));
  const patches = preprocessImage(decodeImage(readFileSync(`${VL}/test_image.png`)), pre);
  image = { pixelValues: patches.pixelValues, grid: patches.grid };
});

describe('3D positions of the fixture prompt', () => {
  it('text counts up, the 3x4 image block sits at s + (row, col), text resumes at s + max(rows, cols)', () => {
    const L = promptLayout(ref.input_ids, cfg.tokens, [image.grid], 2);
    // ids: [5, 17, START, 12 x IMG, END, 33, 44, 55]; the image starts at position 3
    expect(Array.from(L.t)).toEqual([0, 1, 2, ...Array(12).fill(3), 7, 8, 9, 10]);
    expect(Array.from(L.h)).toEqual([0, 1, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 7, 8, 9, 10]);
    expect(Array.from(L.w)).toEqual([0, 1, 2, 3, 4, 5, 6, 3, 4, 5, 6, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(Array.from(L.vision)).toEqual([0, 0, 1, ...Array(12).fill(1), 1, 0, 0, 0]);
    expect(L.ropeDelta).toBe(11 - 19);
  });

  it('a placeholder count that does not match the image is a BAD_REQUEST error', () => {
    const ids = ref.input_ids.filter((_, i) => i !== 5);
    expect(() => promptLayout(ids, cfg.tokens, [image.grid], 2)).toThrow(expect.objectContaining({ code: 'BAD_REQUEST', message: expect.stringContaining('needs 12 placeholder tokens') }));
    expect(() => promptLayout(ref.input_ids, cfg.tokens, [], 2)).toThrow(expect.objectContaining({ code: 'BAD_REQUEST' }));
  });
});

describe('f64 reference VL forward vs HF transformers', () => {
  it('logits of every position within 1e-4, hidden states per layer within 1e-4', () => {
    const out = referenceVlForward(cfg, w, visionPrefix(weights.keys()), ref.input_ids, [image]);
    const diff = maxAbsDiff(out.logits, refs.get('logits')!);
    console.log(`VL reference vs HF: max |logit diff| ${diff.toExponential(2)}`);
    expect(diff).toBeLessThan(1e-4);
    expect(out.hidden.length).toBe(4);
    for (let l = 0; l < out.hidden.length; l++) expect(maxAbsDiff(out.hidden[l], refs.get(`hidden_${l}`)!), `hidden ${l}`).toBeLessThan(1e-4);
  });

  it('16 greedy tokens through the KV cache equal HF\'s', () => {
    expect(referenceVlGreedy(cfg, w, visionPrefix(weights.keys()), ref.input_ids, [image], 16)).toEqual(ref.greedy);
  });
});
