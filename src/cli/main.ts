// Command line: `ernie-webgpu <command> ...` (Node, WebGPU through Dawn).
//   logits   <model> --ids 5,17,33 --out logits.npy   logits of every position, float32 [tokens, vocab]
//   generate <model> --ids 5,17,33 [--max-tokens N] [--temperature T] [--top-k K] [--top-p P] [--seed S]
//   chat     <model-folder> --prompt "Hi" [--tokenizer <folder>] [--system "..."] [--max-tokens N] [--temperature T] [--seed S]
//   serve    <model-folder> [--tokenizer <folder>] [--port 8080] [--host 127.0.0.1] [--api-key K] [--cors ORIGIN]   OpenAI-compatible HTTP server
//   convert  <hf-folder | file.gguf> --experts q2|q4 --core q4|f16 [--head q4|q6|q8|f16] --out <dir>
//   convert  <file.gguf> --keep --out <dir>   lossless: every tensor keeps its GGUF type where the package has it
//   download <package-url> --out <dir> [--parallel 4]   resumable, every file SHA-256 verified
// logits and generate take `--image a.png` (repeatable) for an ERNIE-4.5-VL folder: the ids then hold, per
// image in order, its start token, one placeholder per merged patch and its end token.
// <model> is a package folder (manifest.json), an HF checkpoint folder (config.json + safetensors) or a .gguf file.
import { readFileSync, writeFileSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { ErnieError, MissingFileError } from '../errors.js';
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
import { checkSampled, sample } from '../kernels/sample.js';
import { npyFloat32 } from './npy.js';
import { timedGenerate } from './timed_generate.js';
import { type FlagTable, Flags, UsageError, parseFlags } from './args.js';
import { Rng } from '../sampling/rng.js';
import type { ExpertCacheOptions } from '../experts/budget.js';
import type { ExpertSource } from '../experts/source.js';
import type { ExpertStats } from '../experts/stats.js';
import { loadEngine } from '../engine/load.js';
import { serveEngine } from '../server/openai_server.js';
import type { ChatMessageParam } from '../api/types.js';
import { decodeImage } from '../image/decode.js';
import { isVlFolder, loadErnieVlFromFolder } from '../model/ernie45_vl/load.js';
import { preprocessImage } from '../model/ernie45_vl/preprocess.js';
import { ModelStore } from '../store/store.js';
import { folderBackend } from '../store/folder_backend.js';

const MODEL = '<model-folder | file.gguf>';
const SAMPLING = {
  'max-tokens': { kind: 'int', min: 1 },
  temperature: { kind: 'number', min: 0 },
  'top-k': { kind: 'int', min: 0 },
  'top-p': { kind: 'number', min: 0, max: 1 },
  seed: { kind: 'int', min: 0 },
} as const;
/** The routed-expert cache's budgets: a count per MoE layer (6) or a share of all experts (25%). */
const EXPERTS = { 'gpu-experts': { kind: 'string' }, 'ram-experts': { kind: 'string' } } as const;
const EXPERTS_USAGE = '[--gpu-experts <count per layer | N%>] [--ram-experts <count per layer | N%>]';

/** Each command: its usage lines and the flags it takes (kind and range, checked before it runs). */
const COMMANDS = {
  logits: {
    usage: [`logits   ${MODEL} --ids 5,17,33 [--image a.png ...] --out logits.npy ${EXPERTS_USAGE}`],
    flags: { ids: { kind: 'ids' }, image: { kind: 'list' }, out: { kind: 'string' }, ...EXPERTS },
  },
  generate: {
    usage: [`generate ${MODEL} --ids 5,17,33 [--image a.png ...] [--max-tokens 24] [--temperature 0] [--top-k 0] [--top-p 1] [--seed 0] ${EXPERTS_USAGE}`],
    flags: { ids: { kind: 'ids' }, image: { kind: 'list' }, ...SAMPLING, ...EXPERTS },
  },
  chat: {
    usage: [`chat     <model-folder> --prompt "Hello" [--tokenizer <folder>] [--system "..."] [--max-tokens 32] [--temperature 0.7] [--seed 0] ${EXPERTS_USAGE}`],
    flags: { prompt: { kind: 'string' }, tokenizer: { kind: 'string' }, system: { kind: 'string' }, 'max-tokens': SAMPLING['max-tokens'], temperature: SAMPLING.temperature, seed: SAMPLING.seed, ...EXPERTS },
  },
  convert: {
    usage: [
      'convert  <hf-folder | file.gguf> --experts q2|q4|f32 --core q4|f16|f32 [--head q4|q6|q8|f16|f32] --out <dir>',
      'convert  <vl-hf-folder> ... [--vision f16|q8|f32] [--vision-experts q2|q4|f32]   (ERNIE-4.5-VL: vision tower + resampler, vision experts)',
      'convert  <file.gguf> --keep --out <dir>   (lossless: each tensor keeps its GGUF type where the package has it)',
    ],
    flags: {
      experts: { kind: 'choice', choices: ['q2', 'q4', 'f32'] },
      core: { kind: 'choice', choices: ['q4', 'f16', 'f32'] },
      head: { kind: 'choice', choices: ['q4', 'q6', 'q8', 'f16', 'f32'] },
      vision: { kind: 'choice', choices: ['f16', 'q8', 'f32'] },
      'vision-experts': { kind: 'choice', choices: ['q2', 'q4', 'f32'] },
      keep: { kind: 'switch' },
      out: { kind: 'string' },
    },
  },
  serve: {
    usage: ['serve    <model-folder> [--tokenizer <folder>] [--port 8080] [--host 127.0.0.1] [--api-key K] [--cors ORIGIN|*]'],
    flags: { tokenizer: { kind: 'string' }, port: { kind: 'int', min: 0, max: 65535 }, host: { kind: 'string' }, 'api-key': { kind: 'string' }, cors: { kind: 'string' } },
  },
  download: {
    usage: ['download <package-url> --out <dir> [--parallel 4]'],
    flags: { out: { kind: 'string' }, parallel: { kind: 'int', min: 1 } },
  },
} satisfies Record<string, { usage: string[]; flags: FlagTable }>;
type Command = keyof typeof COMMANDS;

const USAGE = `usage:\n${Object.values(COMMANDS).flatMap((c) => c.usage).map((u) => `  ernie-webgpu ${u}`).join('\n')}`;

/** Whether `path` is a directory; a path that does not exist is a MissingFileError naming it. */
async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch (cause) {
    throw new MissingFileError(path, 'does not exist', { cause });
  }
}

/** The command and its checked arguments; a UsageError for anything the tables do not allow. */
function parseCommandLine(argv: string[]): { command: Command; modelPath: string; flags: Flags } {
  const [command, ...rest] = argv;
  if (!command || !Object.hasOwn(COMMANDS, command)) {
    throw new UsageError(command ? `unknown command "${command}" (commands: ${Object.keys(COMMANDS).join(', ')})` : 'no command given');
  }
  const spec = COMMANDS[command as Command];
  const { positional, flags } = parseFlags(command, rest, spec.flags);
  if (positional.length !== 1) {
    throw new UsageError(positional.length === 0 ? `"${command}" needs a model path` : `"${command}" takes one model path, got ${positional.length}: ${positional.join(' ')}`);
  }
  return { command: command as Command, modelPath: positional[0]!, flags: new Flags(flags) };
}

/** --gpu-experts / --ram-experts: a count per MoE layer (6) or a share of all experts (25%). */
function expertCacheFlags(flags: Flags): ExpertCacheOptions {
  const o: ExpertCacheOptions = {};
  for (const [flag, key] of [['gpu-experts', 'gpuExperts'], ['ram-experts', 'ramExperts']] as const) {
    const v = flags.string(flag);
    if (v === undefined) continue;
    if (!/^\d+(\.\d+)?%$|^\d+$/.test(v)) throw new UsageError(`--${flag} takes a count of experts per layer (e.g. 6) or a percentage (e.g. 25%), got "${v}"`, `--${flag}`);
    o[key] = v.endsWith('%') ? v : Number(v);
  }
  return o;
}

async function openModel(path: string): Promise<{ config: ErnieConfig; weights: WeightSource; experts?: ExpertSource }> {
  if (await isDirectory(path)) return openFolderWeights(nodeFolder(path));
  if (path.endsWith('.gguf')) return openGgufWeights(fromPath(path));
  throw new ErnieError('UNSUPPORTED', `${path}: expected an HF checkpoint folder (config.json + *.safetensors) or a .gguf file`);
}

async function main(argv: string[]): Promise<void> {
  const { command, modelPath, flags } = parseCommandLine(argv);
  if (command === 'chat') return chat(modelPath, flags);
  if (command === 'serve') return serve(modelPath, flags);
  if (command === 'convert') return convert(modelPath, flags);
  if (command === 'download') return download(modelPath, flags);
  const ids = flags.required<number[]>('ids', '5,17,33');
  const out = command === 'logits' ? flags.required<string>('out', 'logits.npy') : undefined;
  const images = flags.list('image');
  if ((await isDirectory(modelPath)) && (await isVlFolder(nodeFolder(modelPath)))) return vl(modelPath, ids, images, out, flags);
  if (images.length) throw new ErnieError('BAD_REQUEST', `--image needs an ERNIE-4.5-VL model; ${modelPath} is a text-only model`);
  // Files first: a bad model fails before the GPU is set up.
  const { config, weights: source, experts } = await openModel(modelPath);
  const ctx = new GpuContext(await acquireDevice(await nodeGpu()));
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

  if (out !== undefined) {
    const { logits } = await model.run(ids, { allLogits: true });
    writeFileSync(out, npyFloat32(logits!, [ids.length, config.vocabSize]));
    console.log(`wrote ${out}: float32 [${ids.length}, ${config.vocabSize}]`);
  } else {
    const maxTokens = flags.number('max-tokens') ?? 24;
    const options = { temperature: flags.number('temperature') ?? 0, topK: flags.number('top-k') ?? 0, topP: flags.number('top-p') ?? 1 };
    const rng = new Rng(flags.number('seed') ?? 0);
    const { generated, prefillMs, decodeMs } = await timedGenerate(ctx, model, ids, { maxTokens, options, rng });
    console.log(`prompt ids:    ${ids.join(' ')}`);
    console.log(`generated ids: ${generated.join(' ')}`);
    console.log(`prefill ${ids.length} tokens in ${prefillMs.toFixed(0)} ms; decode ${generated.length} tokens at ${((generated.length * 1000) / decodeMs).toFixed(1)} tok/s`);
  }
  writeExpertStats(weights.experts);
  ctx.destroy();
}

/** logits / generate on an ERNIE-4.5-VL checkpoint folder, with the --image files preprocessed as HF does. */
async function vl(modelPath: string, ids: number[], imagePaths: string[], out: string | undefined, flags: Flags): Promise<void> {
  const ctx = new GpuContext(await acquireDevice(await nodeGpu()));
  const { config, preprocessor, forward } = await loadErnieVlFromFolder(ctx, nodeFolder(modelPath), { expertCache: expertCacheFlags(flags) });
  const images = imagePaths.map((path) => preprocessImage(decodeImage(readFileSync(path), { source: path }), preprocessor, path));
  const V = config.text.vocabSize;
  if (out !== undefined) {
    const { logits } = await forward.prefill(ids, images, { allLogits: true });
    writeFileSync(out, npyFloat32(logits!, [ids.length, V]));
    console.log(`wrote ${out}: float32 [${ids.length}, ${V}]`);
  } else {
    const maxTokens = flags.number('max-tokens') ?? 24;
    const options = { temperature: flags.number('temperature') ?? 0, topK: flags.number('top-k') ?? 0, topP: flags.number('top-p') ?? 1 };
    const rng = new Rng(flags.number('seed') ?? 0);
    const result = ctx.createBuffer('next token', 4);
    await forward.prefill(ids, images);
    const generated: number[] = [];
    for (let i = 0; i < maxTokens; i++) {
      sample(ctx, { logits: forward.logitsBuffer, row: 0, vocab: V, result, options, u: rng.uniform() });
      const id = checkSampled((await ctx.readU32(result, 0, 1))[0]!, V, ids.length + i);
      generated.push(id);
      if (config.text.eosTokenIds.includes(id) || i === maxTokens - 1) break;
      await forward.decode([id]);
    }
    console.log(`prompt ids:    ${ids.join(' ')}`);
    console.log(`generated ids: ${generated.join(' ')}`);
  }
  writeExpertStats(forward.text.w.experts);
  ctx.destroy();
}

/** The expert cache's line on stderr (slots, hits, misses, uploads). */
function writeExpertStats(experts: { stats(): ExpertStats } | null): void {
  const s = experts?.stats();
  if (s) process.stderr.write(`experts: ${s.gpu.slots} GPU slots, ${s.gpu.hits} hits, ${s.gpu.misses} misses, ${s.gpu.evictions} evictions, ${(s.gpu.bytesUploaded / 2 ** 20).toFixed(1)} MiB uploaded, ${s.readbacksPerToken.toFixed(2)} expert readbacks / token\n`);
}

/** Stream one chat completion through the OpenAI-style Engine. */
async function chat(modelPath: string, flags: Flags): Promise<void> {
  const prompt = flags.required<string>('prompt', '"Hello"');
  const engine = await loadEngine({
    model: nodeFolder(modelPath),
    tokenizer: nodeFolder(flags.string('tokenizer') ?? modelPath),
    gpu: await nodeGpu(),
    expertCache: expertCacheFlags(flags),
  });
  const messages: ChatMessageParam[] = [];
  const system = flags.string('system');
  if (system !== undefined) messages.push({ role: 'system', content: system });
  messages.push({ role: 'user', content: prompt });
  const t0 = performance.now();
  const stream = await engine.chat.completions.create({
    messages,
    stream: true,
    max_tokens: flags.number('max-tokens') ?? 32,
    temperature: flags.number('temperature') ?? 0.7,
    seed: flags.number('seed') ?? 0,
  });
  process.stdout.write(`user: ${prompt}\nassistant: `);
  for await (const chunk of stream) process.stdout.write(chunk.choices[0]?.delta?.content ?? '');
  const s = engine.lastStats;
  process.stdout.write(`\n[${s ? `${s.promptTokens} prompt tokens, ${s.completionTokens} generated, ` : ''}${(performance.now() - t0).toFixed(0)} ms on ${engine.gpu.adapterInfo.description || engine.gpu.adapterInfo.vendor}]\n`);
  engine.dispose();
}

/** Serves the model over HTTP until the process is stopped (Ctrl-C). */
async function serve(modelPath: string, flags: Flags): Promise<void> {
  const port = flags.number('port') ?? 8080;
  const engine = await loadEngine({
    model: nodeFolder(modelPath),
    tokenizer: nodeFolder(flags.string('tokenizer') ?? modelPath),
    gpu: await nodeGpu(),
  });
  const running = await serveEngine(engine, { port, host: flags.string('host') ?? '127.0.0.1', apiKey: flags.string('api-key'), cors: flags.string('cors') });
  console.log(`serving "${engine.modelName}" at ${running.baseURL} (POST /chat/completions, POST /completions, GET /models)`);
  const stop = () => {
    void running.close().then(() => engine.dispose());
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

/** HF folder or GGUF -> package, tensor by tensor, with progress on stderr. */
async function convert(input: string, flags: Flags): Promise<void> {
  const out = flags.required<string>('out', '<dir>');
  const experts = flags.string('experts') ?? 'q4';
  const core = flags.string('core') ?? 'q4';
  const t0 = performance.now();
  let shown = -1;
  const report = await convertModel({
    input: (await isDirectory(input)) ? { kind: 'hf', folder: nodeFolder(input) } : { kind: 'gguf', source: fromPath(input) },
    experts: experts as 'q2' | 'q4' | 'f32',
    core: core as 'q4' | 'f16' | 'f32',
    head: flags.string('head') as 'q4' | 'q6' | 'q8' | 'f16' | 'f32' | undefined,
    vision: flags.string('vision') as 'f16' | 'q8' | 'f32' | undefined,
    visionExperts: flags.string('vision-experts') as 'q2' | 'q4' | 'f32' | undefined,
    keep: flags.has('keep'),
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
  const kept = report.tensors.filter((t) => t.action === 'copied').length;
  const widened = report.tensors.filter((t) => t.action === 'widened').length;
  if (flags.has('keep')) console.log(`kept as in the GGUF: ${kept} tensors${widened ? `; BF16 widened to f32: ${widened}` : ''}`);
  if (report.requantized.length) console.log(`re-quantized from GGUF: ${report.requantized.length} tensors (e.g. ${report.requantized[0].name}: ${report.requantized[0].from} -> ${report.requantized[0].to})`);
}

/** A package URL -> a package folder on disk, through the model store's folder backend (resumable, verified). */
async function download(url: string, flags: Flags): Promise<void> {
  const out = flags.required<string>('out', '<dir>');
  const parallel = flags.number('parallel') ?? 4;
  const store = new ModelStore(folderBackend(out, { single: true }));
  const ac = new AbortController();
  process.once('SIGINT', () => ac.abort('interrupted: run the same command again to resume'));
  let line = '';
  const m = await store.download(url, {
    parallel, signal: ac.signal,
    onProgress: (p) => {
      const eta = p.etaSeconds === undefined ? '' : `, ${Math.ceil(p.etaSeconds)} s left`;
      const next = `\rdownloading ${p.filesDone}/${p.filesTotal} files, ${(p.bytesDone / 2 ** 20).toFixed(1)}/${(p.bytesTotal / 2 ** 20).toFixed(1)} MiB, ${(p.bytesPerSecond / 2 ** 20).toFixed(1)} MiB/s${eta}`;
      if (next !== line) process.stderr.write((line = next));
    },
  });
  process.stderr.write('\n');
  console.log(`${out}: ${m.files.verified} files verified (SHA-256), ${(m.bytesStored / 2 ** 20).toFixed(2)} MiB`);
}

main(process.argv.slice(2)).catch((e: unknown) => {
  if (e instanceof UsageError) {
    console.error(`ernie-webgpu: ${e.message}\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  const msg = e instanceof ErnieError ? `${e.name} [${e.code}]: ${e.message}` : String((e as Error)?.stack ?? e);
  console.error(msg);
  process.exitCode = 1;
});
