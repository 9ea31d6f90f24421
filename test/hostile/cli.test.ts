// The command line refuses what it does not understand (issue 20: `--gpu-experts 3` and a typo
// like `--max-token 5` were silently dropped): unknown flags, missing values and malformed
// numbers are usage errors (exit status 2) that name the flag.
import { execFileSync } from 'node:child_process';
import { describe, expect, test } from 'vitest';
import { type FlagTable, UsageError, parseFlags } from '../../src/cli/args';
import { TINY_DIR } from './helpers';

const table: FlagTable = {
  ids: { kind: 'ids' },
  'max-tokens': { kind: 'int', min: 1 },
  temperature: { kind: 'number', min: 0 },
  'top-p': { kind: 'number', min: 0, max: 1 },
  core: { kind: 'choice', choices: ['q4', 'f16'] },
  out: { kind: 'string' },
};

describe('parseFlags', () => {
  test('reads every kind, with "--flag value" and "--flag=value"', () => {
    const { positional, flags } = parseFlags('generate', ['model', '--ids', '5,17,33', '--max-tokens=8', '--temperature', '0.7', '--top-p', '.5', '--core', 'f16', '--out', 'x.npy'], table);
    expect(positional).toEqual(['model']);
    expect(Object.fromEntries(flags)).toEqual({ ids: [5, 17, 33], 'max-tokens': 8, temperature: 0.7, 'top-p': 0.5, core: 'f16', out: 'x.npy' });
  });

  test.each([
    [['--gpu-experts', '3'], '--gpu-experts', /unknown flag --gpu-experts for "generate" \(known: --ids, /],
    [['--max-token', '5'], '--max-token', /unknown flag --max-token .*did you mean --max-tokens\?/],
    [['--max-tokens'], '--max-tokens', /--max-tokens needs a value/],
    [['--max-tokens', '--ids', '1'], '--max-tokens', /--max-tokens needs a value/],
    [['--max-tokens', 'ten'], '--max-tokens', /--max-tokens must be an integer >= 1, got "ten"/],
    [['--max-tokens', '2.5'], '--max-tokens', /must be an integer/],
    [['--max-tokens', '0'], '--max-tokens', /must be an integer >= 1/],
    [['--max-tokens', '1e400'], '--max-tokens', /must be an integer/],
    [['--temperature', 'NaN'], '--temperature', /--temperature must be a number >= 0, got "NaN"/],
    [['--temperature', ''], '--temperature', /must be a number/],
    [['--top-p', '1.5'], '--top-p', /--top-p must be a number in \[0, 1\]/],
    [['--ids', '1,,2'], '--ids', /--ids must be comma-separated non-negative integers/],
    [['--ids', '-1'], '--ids', /--ids must be comma-separated/],
    [['--core', 'q8'], '--core', /--core must be one of q4, f16, got "q8"/],
    [['--out', 'a', '--out', 'b'], '--out', /--out is given twice/],
  ])('%j is a UsageError naming %s', (argv, flag, message) => {
    let err: unknown;
    try {
      parseFlags('generate', ['model', ...argv], table);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UsageError);
    expect((err as UsageError).flag).toBe(flag);
    expect((err as Error).message).toMatch(message);
  });
});

describe('the CLI', () => {
  const run = (args: string[]) => {
    try {
      execFileSync(process.execPath, ['bin/ernie-webgpu.mjs', ...args], { stdio: 'pipe' });
      return { status: 0, stderr: '' };
    } catch (e) {
      return { status: (e as { status: number }).status, stderr: String((e as { stderr: Buffer }).stderr) };
    }
  };

  test('an unknown flag exits 2 before any model or GPU work, naming the flag', () => {
    const r = run(['logits', TINY_DIR, '--ids', '1,2', '--out', '/dev/null', '--cpu-experts', '3']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/unknown flag --cpu-experts for "logits"/);
    expect(r.stderr).toContain('usage:');
  });

  test('a missing model path is a usage error; a model path that does not exist is MISSING_FILE', () => {
    expect(run(['generate', '--ids', '1']).stderr).toMatch(/"generate" needs a model path/);
    const r = run(['generate', 'no/such/folder', '--ids', '1']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/\[MISSING_FILE\]: no\/such\/folder: does not exist/);
  });
});
