#!/usr/bin/env node
// The published package runs the built CLI; a source checkout runs the TypeScript through tsx,
// with .wgsl files imported as text the way Vite does.
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const built = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
if (existsSync(built)) {
  await import(pathToFileURL(built).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import(new URL('../scripts/register-wgsl.mjs', import.meta.url).href);
  await import(new URL('../src/cli/main.ts', import.meta.url).href);
}
