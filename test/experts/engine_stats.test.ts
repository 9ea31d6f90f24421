// engine.stats() through loadEngine, as a user sees it: a streaming budget (top-k per layer)
// gives the same text as all experts resident, and counters that add up.
import { describe, expect, it } from 'vitest';
import { loadEngine } from '../../src/engine/load.js';
import { nodeFolder } from '../../src/formats/node_source.js';
import { nodeGpu } from '../../src/node.js';
import type { ChatCompletion } from '../../src/api/types.js';
import type { ExpertCacheOptions } from '../../src/experts/budget.js';
import { expertStatsDelta } from '../../src/index.js';
import { oneDeviceGpu } from '../helpers/gpu.js';

const gpu = nodeGpu().then(oneDeviceGpu); // both engines on one device: pipelines compile once
const open = async (expertCache: ExpertCacheOptions) =>
  loadEngine({ model: nodeFolder('test/fixtures/ernie45-moe-tiny'), tokenizer: nodeFolder('test/fixtures/ernie-tokenizer-tiny'), gpu: await gpu, kvCacheBytes: 1 << 21, expertCache });

describe('engine.stats()', () => {
  it('reports per-tier hits/misses, bytes, prefetch accuracy, readbacks and GPU wait per token', async () => {
    const req = { messages: [{ role: 'user' as const, content: 'Say hello.' }], max_tokens: 6, temperature: 0 };
    const resident = await open({});
    const want = ((await resident.chat.completions.create(req)) as ChatCompletion).choices[0]!.message.content;
    const r = resident.stats().experts!;
    expect(r.gpu.misses).toBe(0);
    expect(r.readbacks).toBe(0);
    expect(r.gpu.bytesUploaded).toBe(r.gpu.slots * r.gpu.slotBytes); // every expert once, at load
    expect(r.source.reads).toBe(3 * 16);
    resident.dispose();

    const streaming = await open({ gpuExperts: 4, ramExperts: '100%' });
    const got = ((await streaming.chat.completions.create(req)) as ChatCompletion).choices[0]!.message.content;
    expect(got).toBe(want);
    const s = streaming.stats().experts!;
    expect(s.gpu.slots).toBe(12);
    expect(s.gpu.allocatedBytes).toBeLessThanOrEqual(s.gpu.budgetBytes);
    expect(s.gpu.misses).toBeGreaterThan(0);
    expect(s.gpu.hits).toBeGreaterThan(0);
    // every GPU miss read its bytes from RAM (a hit there) or from the source (a RAM miss)
    expect(s.ram.hits + s.ram.misses).toBeGreaterThanOrEqual(s.gpu.misses);
    expect(s.source.reads).toBe(s.ram.misses);
    expect(s.source.reads).toBeLessThanOrEqual(3 * 16); // the RAM tier holds them all: each read once
    // uploads: demand misses (the critical path) plus prefetched guesses
    expect(s.gpu.demandBytesUploaded).toBe(s.gpu.misses * s.gpu.slotBytes);
    expect(s.prefetch.bytesUploaded).toBe(s.prefetch.uploaded * s.gpu.slotBytes);
    expect(s.gpu.bytesUploaded).toBe(s.gpu.demandBytesUploaded + s.prefetch.bytesUploaded);
    expect(s.prefetch.uploaded).toBeGreaterThan(0);
    expect(s.prefetch.used).toBeGreaterThan(0);
    expect(s.prefetch.used).toBeLessThanOrEqual(s.prefetch.uploaded);
    expect(s.tokens).toBe(5); // the first token comes from the prompt's step
    expect(s.readbacksPerToken).toBeGreaterThan(0);
    expect(s.readbacksPerToken).toBeLessThanOrEqual(3);
    expect(s.prefetch.predicted).toBeGreaterThan(0);
    expect(s.prefetch.precision).toBeGreaterThanOrEqual(0);
    expect(s.prefetch.precision).toBeLessThanOrEqual(1);
    expect(s.prefetch.recall).toBeLessThanOrEqual(1);
    expect(s.waitMsPerToken).toBeGreaterThan(0);
    expect(s.prefetch.uploadPrecision).toBeCloseTo(s.prefetch.used / s.prefetch.uploaded, 12);
    // per response (opt-in): the delta of two snapshots counts that response's work alone
    const again = ((await streaming.chat.completions.create(req)) as ChatCompletion).choices[0]!.message.content;
    expect(again).toBe(want);
    const d = expertStatsDelta(s, streaming.stats().experts!);
    // 5 decoded tokens, plus the one-token step of the prompt's tail when the prefix cache holds the rest
    expect(d.tokens).toBeGreaterThanOrEqual(5);
    expect(d.tokens).toBeLessThanOrEqual(6);
    expect(d.gpu.slots).toBe(12);
    expect(d.gpu.hits + d.gpu.misses).toBeGreaterThan(0);
    expect(d.decodeReadbacks).toBeGreaterThan(0);
    expect(d.decodeReadbacks).toBeLessThanOrEqual(d.tokens * 3); // at most one per MoE layer per one-token step
    expect(d.readbacksPerToken).toBeCloseTo(d.decodeReadbacks / d.tokens, 12);
    expect(d.gpu.bytesUploaded).toBe(streaming.stats().experts!.gpu.bytesUploaded - s.gpu.bytesUploaded);
    expect(d.prefetch.precision).toBeCloseTo(d.prefetch.correct / d.prefetch.predicted, 12);
    console.log(`tiny, 4 of 16 experts per layer on the GPU: hit rate ${(s.gpu.hits / (s.gpu.hits + s.gpu.misses)).toFixed(2)}, prefetch precision ${s.prefetch.precision.toFixed(2)} recall ${s.prefetch.recall.toFixed(2)}, ${s.prefetch.uploaded} prefetched uploads (${s.prefetch.used} used), ${s.readbacksPerToken.toFixed(2)} readbacks/token`);
    streaming.dispose();
  });
});
