// Command-line flags from a table per command: each flag's kind and range is declared once, and
// anything else (an unknown or repeated flag, a missing value, a malformed number) is a UsageError
// naming the flag, never silently dropped. Adding a flag is one line in the command's table.
import { ErnieError } from '../errors.js';

export type FlagSpec =
  | { kind: 'string' }
  /** An integer in [min, max]. */
  | { kind: 'int'; min?: number; max?: number }
  /** A finite number in [min, max]. */
  | { kind: 'number'; min?: number; max?: number }
  | { kind: 'choice'; choices: readonly string[] }
  /** Comma-separated non-negative integers (token ids). */
  | { kind: 'ids' }
  /** A string that may be given more than once ("--image a.png --image b.png"), kept in order. */
  | { kind: 'list' }
  /** Takes no value. */
  | { kind: 'switch' };

export type FlagTable = Readonly<Record<string, FlagSpec>>;

/** A bad command line; the CLI prints it with the command's usage and exits with status 2. */
export class UsageError extends ErnieError {
  constructor(
    message: string,
    /** The flag at fault ("--max-tokens"), when one is. */
    readonly flag?: string,
  ) {
    super('BAD_REQUEST', message);
    this.name = 'UsageError';
  }
}

export type FlagValue = string | number | number[] | string[] | boolean;

export interface ParsedArgs {
  positional: string[];
  flags: Map<string, FlagValue>;
}

/** Parses `argv` (after the command name) against `table`. */
export function parseFlags(command: string, argv: readonly string[], table: FlagTable): ParsedArgs {
  const positional: string[] = [];
  const flags = new Map<string, FlagValue>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--') || arg === '--') {
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    const flag = `--${name}`;
    const spec = Object.hasOwn(table, name) ? table[name] : undefined;
    if (!spec) {
      const known = Object.keys(table).map((k) => `--${k}`).join(', ');
      throw new UsageError(`unknown flag ${flag} for "${command}"${suggest(name, table)} (known: ${known || 'none'})`, flag);
    }
    if (flags.has(name) && spec.kind !== 'list') throw new UsageError(`${flag} is given twice`, flag);
    if (spec.kind === 'switch') {
      if (eq >= 0) throw new UsageError(`${flag} takes no value`, flag);
      flags.set(name, true);
      continue;
    }
    let text: string | undefined;
    if (eq >= 0) text = arg.slice(eq + 1);
    else {
      text = argv[i + 1];
      // "--top-k --seed 1": a flag where the value belongs (negative numbers start with one dash only).
      if (text === undefined || text.startsWith('--')) throw new UsageError(`${flag} needs a value`, flag);
      i++;
    }
    if (spec.kind === 'list') {
      if (text === '') throw new UsageError(`${flag} needs a non-empty value`, flag);
      flags.set(name, [...((flags.get(name) as string[] | undefined) ?? []), text]);
    } else flags.set(name, parseValue(flag, text, spec));
  }
  return { positional, flags };
}

function parseValue(flag: string, text: string, spec: Exclude<FlagSpec, { kind: 'switch' | 'list' }>): FlagValue {
  switch (spec.kind) {
    case 'string':
      if (text === '') throw new UsageError(`${flag} needs a non-empty value`, flag);
      return text;
    case 'choice':
      if (!spec.choices.includes(text)) throw new UsageError(`${flag} must be one of ${spec.choices.join(', ')}, got "${text}"`, flag);
      return text;
    case 'ids': {
      const parts = text.split(',').map((s) => s.trim());
      if (parts.length === 0 || !parts.every((s) => /^\d+$/.test(s) && Number.isSafeInteger(Number(s)))) {
        throw new UsageError(`${flag} must be comma-separated non-negative integers, got "${text}"`, flag);
      }
      return parts.map(Number);
    }
    case 'int':
    case 'number': {
      const n = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(text.trim()) ? Number(text) : NaN;
      const min = spec.min ?? -Infinity, max = spec.max ?? Infinity;
      const what = spec.kind === 'int' ? 'an integer' : 'a number';
      const range = min > -Infinity && max < Infinity ? ` in [${min}, ${max}]` : min > -Infinity ? ` >= ${min}` : max < Infinity ? ` <= ${max}` : '';
      if (!Number.isFinite(n) || (spec.kind === 'int' && !Number.isSafeInteger(n)) || n < min || n > max) {
        throw new UsageError(`${flag} must be ${what}${range}, got "${text}"`, flag);
      }
      return n;
    }
  }
}

/** ", did you mean --max-tokens?" for a near miss (one edit, or a missing/extra trailing "s"). */
function suggest(name: string, table: FlagTable): string {
  const near = Object.keys(table).find((k) => editDistance(k, name) <= Math.max(1, Math.floor(k.length / 5)));
  return near ? `; did you mean --${near}?` : '';
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return row[b.length]!;
}

/** Typed accessors over parsed flags (the table already checked kinds and ranges). */
export class Flags {
  constructor(private readonly map: Map<string, FlagValue>) {}
  has(name: string): boolean {
    return this.map.has(name);
  }
  string(name: string): string | undefined {
    return this.map.get(name) as string | undefined;
  }
  number(name: string): number | undefined {
    return this.map.get(name) as number | undefined;
  }
  ids(name: string): number[] | undefined {
    return this.map.get(name) as number[] | undefined;
  }
  /** A repeatable flag's values, in order ([] when absent). */
  list(name: string): string[] {
    return (this.map.get(name) as string[] | undefined) ?? [];
  }
  /** The value of a flag the command cannot run without. */
  required<T extends FlagValue>(name: string, example: string): T {
    const v = this.map.get(name);
    if (v === undefined) throw new UsageError(`--${name} is required, e.g. --${name} ${example}`, `--${name}`);
    return v as T;
  }
}
