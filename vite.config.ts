import { defineConfig } from 'vitest/config';
import { resolve } from 'node:path';

// One config for three jobs:
//  - `vite` serves the demo page (demo/index.html) with the library from src/;
//  - `vite build` builds the npm package (dist/) with every .wgsl inlined through `?raw`;
//  - `vitest` runs the tests (kernels on real WebGPU through Dawn/SwiftShader in Node).
export default defineConfig({
  root: '.',
  build: {
    target: 'es2022',
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: true,
    lib: {
      entry: {
        index: resolve(import.meta.dirname, 'src/index.ts'),
        node: resolve(import.meta.dirname, 'src/node.ts'),
        worker: resolve(import.meta.dirname, 'src/worker/index.ts'),
        cli: resolve(import.meta.dirname, 'src/cli/main.ts'),
      },
      formats: ['es'],
    },
    rollupOptions: {
      external: [/^node:/, 'webgpu', '@huggingface/jinja', '@huggingface/tokenizers', 'comlink', 'idb-keyval', /^@noble\/hashes/],
    },
  },
  server: { port: 5173, strictPort: false },
  test: {
    include: ['test/**/*.test.ts'],
    // Dawn's native module is happiest in child processes, one device per file.
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 120_000,
    hookTimeout: 120_000,
    setupFiles: ['test/setup.ts'],
  },
});
