// The published package as a user gets it: `npm run build`, `npm pack`, the tarball installed into
// two tiny consumer projects (test/pack/consumers/), each type-checked with `skipLibCheck: false`
// by TypeScript 5.x and the current major (`typescript-next`):
//   browser: a Vite-style app, moduleResolution bundler, DOM lib only (no @types/node), a worker
//            file and `new URL('./engine.worker.ts', import.meta.url)`;
//   node:    moduleResolution nodenext, @types/node and the `webgpu` peer installed.
// Then the node consumer's script, compiled, loads the tiny model through the installed package
// and must answer like the engine built from src/; the installed CLI runs; and where `webgpu` is
// not installed, nodeGpu() and the CLI say what to install. Dependencies resolve from npm's cache
// first (--prefer-offline), so the install needs the registry only for what the cache lacks.
import { execFile, execFileSync, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadEngine } from '../../src/engine/load.js';
import { nodeFolder } from '../../src/formats/node_source.js';
import { nodeGpu } from '../../src/node.js';
import type { ChatCompletion } from '../../src/api/types.js';

const REPO = resolve(import.meta.dirname, '../..');
const MODEL = join(REPO, 'test/fixtures/ernie45-moe-tiny');
const TOKENIZER = join(REPO, 'test/fixtures/ernie-tokenizer-tiny');
const COMPILERS = { 'TypeScript 5': 'typescript', 'TypeScript next': 'typescript-next' } as const;
const XDG_ERROR = /XDG_RUNTIME_DIR/;

let work: string;
const consumer = (name: 'browser' | 'node') => join(work, name);

/** The version the repo itself installed, so npm finds it in its cache. */
function installedVersion(pkg: string): string {
  return JSON.parse(readFileSync(join(REPO, 'node_modules', pkg, 'package.json'), 'utf8')).version;
}

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, { cwd, env, encoding: 'utf8', timeout: 60_000 });
}

interface Checked {
  status: number;
  output: string;
}

/** Runs tsc on `project` in the background (the four checks run side by side). */
function tsc(compiler: string, project: string, ...flags: string[]): Promise<Checked> {
  return new Promise((done) => {
    execFile(process.execPath, [join(REPO, 'node_modules', compiler, 'bin/tsc'), '-p', project, ...flags], { cwd: project, encoding: 'utf8', timeout: 170_000 }, (error, stdout, stderr) => {
      done({ status: error ? ((error as { code?: number }).code ?? 1) : 0, output: stdout + stderr });
    });
  });
}

/** Type-check results by `${compiler}:${consumer}`; TypeScript 5 also compiles the node consumer's run.ts. */
const checks = new Map<string, Promise<Checked>>();

/** A user's shell on a headless box: no XDG_RUNTIME_DIR, no Vulkan driver chosen (nodeGpu() finds one). */
function userEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.XDG_RUNTIME_DIR;
  delete env.VK_ICD_FILENAMES;
  return env;
}

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'ernie-pack-'));
  execFileSync('npm', ['run', 'build'], { cwd: REPO, stdio: 'pipe' });
  execFileSync('npm', ['pack', '--ignore-scripts', '--pack-destination', work], { cwd: REPO, stdio: 'pipe' });
  const tarball = join(work, readdirSync(work).find((f) => f.endsWith('.tgz'))!);
  const extra = { browser: [], node: [`webgpu@${installedVersion('webgpu')}`, `@types/node@${installedVersion('@types/node')}`] };
  for (const name of ['browser', 'node'] as const) {
    cpSync(join(REPO, 'test/pack/consumers', name), consumer(name), { recursive: true });
    const r = run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', '--no-package-lock', tarball, ...extra[name]], consumer(name));
    if (r.status !== 0) throw new Error(`npm install in the ${name} consumer failed:\n${r.stderr}`);
  }
  for (const compiler of Object.values(COMPILERS)) {
    checks.set(`${compiler}:browser`, tsc(compiler, consumer('browser'), '--noEmit'));
    checks.set(`${compiler}:node`, compiler === 'typescript' ? tsc(compiler, consumer('node')) : tsc(compiler, consumer('node'), '--noEmit'));
  }
}, 120_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('the packed tarball in consumer projects', { timeout: 180_000 }, () => {
  it('ships the files a user needs and none of the sources', () => {
    const files = run('tar', ['tzf', readdirSync(work).find((f) => f.endsWith('.tgz'))!], work).stdout.split('\n');
    expect(files).toContain('package/LICENSE');
    expect(files).toContain('package/dist/index.d.ts');
    expect(files).toContain('package/dist/ts5/index.d.ts');
    expect(files.some((f) => f.startsWith('package/src/'))).toBe(false);
    expect(readFileSync(join(consumer('browser'), 'node_modules/ernie-webgpu/LICENSE'), 'utf8')).toMatch(/Apache License\s+Version 2\.0/);
  });

  for (const [label, compiler] of Object.entries(COMPILERS)) {
    it(`type-checks a bundler app (DOM lib, navigator.gpu, worker) with ${label}`, async () => {
      expect(await checks.get(`${compiler}:browser`)).toEqual({ status: 0, output: '' });
    });

    it(`type-checks a nodenext project with ${label}`, async () => {
      expect(await checks.get(`${compiler}:node`)).toEqual({ status: 0, output: '' });
    });
  }

  it('runs a Node script on the installed package: same answer as the engine from src/, no Dawn noise', async () => {
    expect(await checks.get('typescript:node')).toEqual({ status: 0, output: '' }); // compiled out/run.js
    const r = run(process.execPath, ['out/run.js', MODEL, TOKENIZER], consumer('node'), userEnv());
    expect(r.stderr).not.toMatch(XDG_ERROR);
    expect(r.status, r.stderr).toBe(0);
    const got = JSON.parse(r.stdout.trim().split('\n').at(-1)!);

    const engine = await loadEngine({ model: nodeFolder(MODEL), tokenizer: nodeFolder(TOKENIZER), gpu: await nodeGpu(), kvCacheBytes: 1 << 22 });
    const want = (await engine.chat.completions.create({ messages: [{ role: 'user', content: 'Hello' }], max_tokens: 4, temperature: 0 })) as ChatCompletion;
    engine.dispose();
    expect(got).toEqual({ text: want.choices[0].message.content, streamed: want.choices[0].message.content, completionTokens: 4, error: 'BAD_REQUEST messages', workerError: 'BAD_FILE model.safetensors' });
  });

  it('runs the installed CLI with no XDG_RUNTIME_DIR error on stderr', () => {
    const cli = join(consumer('node'), 'node_modules/ernie-webgpu/bin/ernie-webgpu.mjs');
    const r = run(process.execPath, [cli, 'generate', MODEL, '--ids', '5,17,33', '--max-tokens', '3'], consumer('node'), userEnv());
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/generated ids: \d+ \d+ \d+/);
    expect(r.stderr).toMatch(/loaded in/);
    expect(r.stderr).not.toMatch(XDG_ERROR);
  });

  it('without the webgpu peer, nodeGpu() and the CLI say to `npm install webgpu`', () => {
    const script = "import('ernie-webgpu/node').then((m) => m.nodeGpu()).then(() => console.log('{}'), (e) => console.log(JSON.stringify({ name: e.name, code: e.code, message: e.message })))";
    const r = run(process.execPath, ['--input-type=module', '-e', script], consumer('browser'));
    const e = JSON.parse(r.stdout);
    expect(e).toMatchObject({ name: 'GpuError', code: 'GPU_UNAVAILABLE' });
    expect(e.message).toContain('npm install webgpu');

    const cli = run(process.execPath, [join(consumer('browser'), 'node_modules/ernie-webgpu/bin/ernie-webgpu.mjs'), 'generate', MODEL, '--ids', '5'], consumer('browser'));
    expect(cli.status).toBe(1);
    expect(cli.stderr).toMatch(/GpuError \[GPU_UNAVAILABLE\]: .*npm install webgpu/);
  });
});
