// Makes an ERNIE 4.5 MoE GGUF with random weights (llama.cpp's ernie4_5-moe layout), streamed
// to disk. The tokenizer is the GGUF fixtures' (2,048 SentencePiece pieces), padded to the
// geometry's vocabulary as llama.cpp's converter pads ERNIE's.
//   npx tsx bench/make_gguf.ts out.gguf [--type q4_0|q4_k|q8_0|f16|f32] [--layers 4] [--seed 1] [--geometry 21b|small]
//        [--workers N] [--tokenizer file.gguf]
// As a function: makeErnieGguf(path, { geometry, weightType, workers }) (bench/device.sh and bench:peers use it).
// --workers N (default: the cores less one, at most 8) makes the random rows on N worker threads
// (this same module, started as a worker); the bytes are the same for any N.
import { availableParallelism } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { GgufFile } from '../src/formats/gguf.js';
import { writeGguf, type GgufLayout } from '../src/formats/gguf_writer.js';
import { ERNIE_21B_A3B, randomErnieGgufSpec, randomRows, type ErnieGeometry, type GgufWeightType, type RandomRowsJob } from '../src/formats/gguf_ernie_writer.js';
import { fileSink } from '../src/formats/node_sink.js';
import { fromPath } from '../src/formats/node_source.js';
import { ggufTokenizerEntries } from '../src/text/gguf_tokenizer.js';

/** Whose tokenizer the files get (a bundled copy of this module is given the path with --tokenizer). */
const TOKENIZER_GGUF = fileURLToPath(new URL('../test/fixtures/gguf/ernie45-moe-tiny-q4_0.gguf', import.meta.url));
const WORKER_MARK = 'ernie-gguf-rows';

/** A small geometry every weight type fits (rows multiples of 256), for checks. */
export const SMALL_GEOMETRY: ErnieGeometry = {
  hidden: 256, layers: 3, heads: 4, kvHeads: 2, headDim: 64, intermediate: 512,
  experts: 8, topK: 2, expertWidth: 256, sharedExperts: 1, denseLeadLayers: 1, vocab: 2048,
};

export interface MakeGgufOptions {
  geometry?: ErnieGeometry;
  weightType?: GgufWeightType;
  seed?: number;
  name?: string;
  onProgress?: (written: number, total: number) => void;
  /** Worker threads making the rows (default: the cores less one, at most 8; 0 or 1: this thread). */
  workers?: number;
  /** A GGUF whose tokenizer the file gets (default: the fixtures' tiny model). */
  tokenizerGguf?: string;
}

export const defaultWorkers = () => Math.min(8, Math.max(1, availableParallelism() - 1));

export async function makeErnieGguf(path: string, opts: MakeGgufOptions = {}): Promise<GgufLayout> {
  const geometry = opts.geometry ?? { ...ERNIE_21B_A3B, layers: 4 };
  const tokenizer = ggufTokenizerEntries(await GgufFile.open(fromPath(opts.tokenizerGguf ?? TOKENIZER_GGUF)), geometry.vocab);
  const workers = opts.workers ?? defaultWorkers();
  const pool = workers > 1 ? rowsPool(workers) : undefined;
  const spec = randomErnieGgufSpec({
    geometry, weightType: opts.weightType ?? 'q4_0', tokenizer, seed: opts.seed, name: opts.name,
    ...(pool ? { makeRows: pool.make, inFlight: 2 * workers } : {}),
  });
  const sink = fileSink(path);
  try {
    return await writeGguf(sink, spec, { onProgress: opts.onProgress });
  } catch (e) {
    await sink.abort();
    throw e;
  } finally {
    await pool?.close();
  }
}

/** `n` worker threads running randomRows, each job to the least busy one. */
function rowsPool(n: number): { make: (job: RandomRowsJob) => Promise<Uint8Array>; close: () => Promise<void> } {
  const threads = Array.from({ length: n }, () => {
    // under tsx this module is TypeScript: the worker registers tsx's loader before importing it
    const self = new URL(import.meta.url);
    const w = self.pathname.endsWith('.ts')
      ? new Worker(`import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((t) => t.register()).then(() => import(${JSON.stringify(self.href)}))`, { eval: true, workerData: WORKER_MARK })
      : new Worker(self, { workerData: WORKER_MARK });
    const waiting: { ok: (b: Uint8Array) => void; fail: (e: unknown) => void }[] = [];
    w.on('message', (b: Uint8Array) => waiting.shift()?.ok(b));
    w.on('error', (e) => waiting.splice(0).forEach((p) => p.fail(e)));
    return { w, waiting };
  });
  return {
    make: (job) => new Promise((ok, fail) => {
      const t = threads.reduce((a, b) => (b.waiting.length < a.waiting.length ? b : a));
      t.waiting.push({ ok, fail });
      t.w.postMessage(job);
    }),
    close: async () => void (await Promise.all(threads.map((t) => t.w.terminate()))),
  };
}

if (!isMainThread && workerData === WORKER_MARK) {
  parentPort!.on('message', (job: RandomRowsJob) => {
    const bytes = randomRows(job);
    parentPort!.postMessage(bytes, [bytes.buffer as ArrayBuffer]);
  });
}

if (isMainThread && import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const argv = process.argv.slice(2);
  const flag = (name: string) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const out = argv[0];
  if (!out || out.startsWith('--')) {
    console.error('usage: npx tsx bench/make_gguf.ts out.gguf [--type q4_0|q4_k|q8_0|f16|f32] [--layers N] [--seed N] [--geometry 21b|small] [--workers N] [--tokenizer file.gguf]');
    process.exit(2);
  }
  const base = flag('geometry') === 'small' ? SMALL_GEOMETRY : ERNIE_21B_A3B;
  const geometry = { ...base, layers: Number(flag('layers') ?? (base === ERNIE_21B_A3B ? 4 : base.layers)) };
  const t0 = performance.now();
  let last = 0;
  const layout = await makeErnieGguf(out, {
    geometry, weightType: (flag('type') ?? 'q4_0') as GgufWeightType, seed: Number(flag('seed') ?? 1),
    workers: flag('workers') === undefined ? undefined : Number(flag('workers')), tokenizerGguf: flag('tokenizer'),
    onProgress: (w, total) => {
      if (w - last > 512 * 2 ** 20 || w === total) console.error(`${(w / 2 ** 20).toFixed(0)} / ${(total / 2 ** 20).toFixed(0)} MiB`), (last = w);
    },
  });
  const s = (performance.now() - t0) / 1000;
  console.log(`${out}: ${layout.tensors.length} tensors, ${(layout.fileSize / 2 ** 30).toFixed(2)} GiB in ${s.toFixed(1)} s (${(layout.fileSize / 2 ** 20 / s).toFixed(0)} MiB/s, ${flag('workers') ?? defaultWorkers()} workers)`);
}
