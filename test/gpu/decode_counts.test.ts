// What one decode token costs the device with every expert resident (the tiny fixture): the
// dispatches of one forward step + the sampler, one queue submit and one readback (the id).
// Counted by GpuContext's counters over two requests that differ only in max_tokens.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadEngine, loadTokenizer, type LoadedEngine } from '../../src/engine/load.js';
import { nodeFolder } from '../../src/formats/node_source.js';
import { nodeGpu } from '../../src/node.js';
import { isMoeLayer, parseConfig } from '../../src/model/ernie45/config.js';
import { readFileSync } from 'node:fs';

const TINY = 'test/fixtures/ernie45-moe-tiny';
let engine: LoadedEngine;
let stopIds: readonly number[];

beforeAll(async () => {
  stopIds = (await loadTokenizer(nodeFolder('test/fixtures/ernie-tokenizer-tiny'))).tokenizer.stopTokenIds;
  engine = await loadEngine({ model: nodeFolder(TINY), tokenizer: nodeFolder('test/fixtures/ernie-tokenizer-tiny'), gpu: await nodeGpu(), kvCacheBytes: 1 << 22 });
});
afterAll(() => engine?.dispose());

/** Dispatches of one decode step, from the config (forward.ts's order of kernels), with logit_bias in use. */
function dispatchesPerToken(): number {
  const cfg = parseConfig(JSON.parse(readFileSync(`${TINY}/config.json`, 'utf8')));
  const moeLayers = Array.from({ length: cfg.numLayers }, (_, l) => isMoeLayer(cfg, l)).filter(Boolean).length;
  const denseLayers = cfg.numLayers - moeLayers;
  const attention = 8; // rmsnorm, q, k, v, rope q, rope k, attention, o (+ residual)
  const postNorm = 1;
  const ffn = 3; // gate|up, silu*mul, down (+ residual)
  const moe = 3 + 1 + 1 + 1 + (cfg.moe!.sharedIntermediateSize > 0 ? ffn : 0) + 1; // router, route, group; gate|up; silu; down; shared; combine
  return 1 /* embedding */ + cfg.numLayers * (attention + postNorm) + denseLayers * ffn + moeLayers * moe + 1 /* final norm */ + 1 /* lm_head */ + 1 /* logit_bias */ + 1 /* sample */;
}

describe('decode device work per token (all experts resident)', () => {
  it('each decoded token: the forward dispatches, one submit, one readback', async () => {
    const ctx = engine.gpu;
    const request = (n: number) => engine.completions.create({
      prompt: 'Once upon a time', max_tokens: n, temperature: 0,
      logit_bias: Object.fromEntries(stopIds.map((id) => [String(id), -100])),
    });
    await request(2); // warm-up: pipelines, bind groups
    const count = async (n: number) => {
      const before = { d: ctx.dispatchCount, s: ctx.submitCount, r: ctx.readbackCount };
      const c = await request(n);
      expect(c.usage.completion_tokens).toBe(n);
      return { dispatches: ctx.dispatchCount - before.d, submits: ctx.submitCount - before.s, readbacks: ctx.readbackCount - before.r };
    };
    const short = await count(4);
    const long = await count(12);
    const tokens = 8;
    expect({
      dispatches: (long.dispatches - short.dispatches) / tokens,
      submits: (long.submits - short.submits) / tokens,
      readbacks: (long.readbacks - short.readbacks) / tokens,
    }).toEqual({ dispatches: dispatchesPerToken(), submits: 1, readbacks: 1 });
  });
});
