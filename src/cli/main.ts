// Command line: `ernie-webgpu <command> ...` (Node, WebGPU through Dawn).
//   logits   <model> --ids 5,17,33 --out logits.npy   logits of every position, float32 [tokens, vocab]
//   generate <model> --ids 5,17,33 [--max-tokens N] [--temperature T] [--top-k K] [--top-p P] [--seed S]
//   chat     <model-folder> --prompt "Hi" [--tokenizer <folder>] [--system "..."] [--max-tokens N] [--temperature T] [--seed S]
//   serve    <model-folder> [--tokenizer <folder>] [--port 8080] [--host 127.0.0.1] [--api-key K]   OpenAI-compatible HTTP server
//   convert  <hf-folder | file.gguf> --experts q2|q4 --core q4|f16 [--head q4|q6|q8|f16] --out <dir>
//   convert  <file.gguf> --keep --out <dir>   lossless: every tensor keeps its GGUF type where the package has it
//   download <package-url> --out <dir> [--parallel 4]   resumable, every file SHA-256 verified
// logits and generate take `--image a.png` (repeatable) for an ERNIE-4.5-VL folder: the ids then hold, per
// image in order, its start token, one placeholder per merged patch and its end token.
// <model> is a package folder (manifest.json), an HF checkpoint folder (config.json + safetensors) or a .gguf file.
import { readFileSync, writeFileSync } from 'node:fs';
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
import { loadEngine } from '../engine/load.js';
import { serveEngine } from '../server/openai_server.js';
import type { ChatMessageParam } from '../api/types.js';
import { decodeImage } from '../image/decode.js';
import { isVlFolder, loadErnieVlFromFolder } from '../model/ernie45_vl/load.js';
import { preprocessImage } from '../model/ernie45_vl/preprocess.js';
import { ModelStore } from '../store/store.js';
import { folderBackend } from '../store/folder_backend.js';

const USAGE = `usage:
  ernie-webgpu logits   <model-folder | file.gguf> --ids 5,17,33 [--image a.png ...] --out logits.npy
  ernie-webgpu generate <model-folder | file.gguf> --ids 5,17,33 [--image a.png ...] [--max-tokens 24] [--temperature 0] [--top-k 0] [--top-p 1] [--seed 0]
  ernie-webgpu chat     <model-folder> --prompt "Hello" [--tokenizer <folder>] [--system "..."] [--max-tokens 32] [--temperature 0.7] [--seed 0]
  ernie-webgpu serve    <model-folder> [--tokenizer <folder>] [--port 8080] [--host 127.0.0.1] [--api-key K]
  ernie-webgpu convert  <hf-folder | file.gguf> --experts q2|q4 --core q4|f16 [--head q4|q6|q8|f16] --out <dir>
  ernie-webgpu convert  <file.gguf> --keep --out <dir>   (lossless: each tensor keeps its GGUF type where the package has it)
  ernie-webgpu download <package-url> --out <dir> [--parallel 4]`;

/** Flags that take no value. */
const SWITCHES = new Set(['keep']);

function parseArgs(argv: string[]): { positional: string[]; flags: Map<string, string>; images: string[] } {
  const positional: string[] = [];
  const flags = new Map<string, string>();
  const images: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a.startsWith('--')) {
      const [k, v] = a.slice(2).split('=', 2);
      const value = v ?? (SWITCHES.has(k) ? 'true' : (argv[++i] ?? ''));
      if (k === 'image') images.push(value);
      else flags.set(k, value);
    } else positional.push(a);
  }
  return { positional, flags, images };
}

function parseIds(text: string | undefined): number[] {
  if (!text) throw new ErnieError('BAD_REQUEST', '--ids is required, e.g. --ids 5,17,33');
  const ids = text.split(',').map((s) => Number(s.trim()));
  if (ids.some((n) => !Number.isInteger(n) || n < 0)) throw new ErnieError('BAD_REQUEST', `--ids must be comma-separated non-negative integers, got "${text}"`);
  return ids;
}

async function openModel(path: string): Promise<{ config: ErnieConfig; weights: WeightSource }> {
  if ((await stat(path)).isDirectory()) return openFolderWeights(nodeFolder(path));
  if (path.endsWith('.gguf')) return openGgufWeights(fromPath(path));
  throw new ErnieError('UNSUPPORTED', `${path}: expected an HF checkpoint folder (config.json + *.safetensors) or a .gguf file`);
}

async function main(argv: string[]): Promise<void> {
  const { positional, flags, images } = parseArgs(argv);
  const [command, modelPath] = positional;
  if (!command || !modelPath || !['logits', 'generate', 'chat', 'serve', 'convert', 'download'].includes(command)) {
    console.error(USAGE);
    process.exitCode = 2;
    return;
  }
  if (command === 'chat') return chat(modelPath, flags);
  if (command === 'serve') return serve(modelPath, flags);
  if (command === 'convert') return convert(modelPath, flags);
  if (command === 'download') return download(modelPath, flags);
  const ids = parseIds(flags.get('ids'));
  if ((await stat(modelPath)).isDirectory() && (await isVlFolder(nodeFolder(modelPath)))) return vl(command, modelPath, ids, images, flags);
  if (images.length) throw new ErnieError('BAD_REQUEST', `--image needs an ERNIE-4.5-VL model; ${modelPath} is a text-only model`);
  const ctx = new GpuContext(await acquireDevice(await nodeGpu()));
  const { config, weights: source } = await openModel(modelPath);
  const t0 = performance.now();
  let shown = -1;
  const weights = await loadWeights(ctx, config, source, {
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
  ctx.destroy();
}

/** logits / generate on an ERNIE-4.5-VL checkpoint folder, with the --image files preprocessed as HF does. */
async function vl(command: string, modelPath: string, ids: number[], imagePaths: string[], flags: Map<string, string>): Promise<void> {
  const ctx = new GpuContext(await acquireDevice(await nodeGpu()));
  const { config, preprocessor, forward } = await loadErnieVlFromFolder(ctx, nodeFolder(modelPath));
  const images = imagePaths.map((path) => preprocessImage(decodeImage(readFileSync(path), { source: path }), preprocessor, path));
  const V = config.text.vocabSize;
  if (command === 'logits') {
    const out = flags.get('out');
    if (!out) throw new ErnieError('BAD_REQUEST', '--out <file.npy> is required');
    const { logits } = await forward.prefill(ids, images, { allLogits: true });
    writeFileSync(out, npyFloat32(logits!, [ids.length, V]));
    console.log(`wrote ${out}: float32 [${ids.length}, ${V}]`);
  } else {
    const maxTokens = Number(flags.get('max-tokens') ?? 24);
    const options = { temperature: Number(flags.get('temperature') ?? 0), topK: Number(flags.get('top-k') ?? 0), topP: Number(flags.get('top-p') ?? 1) };
    const rng = new Rng(Number(flags.get('seed') ?? 0));
    const result = ctx.createBuffer('next token', 4);
    await forward.prefill(ids, images);
    const generated: number[] = [];
    for (let i = 0; i < maxTokens; i++) {
      sample(ctx, { logits: forward.logitsBuffer, row: 0, vocab: V, result, options, u: rng.uniform() });
      const [id] = await ctx.readU32(result, 0, 1);
      generated.push(id);
      if (config.text.eosTokenIds.includes(id) || i === maxTokens - 1) break;
      await forward.decode([id]);
    }
    console.log(`prompt ids:    ${ids.join(' ')}`);
    console.log(`generated ids: ${generated.join(' ')}`);
  }
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

/** Serves the model over HTTP until the process is stopped (Ctrl-C). */
async function serve(modelPath: string, flags: Map<string, string>): Promise<void> {
  const port = Number(flags.get('port') ?? 8080);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ErnieError('BAD_REQUEST', `--port must be 0-65535, got "${flags.get('port')}"`);
  const engine = await loadEngine({
    model: nodeFolder(modelPath),
    tokenizer: nodeFolder(flags.get('tokenizer') ?? modelPath),
    gpu: await nodeGpu(),
  });
  const running = await serveEngine(engine, { port, host: flags.get('host') ?? '127.0.0.1', apiKey: flags.get('api-key') });
  console.log(`serving "${engine.modelName}" at ${running.baseURL} (POST /chat/completions, POST /completions, GET /models)`);
  const stop = () => {
    void running.close().then(() => engine.dispose());
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
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
    keep: flags.has('keep') && flags.get('keep') !== 'false',
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
async function download(url: string, flags: Map<string, string>): Promise<void> {
  const out = flags.get('out');
  if (!out) throw new ErnieError('BAD_REQUEST', '--out <dir> is required');
  const parallel = Number(flags.get('parallel') ?? 4);
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
  const msg = e instanceof ErnieError ? `${e.name} [${e.code}]: ${e.message}` : String((e as Error)?.stack ?? e);
  console.error(msg);
  process.exitCode = 1;
});
