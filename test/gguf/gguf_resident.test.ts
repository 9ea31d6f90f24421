// A GGUF opened directly keeps its blocks on the GPU as they are: every matrix of a Q4_0 or a
// Q4_K_M file is uploaded in the file's own block type, and the GPU memory the weights take
// (counted on the device's createBuffer) is the file's quantized bytes, not f32.
import { describe, expect, test } from 'vitest';
import { fromPath } from '../../src/formats/node_source';
import { ggufWeightLookup } from '../../src/formats/gguf_ernie';
import type { GpuWeight } from '../../src/kernels/common';
import { openGgufWeights } from '../../src/model/ernie45/gguf_source';
import { loadWeights, type ModelWeights } from '../../src/model/ernie45/weights';
import { layoutOfGgmlType } from '../../src/quant/layouts';
import { GgmlType } from '../../src/quant/ggml_blocks';
import { expectedTensors } from '../../src/package/tensors';
import { gpuContext } from '../helpers/gpu';
import { ggufPath, openGguf } from './helpers';

/** Every matrix of the loaded model with its HF name (experts: expert 0, in the format of the expert cache's slots). */
function matrices(w: ModelWeights): [string, Pick<GpuWeight, 'dtype'>][] {
  const out: [string, Pick<GpuWeight, 'dtype'>][] = w.embed.blocks.map((b) => ['model.embed_tokens.weight', b.weight]);
  w.layers.forEach((l, i) => {
    const p = `model.layers.${i}`;
    out.push([`${p}.self_attn.q_proj.weight`, l.q], [`${p}.self_attn.k_proj.weight`, l.k], [`${p}.self_attn.v_proj.weight`, l.v], [`${p}.self_attn.o_proj.weight`, l.o]);
    if (l.dense) out.push([`${p}.mlp.gate_proj.weight`, l.dense.gateUp], [`${p}.mlp.down_proj.weight`, l.dense.down]);
    if (l.moe) {
      const f = w.experts!.source.format(i);
      out.push([`${p}.mlp.experts.0.gate_proj.weight`, f.gateUp], [`${p}.mlp.experts.0.down_proj.weight`, f.down]);
      if (l.moe.shared) out.push([`${p}.mlp.shared_experts.gate_proj.weight`, l.moe.shared.gateUp], [`${p}.mlp.shared_experts.down_proj.weight`, l.moe.shared.down]);
    }
  });
  return out;
}

describe.each(['ernie45-moe-tiny-q4_0', 'ernie45-moe-k256-q4_k_m'])('%s opened directly', (name) => {
  test('matrices stay in their GGUF block types; GPU weight bytes are the quantized sizes', async () => {
    const ctx = await gpuContext();
    const { config, weights } = await openGgufWeights(fromPath(ggufPath(name)));
    const lookup = ggufWeightLookup(await openGguf(name));

    // what the file stores for the tensors the model uploads (norms and routers are f32 by design)
    let quantized = 0, asF32 = 0;
    for (const t of expectedTensors(config)) {
      if (!lookup.has(t.name)) continue;
      const ref = lookup.resolve(t.name);
      const f32 = t.role === 'norm' || t.role === 'router' || t.role === 'router_bias';
      quantized += f32 ? ref.elementCount * 4 : ref.byteLength;
      asF32 += ref.elementCount * 4;
    }

    const device = ctx.device;
    const createBuffer = device.createBuffer;
    let bytes = 0, buffers = 0;
    device.createBuffer = function (d: GPUBufferDescriptor) {
      bytes += d.size;
      buffers++;
      return createBuffer.call(this, d);
    };
    let w: ModelWeights;
    try {
      w = await loadWeights(ctx, config, weights);
    } finally {
      delete (device as Partial<GPUDevice>).createBuffer;
    }
    if (device.createBuffer !== createBuffer) device.createBuffer = createBuffer;

    for (const [hf, m] of matrices(w)) {
      expect(m.dtype, hf).toBe(layoutOfGgmlType(lookup.resolve(hf).type));
    }
    // each buffer rounds up to 16 bytes; a router bias the file lacks is one [experts] f32 zero vector;
    // the expert cache adds its slot table ([moe layers, experts] u32) and the ids readback
    const slack = buffers * 16 + (config.moe ? 2 * config.numLayers * config.moe.numExperts * 4 + 65 * config.moe.topK * 4 : 0);
    expect(bytes).toBeGreaterThanOrEqual(quantized);
    expect(bytes).toBeLessThanOrEqual(quantized + slack);
    expect(bytes / asF32).toBeLessThan(0.3);
    console.log(`${name}: ${(bytes / 2 ** 20).toFixed(2)} MiB of GPU weights (f32 would be ${(asF32 / 2 ** 20).toFixed(2)} MiB)`);
  });
});

test('gate and up stored in different types (one GPU matrix) are both dequantized to f32; the rest stays', async () => {
  const gguf = await openGguf('ernie45-moe-tiny-q4_0');
  const up = gguf.tensors.get('blk.0.ffn_up.weight')!;
  gguf.tensors.set(up.name, { ...up, type: GgmlType.Q8_0, typeName: 'Q8_0' }); // as a mixed-type file would list it
  const { weights } = await openGgufWeights(gguf);
  expect(weights.info('model.layers.0.mlp.gate_proj.weight').dtype).toBe('F32');
  expect(weights.info('model.layers.0.mlp.up_proj.weight').dtype).toBe('F32');
  expect(weights.info('model.layers.0.mlp.down_proj.weight').dtype).toBe('Q4_0');
  expect(weights.info('model.layers.1.mlp.shared_experts.gate_proj.weight').dtype).toBe('Q4_0');
});
