// Node module hook: `import src from './x.wgsl?raw'` yields the file's text, as Vite does.
// Lets the CLI and benchmarks run from TypeScript sources (tsx) with the same imports.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

export async function load(url, context, nextLoad) {
  if (url.endsWith('.wgsl?raw') || url.endsWith('.wgsl')) {
    const path = fileURLToPath(url.replace(/\?raw$/, ''));
    const text = await readFile(path, 'utf8');
    return { format: 'module', source: `export default ${JSON.stringify(text)};`, shortCircuit: true };
  }
  return nextLoad(url, context);
}
