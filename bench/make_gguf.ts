// Makes an ERNIE 4.5 MoE GGUF with random weights (llama.cpp's ernie4_5-moe layout), streamed
// to disk. The tokenizer is the GGUF fixtures' (2,048 SentencePiece pieces), padded to the
// geometry's vocabulary as llama.cpp's converter pads ERNIE's.
//   npx tsx bench/make_gguf.ts out.gguf [--type q4_0|q4_k|q8_0|f16|f32] [--layers 4] [--seed 1] [--geometry 21b|tiny]
// As a function: makeErnieGguf(path, { geometry, weightType }) (bench/device.sh and bench:peers use it).
import { pathToFileURL } from 'node:url';
import { GgufFile } from '../src/formats/gguf.js';
import { writeGguf, type GgufLayout } from '../src/formats/gguf_writer.js';
import { ERNIE_21B_A3B, randomErnieGgufSpec, type ErnieGeometry, type GgufWeightType } from '../src/formats/gguf_ernie_writer.js';
import { fileSink } from '../src/formats/node_sink.js';
import { fromPath } from '../src/formats/node_source.js';
import { ggufTokenizerEntries } from '../src/text/gguf_tokenizer.js';

const TOKENIZER_GGUF = new URL('../test/fixtures/gguf/ernie45-moe-tiny-q4_0.gguf', import.meta.url);

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
}

export async function makeErnieGguf(path: string, opts: MakeGgufOptions = {}): Promise<GgufLayout> {
  const geometry = opts.geometry ?? { ...ERNIE_21B_A3B, layers: 4 };
  const tokenizer = ggufTokenizerEntries(await GgufFile.open(fromPath(TOKENIZER_GGUF.pathname)), geometry.vocab);
  const spec = randomErnieGgufSpec({ geometry, weightType: opts.weightType ?? 'q4_0', tokenizer, seed: opts.seed, name: opts.name });
  const sink = fileSink(path);
  try {
    return await writeGguf(sink, spec, { onProgress: opts.onProgress });
  } catch (e) {
    await sink.abort();
    throw e;
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const argv = process.argv.slice(2);
  const flag = (name: string) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const out = argv[0];
  if (!out || out.startsWith('--')) {
    console.error('usage: npx tsx bench/make_gguf.ts out.gguf [--type q4_0|q4_k|q8_0|f16|f32] [--layers N] [--seed N] [--geometry 21b|small]');
    process.exit(2);
  }
  const base = flag('geometry') === 'small' ? SMALL_GEOMETRY : ERNIE_21B_A3B;
  const geometry = { ...base, layers: Number(flag('layers') ?? (base === ERNIE_21B_A3B ? 4 : base.layers)) };
  const t0 = performance.now();
  let last = 0;
  const layout = await makeErnieGguf(out, {
    geometry, weightType: (flag('type') ?? 'q4_0') as GgufWeightType, seed: Number(flag('seed') ?? 1),
    onProgress: (w, total) => {
      if (w - last > 512 * 2 ** 20 || w === total) console.error(`${(w / 2 ** 20).toFixed(0)} / ${(total / 2 ** 20).toFixed(0)} MiB`), (last = w);
    },
  });
  console.log(`${out}: ${layout.tensors.length} tensors, ${(layout.fileSize / 2 ** 30).toFixed(2)} GiB in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}
