// Bundles bench/run.ts (and everything it imports, shaders inlined) into one ES module for
// machines without the project's node_modules (bench/device.sh). `webgpu` (Dawn's native
// addon) stays external: bench/device-pack.sh carries it beside the bundle.
// Usage: node bench/bundle.mjs <out.mjs> [entry.ts]   (entry defaults to bench/run.ts; esbuild
// comes with tsx, a dev dependency)
import { build } from 'esbuild';
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

const out = process.argv[2] ?? '.devcarry/bench.mjs';
const entry = process.argv[3] ?? 'bench/run.ts';
await build({
  entryPoints: [entry],
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  outfile: out,
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
console.log(`wrote ${out}`);
