// Decoding allocates nothing on the GPU: over 200 generated tokens no buffer or bind group is
// created or destroyed, and each token costs exactly one readback (the sampled id). Counted on
// the real device (wrappers around its createBuffer / createBindGroup and the buffers'
// destroy / mapAsync), with penalties, logit_bias and a grammar mask all in use.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadEngine, loadTokenizer, type LoadedEngine } from '../../src/engine/load.js';
import { nodeFolder } from '../../src/formats/node_source.js';
import { nodeGpu } from '../../src/node.js';
import type { Completion, CompletionRequest } from '../../src/api/types.js';

let engine: LoadedEngine;
let stopIds: readonly number[];

/** Counts what the device does while `run` runs. */
async function counting<T>(run: () => Promise<T>): Promise<{ result: T; created: number; createdBytes: number; destroyed: number; bindGroups: number; maps: number }> {
  const device = engine.gpu.device;
  const probe = device.createBuffer({ size: 16, usage: GPUBufferUsage.COPY_DST });
  const proto = Object.getPrototypeOf(probe) as GPUBuffer;
  probe.destroy();
  const n = { created: 0, createdBytes: 0, destroyed: 0, bindGroups: 0, maps: 0 };
  const { createBuffer, createBindGroup } = device;
  const { destroy, mapAsync } = proto;
  const own = { createBuffer: Object.hasOwn(device, 'createBuffer'), createBindGroup: Object.hasOwn(device, 'createBindGroup') };
  device.createBuffer = function (d: GPUBufferDescriptor) {
    n.created++;
    n.createdBytes += d.size;
    return createBuffer.call(this, d);
  };
  device.createBindGroup = function (d: GPUBindGroupDescriptor) {
    n.bindGroups++;
    return createBindGroup.call(this, d);
  };
  proto.destroy = function () {
    n.destroyed++;
    return destroy.call(this);
  };
  proto.mapAsync = function (...args: Parameters<GPUBuffer['mapAsync']>) {
    n.maps++;
    return mapAsync.apply(this, args);
  };
  try {
    return { result: await run(), ...n };
  } finally {
    Object.assign(proto, { destroy, mapAsync });
    const d = device as Partial<GPUDevice>;
    if (own.createBuffer) d.createBuffer = createBuffer;
    else delete d.createBuffer;
    if (own.createBindGroup) d.createBindGroup = createBindGroup;
    else delete d.createBindGroup;
  }
}

beforeAll(async () => {
  stopIds = (await loadTokenizer(nodeFolder('test/fixtures/ernie-tokenizer-tiny'))).tokenizer.stopTokenIds;
  engine = await loadEngine({
    model: nodeFolder('test/fixtures/ernie45-moe-tiny'),
    tokenizer: nodeFolder('test/fixtures/ernie-tokenizer-tiny'),
    gpu: await nodeGpu(),
    kvCacheBytes: 1 << 22,
  });
});
afterAll(() => engine?.dispose());

describe('decode allocations', () => {
  // end tokens biased away so the random model writes all 200 tokens
  const request = (): CompletionRequest => ({
    prompt: 'Once upon a time', max_tokens: 200, temperature: 0.9, top_k: 50, seed: 3,
    repetition_penalty: 1.2, frequency_penalty: 0.3, presence_penalty: 0.1,
    logit_bias: Object.fromEntries(stopIds.map((id) => [String(id), -100])),
  });

  it('200 decoded tokens: no GPU buffer or bind group made or freed, one readback per token', async () => {
    await engine.completions.create({ ...request(), max_tokens: 3 }); // warm-up: pipelines and bind groups
    const { result, created, createdBytes, destroyed, bindGroups, maps } = await counting(() => engine.completions.create(request()) as Promise<Completion>);
    expect(result.usage.completion_tokens).toBe(200);
    expect({ created, createdBytes, destroyed, bindGroups }).toEqual({ created: 0, createdBytes: 0, destroyed: 0, bindGroups: 0 });
    expect(maps).toBe(200);
  });

  it('the grammar mask (response_format json_object) reuses its buffer too', async () => {
    const json: CompletionRequest = { prompt: 'JSON:', max_tokens: 24, seed: 1, temperature: 0.7, response_format: { type: 'json_object' } };
    await engine.completions.create({ ...json, max_tokens: 2 });
    const { result, created, destroyed, bindGroups, maps } = await counting(() => engine.completions.create(json) as Promise<Completion>);
    expect(result.usage.completion_tokens).toBeGreaterThan(2);
    expect({ created, destroyed, bindGroups }).toEqual({ created: 0, destroyed: 0, bindGroups: 0 });
    expect(maps).toBe(result.usage.completion_tokens);
  });
});
