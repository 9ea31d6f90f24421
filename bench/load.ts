// `npm run bench:load`: what verifying a package's SHA-256 costs on the engine's load path.
//  1. SHA-256 throughput of WebCrypto (crypto.subtle.digest, what the load path uses) on one
//     shard held in memory, at an expert shard's size and at the 64 MiB core-shard size;
//  2. a converted package (the k256 fixture, q4) read tensor by tensor as the uploader reads it:
//     verified (whole shards, hashed: the load path) against unverified byte-range reads;
//  3. the same package over HTTP with added latency, with and without reading expert shards ahead.
// No GPU is needed. Usage: npm run bench:load -- [--reps 3]
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { convertModel } from '../src/convert/convert.js';
import { nodeFolder } from '../src/formats/node_source.js';
import { urlFolder } from '../src/formats/sources.js';
import { openPackageWeights } from '../src/model/ernie45/package_source.js';
import { nodeDirectoryWriter } from '../src/package/node_writer.js';
import { sha256Hex } from '../src/package/hash.js';

const args = new Map<string, string>();
process.argv.slice(2).forEach((a, i, all) => a.startsWith('--') && args.set(a.slice(2), all[i + 1] ?? '1'));
const reps = Number(args.get('reps') ?? 3);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const MiB = 2 ** 20;

console.log(`# ${new Date().toISOString().slice(0, 10)} node ${process.version}, ${(await import('node:os')).cpus()[0]?.model}`);

// 1. SHA-256 throughput
for (const size of [6 * MiB, 64 * MiB]) {
  const buf = new Uint8Array(size);
  for (let i = 0; i < size; i += 4096) buf[i] = i & 0xff;
  await sha256Hex(buf);
  const times: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    await sha256Hex(buf);
    times.push(performance.now() - t0);
  }
  const ms = median(times);
  console.log(`sha256 ${size / MiB} MiB: ${ms.toFixed(1)} ms, ${(size / MiB / (ms / 1000)).toFixed(0)} MiB/s`);
}

// 2. the load path on a real package
const dir = await mkdtemp(join(tmpdir(), 'ernie-bench-load-'));
try {
  await convertModel({ input: { kind: 'hf', folder: nodeFolder('test/fixtures/ernie45-moe-k256') }, experts: 'q4', core: 'q4', out: nodeDirectoryWriter(dir), maxShardBytes: 1 * MiB, effort: 'fast' });
  const verified: number[] = [], plain: number[] = [], hashed: number[] = [];
  let bytes = 0, shards = 0, peak = 0;
  for (let r = 0; r < reps; r++) {
    const { weights, pkg, stats } = await openPackageWeights(nodeFolder(dir));
    const names = pkg.manifest.tensors.map((t) => t.name);
    let t0 = performance.now();
    for (const n of names) await weights.readRaw(n);
    verified.push(performance.now() - t0);
    hashed.push(stats.hashMs);
    bytes = stats.bytesVerified;
    shards = stats.shardsRead;
    peak = stats.peakHeldBytes;
    t0 = performance.now();
    for (const n of names) await pkg.readTensor(n);
    plain.push(performance.now() - t0);
  }
  const v = median(verified), p = median(plain), h = median(hashed);
  console.log(`k256 q4 package, ${shards} shards, ${(bytes / MiB).toFixed(1)} MiB: verified load-path reads ${v.toFixed(0)} ms (SHA-256 ${h.toFixed(0)} ms of it), unverified range reads ${p.toFixed(0)} ms; peak held ${(peak / MiB).toFixed(2)} MiB`);

  // 3. the same over HTTP from 127.0.0.1 with 20 ms added to every answer (a nearby CDN):
  //    expert shards read ahead of the uploader (the default) against one at a time.
  const server = createServer(async (req, res) => {
    const bytes = await readFile(join(dir, decodeURIComponent(req.url!.slice(1)))).catch(() => undefined);
    await new Promise((ok) => setTimeout(ok, 20));
    if (!bytes) return void res.writeHead(404).end();
    const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
    if (!m) return void res.writeHead(200, { 'Content-Length': bytes.length }).end(bytes);
    const a = Number(m[1]), b = Math.min(Number(m[2]), bytes.length - 1);
    res.writeHead(206, { 'Content-Range': `bytes ${a}-${b}/${bytes.length}`, 'Content-Length': b - a + 1 }).end(bytes.subarray(a, b + 1));
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  for (const prefetch of [0, 2]) {
    const times: number[] = [];
    for (let r = 0; r < reps; r++) {
      const { weights, pkg } = await openPackageWeights(urlFolder(base), undefined, { prefetch });
      const t0 = performance.now();
      for (const t of pkg.manifest.tensors) await weights.readRaw(t.name);
      times.push(performance.now() - t0);
    }
    console.log(`same package over HTTP (+20 ms per answer), expert shards read ahead: ${prefetch}: ${median(times).toFixed(0)} ms`);
  }
  server.closeAllConnections();
  server.close();
} finally {
  await rm(dir, { recursive: true, force: true });
}
