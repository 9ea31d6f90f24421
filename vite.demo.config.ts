// `npm run build:demo`: the chat app (demo/) as a static site in dist-demo/, with a relative
// base path so it runs from any sub-folder, and sw.js precaching every file the build wrote.
// The tiny demo models (text and VL) are converted into dist-demo/models/ by scripts/build-demo-model.ts.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { defineConfig, type Plugin } from 'vite';

const DEMO = resolve(import.meta.dirname, 'demo');

/** Writes sw.js from demo/sw.js with the list of the built files (public/ ones included). */
function precacheServiceWorker(): Plugin {
  return {
    name: 'ernie-demo-precache-sw',
    apply: 'build',
    generateBundle(_opts, bundle) {
      const files = [...Object.keys(bundle).filter((f) => !f.endsWith('.map')), ...readdirSync(resolve(DEMO, 'public'))].sort();
      const version = createHash('sha256');
      for (const f of Object.keys(bundle).sort()) {
        const b = bundle[f]!;
        version.update(f).update(b.type === 'chunk' ? b.code : typeof b.source === 'string' ? b.source : Buffer.from(b.source));
      }
      const source = readFileSync(resolve(DEMO, 'sw.js'), 'utf8')
        .replace("'__VERSION__'", JSON.stringify(version.digest('hex').slice(0, 16)))
        .replace('__PRECACHE__', JSON.stringify(['./', ...new Set(['index.html', ...files])].map((f) => (f === './' ? f : `./${f}`))));
      this.emitFile({ type: 'asset', fileName: 'sw.js', source });
    },
  };
}

export default defineConfig({
  root: DEMO,
  base: './',
  publicDir: resolve(DEMO, 'public'),
  plugins: [precacheServiceWorker()],
  worker: { format: 'es' },
  build: {
    target: 'es2022',
    outDir: resolve(import.meta.dirname, 'dist-demo'),
    emptyOutDir: true,
    sourcemap: false,
    chunkSizeWarningLimit: 2048,
  },
  preview: { host: '127.0.0.1', port: 4173 },
});
