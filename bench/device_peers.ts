// bench/device.sh's side by side on one GGUF (made by bench/make_gguf.ts): our engine in Node
// (Dawn) and llama.cpp's Vulkan build (node-llama-cpp, carried), greedy, each prompt length in
// turn from an empty cache, then `--tokens` decoded tokens. One engine per process (a crash or a
// timeout of one keeps the other's numbers): each writes its timings to --json; `--compare`
// names the other's file and prints the table with the ratios. Bundled for the device
// (bench/bundle.mjs), like bench/run.ts.
//   node peers.mjs --engine ours|llama --gguf f.gguf [--prompts 128,512] [--tokens 32]
//        [--llama-modules <folder holding node-llama-cpp>] [--gpu vulkan|cpu] [--json out.json] [--compare other.json]
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { ggufVocab, llamaCpp, oursInNode, peerPrompt, type PeerResult, tokensPerS } from './peer_runs.js';

const args = new Map<string, string>();
process.argv.slice(2).forEach((a, i, all) => a.startsWith('--') && args.set(a.slice(2), all[i + 1] ?? ''));
const need = (k: string) => args.get(k) || (console.error(`device_peers: --${k} is required`), process.exit(2));
const engine = need('engine');
const gguf = need('gguf');
const prompts = (args.get('prompts') || '128,512').split(',').map(Number);
const decode = Number(args.get('tokens') || 32);
const vocab = await ggufVocab(gguf);
const runs = prompts.map((n) => ({ prompt: peerPrompt(n, vocab), decode }));

interface Saved extends PeerResult { engine: string }
let result: Saved;
if (engine === 'ours') {
  result = { engine: 'ernie-webgpu, Node + Dawn', ...(await oursInNode(gguf, runs)) };
} else if (engine === 'llama') {
  const gpu = (args.get('gpu') || 'vulkan') === 'cpu' ? false : 'vulkan';
  result = { engine: `llama.cpp ${gpu || 'CPU'} (node-llama-cpp)`, ...(await llamaCpp(need('llama-modules'), gguf, runs, { gpu })) };
} else {
  throw new Error(`--engine ${engine}: ours or llama`);
}
console.log(`${result.engine}: loaded in ${result.loadS.toFixed(1)} s; ${result.what}`);
for (const t of result.timings) {
  const v = tokensPerS(t);
  console.log(`  prompt ${t.prefillTokens}: prefill ${v.prefill.toFixed(1)} tok/s (first token included), decode ${t.decodeTokens} tokens ${v.decode.toFixed(2)} tok/s; ids ${t.ids.slice(0, 6).join(' ')}`);
}
if (args.get('json')) writeFileSync(args.get('json')!, JSON.stringify(result));

const other = args.get('compare');
if (other && existsSync(other)) {
  const peer = JSON.parse(readFileSync(other, 'utf8')) as Saved;
  const base = peer.engine.startsWith('llama') ? peer : result;
  console.log(`\n| engine | prompt | prefill tok/s | decode tok/s (${decode} tokens) | prefill / llama.cpp | decode / llama.cpp |\n|---|---|---|---|---|---|`);
  for (const r of [result, peer]) {
    r.timings.forEach((t, i) => {
      const v = tokensPerS(t), b = tokensPerS(base.timings[i]!);
      console.log(`| ${r.engine} (${r.what}) | ${t.prefillTokens} | ${v.prefill.toFixed(1)} | ${v.decode.toFixed(2)} | ${(v.prefill / b.prefill).toFixed(3)} | ${(v.decode / b.decode).toFixed(3)} |`);
    });
  }
} else if (other) {
  console.log(`(no ${other}: the other engine's step did not finish, so no ratios)`);
}
