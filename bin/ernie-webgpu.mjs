#!/usr/bin/env node
// A source checkout runs the TypeScript through tsx (with .wgsl imported as text, the way
// Vite does), so edits show up at once; the published package runs the built dist/cli.js.
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const source = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
if (existsSync(source)) {
  const { register } = await import('tsx/esm/api');
  register();
  await import(new URL('../scripts/register-wgsl.mjs', import.meta.url).href);
  await import(pathToFileURL(source).href);
} else {
  await import(new URL('../dist/cli.js', import.meta.url).href);
}
