import { defineConfig } from 'vitest/config';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Plugin } from 'vite';

/**
 * `npm run dev` prints http://localhost:5173/: send that root URL to the demo page. The page's
 * manifest and icons (demo/public/, the demo build's public folder) are served beside it, and
 * its catalogue's tiny model from dist-demo/models/ once `npm run build:demo` has written it.
 */
const DEMO_PATH = '/demo/';
function demoAtRoot(): Plugin {
  const publicDir = resolve(import.meta.dirname, 'demo/public');
  return {
    name: 'ernie-demo-at-root',
    configureServer(server) {
      server.middlewares.use((req, res, next) => {
        const path = (req.url ?? '/').split('?')[0]!;
        if (path.startsWith(DEMO_PATH)) {
          const rest = path.slice(DEMO_PATH.length);
          if (rest && !rest.includes('/') && existsSync(resolve(publicDir, rest))) req.url = `/demo/public/${rest}`;
          else if (rest.startsWith('models/')) req.url = `/dist-demo/${rest}`;
          return next();
        }
        if (path !== '/' && path !== '/index.html') return next();
        res.statusCode = 302;
        res.setHeader('Location', DEMO_PATH);
        res.end();
      });
    },
  };
}

// One config for three jobs:
//  - `vite` serves the demo page (demo/index.html, where / redirects) with the library from src/;
//  - `vite build` builds the npm package (dist/) with every .wgsl inlined through `?raw`;
//  - `vitest` runs the tests (kernels on real WebGPU through Dawn/SwiftShader in Node).
export default defineConfig({
  root: '.',
  plugins: [demoAtRoot()],
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
      external: [/^node:/, 'webgpu', '@huggingface/jinja', '@huggingface/tokenizers', 'comlink', 'idb-keyval', 'fast-png', 'jpeg-js', /^@noble\/hashes/],
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
