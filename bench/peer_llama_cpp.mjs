// Peer benchmark: llama.cpp (native CPU, through node-llama-cpp) decoding the same GGUF that
// `ernie-webgpu generate` decodes. node-llama-cpp is NOT a dependency of this package: install
// it elsewhere (`npm i node-llama-cpp@3` in a scratch folder) and point NODE_LLAMA_CPP at it:
//   NODE_LLAMA_CPP=/path/node_modules/node-llama-cpp node bench/peer_llama_cpp.mjs file.gguf [tokens] [threads]
import { pathToFileURL } from 'node:url';

const [file, tokensArg = '64', threadsArg = '2'] = process.argv.slice(2);
if (!file || !process.env.NODE_LLAMA_CPP) {
  console.error('usage: NODE_LLAMA_CPP=<path to node_modules/node-llama-cpp> node bench/peer_llama_cpp.mjs <file.gguf> [tokens] [threads]');
  process.exit(2);
}
const { getLlama } = await import(pathToFileURL(`${process.env.NODE_LLAMA_CPP}/dist/index.js`).href);
const llama = await getLlama({ gpu: false });
const model = await llama.loadModel({ modelPath: file });
const context = await model.createContext({ contextSize: 512, threads: Number(threadsArg) });
const sequence = context.getSequence();
const want = Number(tokensArg);
const prompt = [1129];
const t0 = performance.now();
let first = 0;
const out = [];
for await (const token of sequence.evaluate(prompt, { temperature: 0 })) {
  if (out.length === 0) first = performance.now();
  out.push(token);
  if (out.length >= want) break;
}
const t1 = performance.now();
console.log(`llama.cpp (node-llama-cpp, CPU, ${threadsArg} threads) ${file}`);
console.log(`generated ids: ${out.slice(0, 24).join(' ')}${out.length > 24 ? ' ...' : ''}`);
console.log(`prefill ${prompt.length} token + first token ${(first - t0).toFixed(0)} ms; decode ${out.length - 1} tokens at ${(((out.length - 1) * 1000) / (t1 - first)).toFixed(1)} tok/s`);
await context.dispose();
await model.dispose();
