// Bundles the device script's programs (each with everything it imports, shaders inlined) into
// one ES module each, for machines without the project's node_modules (bench/device.sh):
//   bench.mjs      bench/run.ts          (npm run bench)
//   make-gguf.mjs  bench/make_gguf.ts    (the GGUF writer; it starts itself as its worker threads)
//   peers.mjs      bench/device_peers.ts (ours and llama.cpp on that GGUF)
// `webgpu` (Dawn's native addon) stays external: bench/device-pack.sh carries it beside them.
// Usage: node bench/bundle.mjs <out folder>   (esbuild comes with tsx, a dev dependency)
import { build } from 'esbuild';
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

const outdir = process.argv[2] ?? '.devcarry';
await build({
  entryPoints: [{ in: 'bench/run.ts', out: 'bench' }, { in: 'bench/make_gguf.ts', out: 'make-gguf' }, { in: 'bench/device_peers.ts', out: 'peers' }],
  outExtension: { '.js': '.mjs' },
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  outdir,
  external: ['webgpu'],
  // bundled CommonJS dependencies may call require(): give the ES module one
  banner: { js: "import { createRequire as __ernieRequire } from 'node:module'; const require = __ernieRequire(import.meta.url);" },
  logLevel: 'warning',
  plugins: [{
    name: 'wgsl-raw',
    setup(b) {
      b.onResolve({ filter: /\.wgsl\?raw$/ }, (a) => ({ path: resolve(dirname(a.importer), a.path.replace(/\?raw$/, '')), namespace: 'wgsl' }));
      b.onLoad({ filter: /.*/, namespace: 'wgsl' }, async (a) => ({ contents: await readFile(a.path, 'utf8'), loader: 'text' }));
    },
  }],
});
console.log(`wrote ${outdir}/{bench,make-gguf,peers}.mjs`);
