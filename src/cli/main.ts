// Command line: `ernie-webgpu <command> ...` (Node, WebGPU through Dawn).
//   logits   <model> --ids 5,17,33 --out logits.npy   logits of every position, float32 [tokens, vocab]
//   generate <model> --ids 5,17,33 [--max-tokens N] [--temperature T] [--top-k K] [--top-p P] [--seed S]
//   chat     <model-folder> --prompt "Hi" [--tokenizer <folder>] [--system "..."] [--max-tokens N] [--temperature T] [--seed S]
//   convert  <hf-folder | file.gguf> --experts q2|q4 --core q4|f16 [--head q4|q6|q8|f16] --out <dir>
// <model> is a package folder (manifest.json), an HF checkpoint folder (config.json + safetensors) or a .gguf file.
import { writeFileSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { ErnieError } from '../errors.js';
import { acquireDevice } from '../gpu/device.js';
import { GpuContext } from '../gpu/context.js';
import { nodeGpu } from '../node.js';
import { fromPath, nodeFolder } from '../formats/node_source.js';
import { openFolderWeights } from '../model/ernie45/load.js';
import type { ErnieConfig } from '../model/ernie45/config.js';
import { convertModel } from '../convert/convert.js';
import { nodeDirectoryWriter } from '../package/node_writer.js';
import { openGgufWeights } from '../model/ernie45/gguf_source.js';
import { loadWeights, type WeightSource } from '../model/ernie45/weights.js';
import { ErnieForward } from '../model/ernie45/forward.js';
import { sample } from '../kernels/sample.js';
import { npyFloat32 } from './npy.js';
import { Rng } from '../sampling/rng.js';
import type { ExpertCacheOptions } from '../experts/budget.js';
import type { ExpertSource } from '../experts/source.js';
import { loadEngine } from '../engine/load.js';
import type { ChatMessageParam } from '../api/types.js';

const USAGE = `usage:
  ernie-webgpu logits   <model-folder | file.gguf> --ids 5,17,33 --out logits.npy
  ernie-webgpu generate <model-folder | file.gguf> --ids 5,17,33 [--max-tokens 24] [--temperature 0] [--top-k 0] [--top-p 1] [--seed 0]
  ernie-webgpu chat     <model-folder> --prompt "Hello" [--tokenizer <folder>] [--system "..."] [--max-tokens 32] [--temperature 0.7] [--seed 0]
  logits, generate, chat also take --gpu-experts <count per layer | N%> and --ram-experts <count per layer | N%>
  (GPU / RAM budget of the routed-expert cache; default: every expert resident when they fit)
  ernie-webgpu convert  <hf-folder | file.gguf> --experts q2|q4 --core q4|f16 [--head q4|q6|q8|f16] --out <dir>`;

function parseArgs(argv: string[]): { positional: string[]; flags: Map<string, string> } {
  const positional: string[] = [];
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a.startsWith('--')) {
      const [k, v] = a.slice(2).split('=', 2);
      flags.set(k, v ?? argv[++i] ?? '');
    } else positional.push(a);
  }
  return { positional, flags };
}

function parseIds(text: string | undefined): number[] {
  if (!text) throw new ErnieError('BAD_REQUEST', '--ids is required, e.g. --ids 5,17,33');
  const ids = text.split(',').map((s) => Number(s.trim()));
  if (ids.some((n) => !Number.isInteger(n) || n < 0)) throw new ErnieError('BAD_REQUEST', `--ids must be comma-separated non-negative integers, got "${text}"`);
  return ids;
}

/** --gpu-experts / --ram-experts: a count per MoE layer (6) or a share of all experts (25%). */
function expertCacheFlags(flags: Map<string, string>): ExpertCacheOptions {
  const o: ExpertCacheOptions = {};
  for (const [flag, key] of [['gpu-experts', 'gpuExperts'], ['ram-experts', 'ramExperts']] as const) {
    const v = flags.get(flag);
    if (v === undefined) continue;
    if (!/^\d+(\.\d+)?%$|^\d+$/.test(v)) throw new ErnieError('BAD_REQUEST', `--${flag} takes a count of experts per layer (e.g. 6) or a percentage (e.g. 25%), got "${v}"`);
    o[key] = v.endsWith('%') ? v : Number(v);
  }
  return o;
}

async function openModel(path: string): Promise<{ config: ErnieConfig; weights: WeightSource; experts?: ExpertSource }> {
  if ((await stat(path)).isDirectory()) return openFolderWeights(nodeFolder(path));
  if (path.endsWith('.gguf')) return openGgufWeights(fromPath(path));
  throw new ErnieError('UNSUPPORTED', `${path}: expected an HF checkpoint folder (config.json + *.safetensors) or a .gguf file`);
}

async function main(argv: string[]): Promise<void> {
  const { positional, flags } = parseArgs(argv);
  const [command, modelPath] = positional;
  if (!command || !modelPath || !['logits', 'generate', 'chat', 'convert'].includes(command)) {
    console.error(USAGE);
    process.exitCode = 2;
    return;
  }
  if (command === 'chat') return chat(modelPath, flags);
  if (command === 'convert') return convert(modelPath, flags);
  const ids = parseIds(flags.get('ids'));
  const ctx = new GpuContext(await acquireDevice(await nodeGpu()));
  const { config, weights: source, experts } = await openModel(modelPath);
  const t0 = performance.now();
  let shown = -1;
  const weights = await loadWeights(ctx, config, source, {
    experts,
    expertCache: expertCacheFlags(flags),
    onProgress: (p) => {
      const pct = Math.floor((100 * p.tensorsDone) / p.tensorsTotal);
      if (pct === shown || (pct % 10 !== 0 && p.tensorsDone !== p.tensorsTotal)) return;
      shown = pct;
      process.stderr.write(`\rloading ${p.tensorsDone}/${p.tensorsTotal} tensors, ${(p.bytesUploaded / 2 ** 20).toFixed(1)} MiB`);
    },
  });
  process.stderr.write(`\nloaded in ${((performance.now() - t0) / 1000).toFixed(2)} s on ${ctx.adapterInfo.description || ctx.adapterInfo.vendor}\n`);
  const model = new ErnieForward(ctx, config, weights);

  if (command === 'logits') {
    const out = flags.get('out');
    if (!out) throw new ErnieError('BAD_REQUEST', '--out <file.npy> is required');
    const { logits } = await model.run(ids, { allLogits: true });
    writeFileSync(out, npyFloat32(logits!, [ids.length, config.vocabSize]));
    console.log(`wrote ${out}: float32 [${ids.length}, ${config.vocabSize}]`);
  } else {
    const maxTokens = Number(flags.get('max-tokens') ?? 24);
    const options = { temperature: Number(flags.get('temperature') ?? 0), topK: Number(flags.get('top-k') ?? 0), topP: Number(flags.get('top-p') ?? 1) };
    const rng = new Rng(Number(flags.get('seed') ?? 0));
    const result = ctx.createBuffer('next token', 4);
    const tPrefill = performance.now();
    await model.run(ids);
    const generated: number[] = [];
    const tDecode = performance.now();
    for (let i = 0; i < maxTokens; i++) {
      sample(ctx, { logits: model.logitsBuffer, row: 0, vocab: config.vocabSize, result, options, u: rng.uniform() });
      const [id] = await ctx.readU32(result, 0, 1);
      generated.push(id);
      if (config.eosTokenIds.includes(id) || i === maxTokens - 1) break;
      await model.run([id]);
    }
    const tEnd = performance.now();
    console.log(`prompt ids:    ${ids.join(' ')}`);
    console.log(`generated ids: ${generated.join(' ')}`);
    console.log(`prefill ${ids.length} tokens in ${(tDecode - tPrefill).toFixed(0)} ms; decode ${generated.length} tokens at ${((generated.length * 1000) / (tEnd - tDecode)).toFixed(1)} tok/s`);
  }
  const s = weights.experts?.stats();
  if (s) process.stderr.write(`experts: ${s.gpu.slots} GPU slots, ${s.gpu.hits} hits, ${s.gpu.misses} misses, ${(s.gpu.bytesUploaded / 2 ** 20).toFixed(1)} MiB uploaded, ${s.readbacksPerToken.toFixed(2)} expert readbacks / token\n`);
  ctx.destroy();
}

/** Stream one chat completion through the OpenAI-style Engine. */
async function chat(modelPath: string, flags: Map<string, string>): Promise<void> {
  const prompt = flags.get('prompt');
  if (!prompt) throw new ErnieError('BAD_REQUEST', '--prompt is required');
  const engine = await loadEngine({
    model: nodeFolder(modelPath),
    tokenizer: nodeFolder(flags.get('tokenizer') ?? modelPath),
    gpu: await nodeGpu(),
    expertCache: expertCacheFlags(flags),
  });
  const messages: ChatMessageParam[] = [];
  if (flags.has('system')) messages.push({ role: 'system', content: flags.get('system')! });
  messages.push({ role: 'user', content: prompt });
  const t0 = performance.now();
  const stream = await engine.chat.completions.create({
    messages,
    stream: true,
    max_tokens: Number(flags.get('max-tokens') ?? 32),
    temperature: Number(flags.get('temperature') ?? 0.7),
    seed: Number(flags.get('seed') ?? 0),
  });
  process.stdout.write(`user: ${prompt}\nassistant: `);
  for await (const chunk of stream) process.stdout.write(chunk.choices[0]?.delta?.content ?? '');
  const s = engine.lastStats;
  process.stdout.write(`\n[${s ? `${s.promptTokens} prompt tokens, ${s.completionTokens} generated, ` : ''}${(performance.now() - t0).toFixed(0)} ms on ${engine.gpu.adapterInfo.description || engine.gpu.adapterInfo.vendor}]\n`);
  engine.dispose();
}

/** HF folder or GGUF -> package, tensor by tensor, with progress on stderr. */
async function convert(input: string, flags: Map<string, string>): Promise<void> {
  const out = flags.get('out');
  if (!out) throw new ErnieError('BAD_REQUEST', '--out <dir> is required');
  const experts = flags.get('experts') ?? 'q4';
  const core = flags.get('core') ?? 'q4';
  const t0 = performance.now();
  let shown = -1;
  const report = await convertModel({
    input: (await stat(input)).isDirectory() ? { kind: 'hf', folder: nodeFolder(input) } : { kind: 'gguf', source: fromPath(input) },
    experts: experts as 'q2' | 'q4',
    core: core as 'q4' | 'f16',
    head: flags.get('head') as 'q4' | 'q6' | 'q8' | 'f16' | undefined,
    out: nodeDirectoryWriter(out),
    onProgress: (p) => {
      const step = Math.floor((20 * p.tensorsDone) / p.tensorsTotal); // every 5%
      if (step !== shown) process.stderr.write(`\rconverting ${p.tensorsDone}/${p.tensorsTotal} tensors, ${(p.bytesWritten / 2 ** 20).toFixed(1)} MiB written`);
      shown = step;
    },
  });
  process.stderr.write('\n');
  const bpw = report.bitsPerWeight;
  console.log(`wrote ${out}: ${report.files.length} files, ${(report.packageBytes / 2 ** 20).toFixed(2)} MiB in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  console.log(`bits per weight: experts ${bpw.experts.toFixed(3)}, core ${bpw.core.toFixed(3)}, all matrices ${bpw.matrices.toFixed(3)}`);
  if (report.requantized.length) console.log(`re-quantized from GGUF: ${report.requantized.length} tensors (e.g. ${report.requantized[0].name}: ${report.requantized[0].from} -> ${report.requantized[0].to})`);
}

main(process.argv.slice(2)).catch((e: unknown) => {
  const msg = e instanceof ErnieError ? `${e.name} [${e.code}]: ${e.message}` : String((e as Error)?.stack ?? e);
  console.error(msg);
  process.exitCode = 1;
});
