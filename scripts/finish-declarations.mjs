// After `tsc -p tsconfig.build.json` (part of `npm run build`), two fixes to dist/**/*.d.ts so the
// published types work in a consumer's project with `skipLibCheck: false`:
//
// 1. Every relative specifier names a file the way Node's ESM resolution needs it
//    (`./types` -> `./types.js`, `./api` -> `./api/index.js`). The sources import without
//    extensions (Vite resolves them) and tsc copies specifiers verbatim into declarations, so a
//    consumer with `moduleResolution: nodenext` would silently lose every type re-exported through
//    such a specifier (ChatCompletionChunk, ...). A specifier naming no emitted declaration fails
//    the build rather than ship a broken type.
// 2. WebGPU's types (GPUBuffer, navigator.gpu) are part of TypeScript's DOM lib from TypeScript 6
//    on; TypeScript 5 needs them from @webgpu/types (a dependency of this package), and loading
//    both collides. package.json's exports give TypeScript < 6 its own entry files
//    (`"types@<6": "./dist/ts5/index.d.ts"`); this script writes each of them: a reference to
//    @webgpu/types plus a re-export of the real declarations.
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const repo = resolve(import.meta.dirname, '..');
const dist = join(repo, 'dist');

// `from '...'`, `import '...'`, `import('...')`
const SPECIFIER = /(\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(['"])(\.\.?\/[^'"]*|\.\.?)\2/g;

function* declarations(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* declarations(path);
    else if (name.endsWith('.d.ts')) yield path;
  }
}

function withExtension(file, spec) {
  if (spec.endsWith('.js')) {
    if (existsSync(resolve(dirname(file), spec.replace(/\.js$/, '.d.ts')))) return spec;
  } else {
    const base = resolve(dirname(file), spec);
    if (existsSync(`${base}.d.ts`)) return `${spec}.js`;
    if (existsSync(join(base, 'index.d.ts'))) return `${spec.replace(/\/$/, '')}/index.js`;
  }
  throw new Error(`${relative(repo, file)}: import '${spec}' names no emitted declaration`);
}

let files = 0;
let rewritten = 0;
for (const file of declarations(dist)) {
  const text = readFileSync(file, 'utf8');
  const fixed = text.replace(SPECIFIER, (_, head, quote, spec) => {
    const out = withExtension(file, spec);
    if (out !== spec) rewritten++;
    return `${head}${quote}${out}${quote}`;
  });
  if (fixed !== text) writeFileSync(file, fixed);
  files++;
}

const { exports } = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8'));
let shims = 0;
for (const [entry, conditions] of Object.entries(exports)) {
  for (const [condition, target] of Object.entries(conditions)) {
    if (!condition.startsWith('types@')) continue;
    const shim = join(repo, target);
    const real = join(repo, conditions.types);
    if (!existsSync(real)) throw new Error(`package.json exports["${entry}"].types: ${conditions.types} was not emitted`);
    let spec = relative(dirname(shim), real).replace(/\.d\.ts$/, '.js');
    if (!spec.startsWith('.')) spec = `./${spec}`;
    mkdirSync(dirname(shim), { recursive: true });
    writeFileSync(shim, `/// <reference types="@webgpu/types" />\nexport * from '${spec}';\n`);
    shims++;
  }
}
console.log(`finish-declarations: ${rewritten} specifiers given extensions in ${files} files; ${shims} TypeScript 5 entry files`);
