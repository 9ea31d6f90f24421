// `npm run bench:store`: the model store's download throughput from a 127.0.0.1 server, into a
// folder (Node) and into IndexedDB (headless Chromium), the re-hash (verify) throughput, and the
// cost of SHA-256 itself (@noble/hashes incremental vs WebCrypto one-shot) in both.
// The package is synthetic (random bytes in a valid manifest, ~230 MB at the default size:
// 16-expert, 4-layer model of hidden 1024 in f16; expert shards of 3 MiB, like 21B's 3.7 MB).
// Usage: npm run bench:store -- [--hidden 1024] [--skip-browser]
import { randomFillSync, createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { sha256 } from '@noble/hashes/sha2.js';
import { parseConfig } from '../src/model/ernie45/config.js';
import { coreShardName, expectedTensors, expertShardName } from '../src/package/tensors.js';
import { tensorBytes, matrixDims } from '../src/quant/layouts.js';
import { ModelStore } from '../src/store/store.js';
import { folderBackend } from '../src/store/folder_backend.js';
import { startPackageServer } from '../test/store/server.js';
import { openHarness } from '../test/e2e/browser.js';

const args = new Map<string, string>();
process.argv.slice(2).forEach((a, i, all) => a.startsWith('--') && args.set(a.slice(2), all[i + 1]?.startsWith('--') ? '1' : (all[i + 1] ?? '1')));
const H = Number(args.get('hidden') ?? 1024);
const MB = 1e6;

function buildPackage(dir: string): number {
  const config = {
    architectures: ['Ernie4_5_MoeForCausalLM'], model_type: 'ernie4_5_moe', hidden_size: H, intermediate_size: (H * 11) / 4,
    num_hidden_layers: 4, num_attention_heads: H / 128, num_key_value_heads: 2, head_dim: 128, vocab_size: 16384,
    moe_num_experts: 16, moe_k: 4, moe_intermediate_size: H / 2, moe_num_shared_experts: 2, moe_layer_start_index: 1,
    moe_layer_end_index: 3, moe_layer_interval: 1, rms_norm_eps: 1e-5, max_position_embeddings: 4096, tie_word_embeddings: true,
    bos_token_id: 1, eos_token_id: 2, pad_token_id: 0, rope_theta: 500000, use_bias: false,
  };
  const cfg = parseConfig(config);
  const shards = new Map<string, { kind: 'core' | 'expert'; layer?: number; expert?: number; size: number; parts: { offset: number; bytes: number }[] }>();
  const tensors: unknown[] = [];
  let core = 0;
  for (const t of expectedTensors(cfg)) {
    const layout = t.shape.length === 1 || t.role === 'router' ? 'f32' : 'f16';
    const [rows, cols] = matrixDims(t.shape);
    const bytes = tensorBytes(layout, rows, cols);
    let file: string;
    if (t.role === 'expert') file = expertShardName(cfg, t.layer!, t.expert!);
    else {
      file = coreShardName(core);
      if ((shards.get(file)?.size ?? 0) + bytes > 64 * 2 ** 20) file = coreShardName(++core);
    }
    let s = shards.get(file);
    if (!s) shards.set(file, (s = { kind: t.role === 'expert' ? 'expert' : 'core', layer: t.layer, expert: t.expert, size: 0, parts: [] }));
    const offset = Math.ceil(s.size / 256) * 256;
    s.size = offset + bytes;
    tensors.push({ name: t.name, shape: t.shape, scheme: layout, layout, shard: file, offset, bytes });
  }
  let total = 0;
  const list = [...shards].map(([file, s]) => {
    const data = randomFillSync(Buffer.alloc(s.size));
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    writeFileSync(join(dir, file), data);
    total += s.size;
    return { file, kind: s.kind, ...(s.kind === 'expert' ? { layer: s.layer, expert: s.expert } : {}), bytes: s.size, sha256: createHash('sha256').update(data).digest('hex') };
  });
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ magic: 'ernie-webgpu-package', formatVersion: 1, config, files: [], shards: list, tensors }));
  return total;
}

function hashCostNode(): { noble: number; webcrypto: number } {
  const buf = randomFillSync(new Uint8Array(64 * 2 ** 20));
  let t = performance.now();
  const h = sha256.create();
  for (let o = 0; o < buf.length; o += 2 ** 20) h.update(buf.subarray(o, o + 2 ** 20));
  h.digest();
  const noble = buf.length / MB / ((performance.now() - t) / 1000);
  t = performance.now();
  createHash('sha256').update(buf).digest();
  return { noble, webcrypto: buf.length / MB / ((performance.now() - t) / 1000) };
}

const dir = mkdtempSync(join(tmpdir(), 'ernie-bench-pkg-'));
const bytes = buildPackage(dir);
const server = await startPackageServer({ pkg: dir });
const url = `${server.baseUrl}/pkg/`;
console.log(`# ${new Date().toISOString().slice(0, 10)} bench:store, synthetic package ${(bytes / MB).toFixed(1)} MB (hidden ${H}), server 127.0.0.1`);
try {
  const store = new ModelStore(folderBackend(mkdtempSync(join(tmpdir(), 'ernie-bench-store-'))));
  let t = performance.now();
  await store.download(url);
  const nodeDl = bytes / MB / ((performance.now() - t) / 1000);
  t = performance.now();
  const v = await store.verify(url);
  if (v.dropped.length) throw new Error(`verify dropped ${v.dropped.join(', ')}`);
  const nodeVerify = bytes / MB / ((performance.now() - t) / 1000);
  const nodeHash = hashCostNode();
  console.log(`| Node, folder backend | download ${nodeDl.toFixed(0)} MB/s | verify (read + SHA-256) ${nodeVerify.toFixed(0)} MB/s | SHA-256 @noble/hashes ${nodeHash.noble.toFixed(0)} MB/s, node:crypto ${nodeHash.webcrypto.toFixed(0)} MB/s |`);

  if (!args.has('skip-browser')) {
    const h = await openHarness({ requireAdapter: false });
    try {
      const r = await h.runInPage<{ download: number; verify: number; noble: number; webcrypto: number; chunkBytes: number }>('/bench/store_page.ts', 'benchIndexedDb', { url, bytes }, { timeoutMs: 600_000 });
      console.log(`| Chromium, IndexedDB (${r.chunkBytes / 2 ** 20} MiB chunks) | download ${r.download.toFixed(0)} MB/s | verify (read + SHA-256) ${r.verify.toFixed(0)} MB/s | SHA-256 @noble/hashes ${r.noble.toFixed(0)} MB/s, WebCrypto ${r.webcrypto.toFixed(0)} MB/s |`);
    } finally {
      await h.close();
    }
  }
} finally {
  await server.close();
}
