// The tiny ERNIE-4.5-VL fixture converted to packages (FORMAT.md, VL sections) and loaded through
// the package reader (every shard SHA-256-verified) into the GPU VL forward: f32 everywhere gives
// HF's logits; q4 / q2 experts (text and vision) run the quantized kernels with a bounded KL;
// a corrupt shard (IntegrityError) and a manifest missing a vision tensor are typed errors naming the file / tensor.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ConvertReport, convertModel } from '../../src/convert/convert.js';
import { decodeImage } from '../../src/image/decode.js';
import { nodeFolder } from '../../src/formats/node_source.js';
import type { GpuContext } from '../../src/gpu/context.js';
import { parseVlConfig } from '../../src/model/ernie45_vl/config.js';
import { isVlFolder, loadErnieVl } from '../../src/model/ernie45_vl/load.js';
import { loadVlLmWeights } from '../../src/model/ernie45_vl/lm_weights.js';
import type { WeightSource } from '../../src/model/ernie45/weights.js';
import { SafetensorsModel } from '../../src/formats/safetensors.js';
import { parsePreprocessorConfig, preprocessImage } from '../../src/model/ernie45_vl/preprocess.js';
import type { VisionInput } from '../../src/model/ernie45_vl/vision.js';
import { MANIFEST_FILE, type Manifest, type ManifestShard, validateManifest } from '../../src/package/manifest.js';
import { nodeDirectoryWriter } from '../../src/package/node_writer.js';
import { gpuContext, oneDeviceGpu } from '../helpers/gpu.js';
import { loadEngine } from '../../src/engine/load.js';
import { nodeGpu } from '../../src/node.js';
import { VL, loadAllTensors } from '../helpers/vl_fixture.js';
import { RANDOM_VL_CONFIG, randomVlConfig, randomVlWeights } from '../helpers/vl_random.js';
import { maxAbsDiff } from '../reference/ops.js';
import { referenceVlForward } from '../reference/vl_forward_ref.js';
import { writeSafetensors } from './helpers.js';

const ref = JSON.parse(readFileSync(`${VL}/reference.json`, 'utf8')) as { input_ids: number[] };
const dir = mkdtempSync(join(tmpdir(), 'vl-package-'));
let ctx: GpuContext;
let hfLogits: Float32Array;
let image: VisionInput;
const V = 2048;

type Schemes = Pick<Parameters<typeof convertModel>[0], 'experts' | 'core' | 'head' | 'vision' | 'visionExperts'>;
async function convert(name: string, schemes: Schemes): Promise<{ pkg: string; report: ConvertReport }> {
  const pkg = join(dir, name);
  const report = await convertModel({ input: { kind: 'hf', folder: nodeFolder(VL) }, out: nodeDirectoryWriter(pkg), effort: 'fast', maxShardBytes: 256 * 1024, ...schemes });
  return { pkg, report };
}

async function logitsOf(folder: string): Promise<{ logits: Float32Array; format: string }> {
  const { forward, format } = await loadErnieVl(ctx, nodeFolder(folder), { maxBatch: 8 });
  const { logits } = await forward.prefill(ref.input_ids, [image], { allLogits: true });
  return { logits: logits!, format };
}

/** Mean and max over positions of KL(HF || ours) of the softmax. */
function kl(p: Float32Array, q: Float32Array): { mean: number; max: number } {
  const T = p.length / V, lsm = (x: Float32Array, t: number) => {
    let m = -Infinity;
    for (let i = 0; i < V; i++) m = Math.max(m, x[t * V + i]!);
    let s = 0;
    for (let i = 0; i < V; i++) s += Math.exp(x[t * V + i]! - m);
    return (i: number) => x[t * V + i]! - m - Math.log(s);
  };
  let sum = 0, max = 0;
  for (let t = 0; t < T; t++) {
    const lp = lsm(p, t), lq = lsm(q, t);
    let k = 0;
    for (let i = 0; i < V; i++) k += Math.exp(lp(i)) * (lp(i) - lq(i));
    sum += k;
    max = Math.max(max, k);
  }
  return { mean: sum / T, max };
}

beforeAll(async () => {
  ctx = await gpuContext();
  const refs = await loadAllTensors(`${VL}/reference.safetensors`, ['image_grid_thw']);
  hfLogits = refs.get('logits')!;
  const pre = parsePreprocessorConfig(JSON.parse(readFileSync(`${VL}/preprocessor_config.json`, 'utf8')));
  image = preprocessImage(decodeImage(readFileSync(`${VL}/test_image.png`)), pre);
});

afterAll(() => ctx?.destroy());

describe('ERNIE-4.5-VL packages', () => {
  it('f32 everywhere: the package loads through the reader and gives the HF folder\'s logits (<= 1e-5), HF\'s within 1e-4', async () => {
    const { pkg, report } = await convert('f32', { experts: 'f32', visionExperts: 'f32', core: 'f32', vision: 'f32' });
    expect(report.skipped).toEqual([]);
    expect(report.files.map((f) => f.path)).toContain('preprocessor_config.json');
    const fromPkg = await logitsOf(pkg), fromHf = await logitsOf(VL);
    expect(fromPkg.format).toBe('package');
    // the CLI's test for a VL folder sees the package's config (it has no config.json)
    expect(await isVlFolder(nodeFolder(pkg))).toBe(true);
    expect(await isVlFolder(nodeFolder('test/fixtures/ernie45-moe-tiny'))).toBe(false);
    expect(fromHf.format).toBe('safetensors');
    expect(maxAbsDiff(fromPkg.logits, fromHf.logits)).toBeLessThanOrEqual(1e-5);
    expect(maxAbsDiff(fromPkg.logits, hfLogits)).toBeLessThan(1e-4);
  });

  it('the engine loads the f32 VL package through the registry: an image chat answers as from the HF folder', async () => {
    const gpu = oneDeviceGpu(await nodeGpu()); // both engines on one device: pipelines compile once
    const chat = async (model: string) => {
      const engine = await loadEngine({ model: nodeFolder(model), tokenizer: nodeFolder('test/fixtures/ernie45-vl-tiny-tokenizer'), gpu, kvCacheBytes: 200 * 1536 });
      try {
        const url = `data:image/png;base64,${readFileSync(`${VL}/test_image.png`).toString('base64')}`;
        const r = await engine.chat.completions.create({
          messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url } }, { type: 'text', text: 'What is this?' }] }],
          max_tokens: 6, temperature: 0, logprobs: true,
        });
        return { text: r.choices[0]!.message.content, logprobs: r.choices[0]!.logprobs!.content!.map((t) => t.logprob), usage: r.usage };
      } finally {
        engine.dispose();
      }
    };
    const { pkg } = await convert('f32-engine', { experts: 'f32', visionExperts: 'f32', core: 'f32', vision: 'f32' });
    const fromPkg = await chat(pkg), fromHf = await chat(VL);
    expect(fromPkg.usage.prompt_tokens).toBe(fromHf.usage.prompt_tokens);
    expect(fromPkg.text).toBe(fromHf.text);
    expect(fromPkg.logprobs.length).toBe(fromHf.logprobs.length);
    fromPkg.logprobs.forEach((lp, i) => expect(Math.abs(lp - fromHf.logprobs[i]!)).toBeLessThan(1e-4));
  });

  it('q4 text and vision experts, q8 vision tower, f16 core: quantized layouts on the GPU, KL vs HF bounded', async () => {
    const { pkg, report } = await convert('q4', { experts: 'q4', visionExperts: 'q4', core: 'f16', vision: 'q8' });
    const layoutOf = (name: string) => report.manifest.tensors.find((t) => t.name === name)!.layout;
    expect(layoutOf('model.layers.1.mlp.experts.0.gate_proj.weight')).toBe('iq4_nl'); // text expert
    expect(layoutOf('model.layers.1.mlp.experts.16.down_proj.weight')).toBe('iq4_nl'); // vision expert, rows of 16
    expect(layoutOf('model.layers.0.self_attn.q_proj.weight')).toBe('f16');
    expect(layoutOf('model.vision_model.blocks.0.attn.qkv.weight')).toBe('q8_0');
    expect(layoutOf('model.vision_model.patch_embed.proj.weight')).toBe('q8_0'); // rows of 588: a padded last block
    expect(layoutOf('model.resampler_model.temporal_linear.0.weight')).toBe('q8_0'); // split into its two frames' halves by blocks
    expect(report.manifest.shards.filter((s) => s.kind === 'expert')).toHaveLength(2 * 32); // 2 MoE layers x (16 text + 16 vision)
    const { logits } = await logitsOf(pkg);
    const d = kl(hfLogits, logits);
    console.log(`tiny VL package, q4 experts + q8 vision + f16 core: KL vs HF mean ${d.mean.toExponential(2)} max ${d.max.toExponential(2)}`);
    expect(d.mean).toBeGreaterThan(0);
    // measured 1.3e-4 / 7.9e-4; vision experts decoded as q4_0 instead of iq4_nl give 2.8e-3 / 5.5e-3
    expect(d.mean).toBeLessThan(1e-3);
    expect(d.max).toBeLessThan(2.5e-3);
  });

  it('validateManifest checks a VL manifest against the VL tensor list: a missing vision tensor is MISSING_TENSOR naming it', () => {
    const manifest = JSON.parse(readFileSync(join(dir, 'q4', MANIFEST_FILE), 'utf8'));
    expect(validateManifest(manifest).family.kind).toBe('vl');
    // the same model in Baidu's flat config spelling implies the same tensor list
    const flat = {
      model_type: 'ernie4_5_vl_moe', hidden_size: 128, intermediate_size: 256, num_hidden_layers: 3, num_attention_heads: 4, num_key_value_heads: 2,
      vocab_size: 2048, rms_norm_eps: 1e-5, rope_theta: 500000, tie_word_embeddings: true, moe_num_experts: [16, 16], moe_intermediate_size: [32, 16],
      moe_k: 4, moe_num_shared_experts: 2, moe_layer_start_index: 1, freq_allocation: 4, spatial_conv_size: 2, temporal_conv_size: 2, im_patch_id: 2000,
      vision_config: { depth: 2, embed_dim: 64, hidden_size: 64, num_heads: 4, mlp_ratio: 2, patch_size: 14, in_channels: 3, spatial_merge_size: 2 },
    };
    const fromFlat = validateManifest({ ...manifest, config: flat });
    expect(fromFlat.family.vl).toMatchObject({ mropeSection: [6, 6, 4], visionExperts: { numExperts: 16, intermediateSize: 16 } });
    expect([...fromFlat.expected.keys()]).toEqual([...validateManifest(manifest).expected.keys()]);
    const name = 'model.vision_model.blocks.1.mlp.fc2.bias';
    const without = { ...manifest, tensors: manifest.tensors.filter((t: { name: string }) => t.name !== name) };
    expect(() => validateManifest(without)).toThrow(expect.objectContaining({ code: 'MISSING_TENSOR', message: expect.stringContaining(`no tensor "${name}" [64]`) }));
    // a vision expert's shape comes from the vision experts' own width
    const wrong = structuredClone(manifest);
    wrong.tensors.find((t: { name: string }) => t.name === 'model.layers.1.mlp.experts.17.gate_proj.weight').shape = [32, 128];
    expect(() => validateManifest(wrong)).toThrow(expect.objectContaining({ code: 'SHAPE_MISMATCH', message: expect.stringContaining('implies [16, 128]') }));
    // expert shards go up to text + vision experts, no further
    const extra = structuredClone(manifest);
    extra.shards.push({ ...extra.shards.find((s: { kind: string }) => s.kind === 'expert'), file: 'experts/x.bin', expert: 32 });
    expect(() => validateManifest(extra)).toThrow(/expert 32 is out of range \(the model has 32 per MoE layer\)/);
  });

  it('`ernie-webgpu convert` on a random VL geometry in the -PT layout (vision_model.* names): the package gives the f64 reference\'s logits', async () => {
    const hf = join(dir, 'random-hf'), pkg = join(dir, 'random-pkg');
    mkdirSync(hf);
    const cfg = randomVlConfig();
    const { values, shapes } = randomVlWeights(cfg, 'vision_model.', 5);
    writeFileSync(join(hf, 'config.json'), JSON.stringify(RANDOM_VL_CONFIG));
    writeSafetensors(join(hf, 'model.safetensors'), [...values].map(([name, data]) => ({ name, shape: shapes.get(name)!, data })));
    execFileSync(process.execPath, ['bin/ernie-webgpu.mjs', 'convert', hf, '--experts', 'f32', '--vision-experts', 'f32', '--core', 'f32', '--vision', 'f32', '--out', pkg], { stdio: 'pipe' });
    const manifest = JSON.parse(readFileSync(join(pkg, MANIFEST_FILE), 'utf8')) as Manifest;
    // 6 text + 6 vision experts: shard names padded to two digits
    expect(manifest.shards.map((x) => x.file)).toContain('experts/layer-2/expert-07.bin');
    expect(manifest.tensors.filter((t) => t.name.startsWith('model.vision_model.')).length).toBe(values.size - [...values.keys()].filter((n) => !n.startsWith('vision_model.')).length);
    const pixels = Uint8Array.from({ length: 56 * 84 * 3 }, (_, i) => (i * 29 + 3) & 255);
    const im = preprocessImage({ width: 56, height: 84, data: pixels }, parsePreprocessorConfig({}));
    const t = cfg.tokens, ids = [1, t.imageStart, ...Array(6).fill(t.image), t.imageEnd, 2, 3];
    const { forward, format } = await loadErnieVl(ctx, nodeFolder(pkg), { maxBatch: 8 });
    expect(format).toBe('package');
    const { logits } = await forward.prefill(ids, [im], { allLogits: true });
    expect(maxAbsDiff(logits!, referenceVlForward(cfg, (n) => values.get(n)!, 'vision_model.', ids, [im]).logits)).toBeLessThan(1e-4);
  });

  it('a layer\'s vision experts in two formats are an UNSUPPORTED error naming the odd one', async () => {
    const st = await SafetensorsModel.open(nodeFolder(VL));
    const odd = 'model.layers.1.mlp.experts.18.up_proj.weight';
    const src: WeightSource = { has: (n) => st.has(n), info: (n) => (n === odd ? { ...st.info(n), dtype: 'F16' } : st.info(n)), readF32: (n, s) => st.readF32(n, s), readRaw: (n, s) => st.readRaw(n, s) };
    const cfg = parseVlConfig(JSON.parse(readFileSync(`${VL}/config.json`, 'utf8')));
    await expect(loadVlLmWeights(ctx, cfg, src)).rejects.toMatchObject({ code: 'UNSUPPORTED', message: expect.stringContaining(`${odd} is f16, but layer 1's other vision experts are f32`) });
  });

  // (runs last: it damages the q4 package)
  it('a corrupt vision-expert shard fails the load with an IntegrityError naming it', async () => {
    const pkg = join(dir, 'q4'), manifest = JSON.parse(readFileSync(join(pkg, MANIFEST_FILE), 'utf8')) as Manifest;
    const shard = manifest.shards.find((s: ManifestShard) => s.kind === 'expert' && s.layer === 2 && s.expert === 20)!;
    const path = join(pkg, shard.file), bytes = readFileSync(path);
    bytes[7] ^= 0x40;
    writeFileSync(path, bytes);
    await expect(loadErnieVl(ctx, nodeFolder(pkg))).rejects.toMatchObject({ name: 'IntegrityError', code: 'INTEGRITY', file: shard.file, message: expect.stringMatching(new RegExp(`${shard.file}: SHA-256 is [0-9a-f]{64}, but manifest.json says`)) });
  });
});
