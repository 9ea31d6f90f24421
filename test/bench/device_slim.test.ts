// bench/device-slim.sh in a scratch git repository: `on` takes test/fixtures (but the GGUF
// writer's tokenizer) out of what a device call sends without touching the files, `size` counts
// what would travel and fails at 64 MiB, and `off` leaves index, exclude file and status as they
// were.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const SCRIPT = join(__dirname, '../../bench/device-slim.sh');
const KEPT = 'test/fixtures/gguf/ernie45-moe-tiny-q4_0.gguf';

describe('bench/device-slim.sh', () => {
  const repo = mkdtempSync(join(tmpdir(), 'device-slim-'));
  afterAll(() => rmSync(repo, { recursive: true, force: true }));
  const git = (...args: string[]) => {
    const r = spawnSync('git', ['-c', 'user.email=t@example.com', '-c', 'user.name=t', ...args], { cwd: repo, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  const slim = (...args: string[]) => spawnSync('bash', ['bench/device-slim.sh', ...args], { cwd: repo, encoding: 'utf8' });
  const put = (path: string, bytes: number) => {
    mkdirSync(dirname(join(repo, path)), { recursive: true });
    writeFileSync(join(repo, path), Buffer.alloc(bytes, 7));
  };
  const state = () => ({ index: git('ls-files', '-s'), status: git('status', '--porcelain=v2', '--branch'), exclude: readFileSync(join(repo, '.git/info/exclude'), 'utf8') });

  it('on / size / off', () => {
    git('init', '-q', '-b', 'main');
    mkdirSync(join(repo, 'bench'));
    copyFileSync(SCRIPT, join(repo, 'bench/device-slim.sh'));
    put('src/a.ts', 1000);
    put('test/fixtures/big/weights.bin', 300_000);
    put('test/fixtures/gguf/other.gguf', 200_000);
    put(KEPT, 5000);
    mkdirSync(join(repo, '.git/info'), { recursive: true });
    writeFileSync(join(repo, '.git/info/exclude'), '# no newline at the end\n/carry/'); // off must give it back without one
    git('add', '-A');
    git('commit', '-q', '-m', 'init');
    put('notes.txt', 10); // untracked, not ignored: travels
    const before = state();
    const script = readFileSync(SCRIPT).length;

    const on = slim('on');
    expect(on.status, on.stderr).toBe(0);
    expect(on.stdout).toContain('2 files under test/fixtures out of the index');
    const travelling = git('ls-files', '-co', '--exclude-standard').split('\n').filter(Boolean).sort();
    expect(travelling).toEqual(['bench/device-slim.sh', 'notes.txt', 'src/a.ts', KEPT].sort());
    expect(existsSync(join(repo, 'test/fixtures/big/weights.bin'))).toBe(true);
    expect(on.stdout).toContain(`total that would travel: ${script + 10 + 1000 + 5000} bytes`);
    expect(slim('on').status).toBe(1); // not twice

    // a carry that brings it to 64 MiB is refused (a sparse file: apparent size is what counts)
    mkdirSync(join(repo, 'carry'));
    writeFileSync(join(repo, 'carry/x'), '');
    truncateSync(join(repo, 'carry/x'), 64 * 2 ** 20);
    const big = slim('size', 'carry');
    expect(big.status).toBe(1);
    expect(big.stderr).toContain("over the device call's 64 MiB");
    rmSync(join(repo, 'carry'), { recursive: true });

    const off = slim('off');
    expect(off.status, off.stderr).toBe(0);
    expect(state()).toEqual(before);
    expect(slim('status').stdout.trim()).toBe('off');
  });

  it('on refuses while the fixtures have changes of their own, and changes nothing', () => {
    put('test/fixtures/big/weights.bin', 12);
    const before = state();
    const r = slim('on');
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('has changes of its own');
    expect(state()).toEqual(before);
    git('checkout', '--', 'test/fixtures');
  });
});
