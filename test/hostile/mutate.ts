// Seeded mutations for the fuzz test: raw byte edits (flips, overwrites with boundary values,
// inserts, deletes, truncation) and structural JSON edits (a random field deleted, retyped or set
// to a boundary value). The same seed gives the same mutants on every run.
import { rng } from '../helpers/random';

export type Rand = () => number;
export const seeded = (seed: number): Rand => rng(seed);
export const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
export const int = (r: Rand, lo: number, hi: number) => lo + Math.floor(r() * (hi - lo)); // [lo, hi)

/** Numbers and values that sit on the edges parsers get wrong. */
const EDGE_NUMBERS = [0, -1, 1, 2, 3, 7, 255, 65535, 1e9, 2 ** 31, 2 ** 32, 2 ** 53, -(2 ** 31), 1.5, 0.5, 1e-30, 1e30, 1e308, -1e308];
const EDGE_VALUES: unknown[] = [...EDGE_NUMBERS, '', 'x', '0', 'NaN', null, true, false, [], {}, [1, 2], { a: 1 }];
const EDGE_U64 = [0n, 1n, 2n ** 31n, 2n ** 32n - 1n, 2n ** 32n, 2n ** 53n, 2n ** 63n, 2n ** 64n - 1n];

/** One raw edit of `bytes` inside [start, end); returns the new bytes and what was done. */
export function mutateBytes(r: Rand, bytes: Uint8Array, start = 0, end = bytes.length): { bytes: Uint8Array; what: string } {
  const at = int(r, start, Math.max(start + 1, end));
  const op = int(r, 0, 9);
  const out = bytes.slice();
  switch (op) {
    case 0:
      out[at] = out[at]! ^ (1 << int(r, 0, 8));
      return { bytes: out, what: `flip a bit of byte ${at}` };
    case 1:
      out[at] = int(r, 0, 256);
      return { bytes: out, what: `set byte ${at} to ${out[at]}` };
    case 2: {
      const v = pick(r, EDGE_U64);
      const a = Math.min(at & ~7, out.length - 8);
      if (a >= 0) new DataView(out.buffer).setBigUint64(a, v, true);
      return { bytes: out, what: `set u64 at ${a} to ${v}` };
    }
    case 3: {
      const v = pick(r, [0, 1, 0xff, 0xffff, 0x7fffffff, 0xffffffff]);
      const a = Math.min(at & ~3, out.length - 4);
      if (a >= 0) new DataView(out.buffer).setUint32(a, v, true);
      return { bytes: out, what: `set u32 at ${a} to ${v}` };
    }
    case 4: {
      const n = int(r, 1, 9);
      const ins = Uint8Array.from({ length: n }, () => int(r, 0, 256));
      return { bytes: concat(bytes.subarray(0, at), ins, bytes.subarray(at)), what: `insert ${n} bytes at ${at}` };
    }
    case 5: {
      const n = int(r, 1, 9);
      return { bytes: concat(bytes.subarray(0, at), bytes.subarray(at + n)), what: `delete ${n} bytes at ${at}` };
    }
    case 6:
      return { bytes: bytes.slice(0, at), what: `truncate at ${at}` };
    case 7: {
      // an ASCII digit becomes another digit (numbers in JSON headers)
      const digits: number[] = [];
      for (let i = start; i < end && digits.length < 4096; i++) if (out[i]! >= 0x30 && out[i]! <= 0x39) digits.push(i);
      const d = digits.length ? pick(r, digits) : at;
      out[d] = 0x30 + int(r, 0, 10);
      return { bytes: out, what: `set digit at ${d} to ${String.fromCharCode(out[d]!)}` };
    }
    default: {
      const n = int(r, 1, 64);
      out.copyWithin(at, int(r, start, Math.max(start + 1, end)), Math.min(out.length, at + n));
      return { bytes: out, what: `copy ${n} bytes over ${at}` };
    }
  }
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) out.set(p, (at += p.length) - p.length);
  return out;
}

/** Every path to a node of a JSON value (objects and arrays walked; long arrays sampled). */
function paths(v: unknown, r: Rand, prefix: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  out.push(prefix);
  if (Array.isArray(v)) {
    const idx = v.length <= 8 ? [...v.keys()] : [0, v.length - 1, int(r, 0, v.length), int(r, 0, v.length)];
    for (const i of idx) paths(v[i], r, [...prefix, i], out);
  } else if (v !== null && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) paths(x, r, [...prefix, k], out);
  }
  return out;
}

/** One structural edit of a JSON value (a deep copy is returned); `focus` limits it to paths under these keys. */
export function mutateJson(r: Rand, value: unknown, focus?: (path: (string | number)[]) => boolean): { value: unknown; what: string } {
  const root = structuredClone(value);
  let all = paths(root, r).filter((p) => p.length > 0);
  if (focus) {
    const f = all.filter(focus);
    if (f.length) all = f;
  }
  const path = pick(r, all);
  const parent = path.slice(0, -1).reduce<any>((o, k) => o[k], root);
  const key = path[path.length - 1]!;
  const old = parent[key];
  const op = int(r, 0, 6);
  let what: string;
  if (op === 0 && !Array.isArray(parent)) {
    delete parent[key];
    what = 'delete';
  } else if (op === 1 && typeof old === 'number') {
    parent[key] = pick(r, [old + 1, old - 1, old * 2, -old, old * 1000, Math.floor(old / 2), old + 0.5]);
    what = `${old} -> ${parent[key]}`;
  } else if (op === 2 && Array.isArray(old)) {
    parent[key] = pick(r, [old.slice(1), [...old, old[0]], old.slice().reverse(), []]);
    what = 'reshape list';
  } else if (op === 3 && typeof old === 'string') {
    parent[key] = pick(r, ['', old + 'x', old.slice(1), old.toUpperCase(), '\u0000', old.repeat(3)]);
    what = `${JSON.stringify(old).slice(0, 20)} -> ${JSON.stringify(parent[key]).slice(0, 20)}`;
  } else if (op === 4 && !Array.isArray(parent)) {
    parent[pick(r, ['x', 'hasOwnProperty', 'constructor', `${String(key)}_2`])] = pick(r, EDGE_VALUES);
    what = 'add a field';
  } else {
    parent[key] = structuredClone(pick(r, EDGE_VALUES));
    what = `set to ${JSON.stringify(parent[key])}`;
  }
  return { value: root, what: `${path.join('.')}: ${what}` };
}
