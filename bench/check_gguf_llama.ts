// Check (not a CI test: CI has no node-llama-cpp): llama.cpp loads the writer's GGUFs and decodes
// the same greedy tokens as this engine. For each weight type a small random ERNIE GGUF is made
// (bench/make_gguf.ts SMALL_GEOMETRY), llama.cpp (node-llama-cpp, CPU) decodes N greedy tokens,
// and our engine (Node + Dawn) runs the same sequence teacher-forced: at every position its argmax
// must be llama.cpp's token, or, where they differ, the two logits must be a near-tie in ours
// (within 5% of our logit spread: llama.cpp quantizes activations to 8 bits for quantized matmuls,
// Q8_K blocks of 256 for the K types; measured gaps are in BENCHMARKS.md).
//   NODE_LLAMA_CPP=/path/node_modules/node-llama-cpp npx tsx --import ./scripts/register-wgsl.mjs bench/check_gguf_llama.ts [tokens] [types]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { acquireDevice } from '../src/gpu/device.js';
import { GpuContext } from '../src/gpu/context.js';
import { nodeGpu } from '../src/node.js';
import { fromPath } from '../src/formats/node_source.js';
import { openGgufWeights } from '../src/model/ernie45/gguf_source.js';
import { loadWeights } from '../src/model/ernie45/weights.js';
import { ErnieForward } from '../src/model/ernie45/forward.js';
import type { GgufWeightType } from '../src/formats/gguf_ernie_writer.js';
import { SMALL_GEOMETRY, makeErnieGguf } from './make_gguf.js';

const [tokensArg = '32', typesArg = 'f32,f16,q8_0,q4_0,q4_k'] = process.argv.slice(2);
if (!process.env.NODE_LLAMA_CPP) {
  console.error('set NODE_LLAMA_CPP=<path to node_modules/node-llama-cpp> (npm i node-llama-cpp@3 in a scratch folder)');
  process.exit(2);
}
const { getLlama } = await import(pathToFileURL(`${process.env.NODE_LLAMA_CPP}/dist/index.js`).href);
const llama = await getLlama({ gpu: false });
const ctx = new GpuContext(await acquireDevice(await nodeGpu()));
const dir = mkdtempSync(join(tmpdir(), 'gguf-check-'));
const prompt = [1129];
const N = Number(tokensArg);
let failed = 0;
try {
  for (const type of typesArg.split(',') as GgufWeightType[]) {
    const path = join(dir, `small-${type}.gguf`);
    await makeErnieGguf(path, { geometry: SMALL_GEOMETRY, weightType: type, seed: 7 });
    const model = await llama.loadModel({ modelPath: path });
    const context = await model.createContext({ contextSize: 256, threads: 2 });
    const theirs: number[] = [];
    for await (const t of context.getSequence().evaluate(prompt, { temperature: 0 })) {
      theirs.push(t);
      if (theirs.length >= N) break;
    }
    await context.dispose();
    await model.dispose();

    const { config, weights } = await openGgufWeights(fromPath(path));
    const forward = new ErnieForward(ctx, config, await loadWeights(ctx, config, weights));
    const seq = [...prompt, ...theirs.slice(0, -1)];
    const { logits } = await forward.run(seq, { allLogits: true });
    const V = config.vocabSize;
    let same = 0;
    const ties: string[] = [], bad: string[] = [];
    for (let i = 0; i < theirs.length; i++) {
      const row = logits!.subarray((prompt.length - 1 + i) * V, (prompt.length + i) * V);
      let best = 0, lo = Infinity;
      for (let v = 0; v < V; v++) {
        if (row[v]! > row[best]!) best = v;
        lo = Math.min(lo, row[v]!);
      }
      if (best === theirs[i]) { same++; continue; }
      const gap = (row[best]! - row[theirs[i]!]!) / (row[best]! - lo);
      (gap < 0.05 ? ties : bad).push(`#${i}: ours ${best}, llama.cpp ${theirs[i]} (gap ${(100 * gap).toFixed(2)}% of spread)`);
    }
    const ok = bad.length === 0;
    if (!ok) failed++;
    console.log(`${type}: ${ok ? 'OK' : 'FAIL'}: ${same}/${theirs.length} argmax equal${ties.length ? `; near-ties ${ties.join(', ')}` : ''}${bad.length ? `; MISMATCH ${bad.join(', ')}` : ''}`);
    console.log(`  llama.cpp: ${theirs.join(' ')}`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
  ctx.destroy();
}
process.exit(failed ? 1 : 0);
