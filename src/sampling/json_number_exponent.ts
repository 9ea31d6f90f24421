// Bounded numbers written with an exponent ("1e-6", "2.5E+3"): whether a text read so far can
// still end inside the rules, and whether a finished one is inside them. The value of
// mantissa × 10^(sign·e) is monotonic in e, so the exponents that meet the bounds form one
// interval; the digits after the point (maxFrac, fraction) are counted exactly on the text.
import { numberOk, type NumberRules } from './json_schema';

/** Largest exponent written (past it a double is 0 or Infinity): longer ones are refused. */
export const MAX_EXPONENT = 999;

interface Parts { mantissa: string; sign: 1 | -1; digits: string }

function parts(txt: string): Parts {
  const i = txt.search(/[eE]/);
  let rest = txt.slice(i + 1);
  const sign = rest[0] === '-' ? -1 : 1;
  if (rest[0] === '-' || rest[0] === '+') rest = rest.slice(1);
  return { mantissa: txt.slice(0, i), sign, digits: rest };
}

/** Digits after the point of the mantissa, and trailing zeros of all its digits (null: the mantissa is zero). */
function digitShape(mantissa: string): { frac: number; zeros: number } | null {
  const body = mantissa.startsWith('-') ? mantissa.slice(1) : mantissa;
  const dot = body.indexOf('.');
  const all = dot < 0 ? body : body.slice(0, dot) + body.slice(dot + 1);
  if (!/[1-9]/.test(all)) return null;
  return { frac: dot < 0 ? 0 : body.length - dot - 1, zeros: all.length - all.replace(/0+$/, '').length };
}

/** Whether mantissa × 10^(sign·e), as a double, meets the bounds. */
function boundsOk(mantissa: string, sign: 1 | -1, e: number, r: NumberRules): boolean {
  const x = Number(`${mantissa}e${sign < 0 ? '-' : ''}${e}`);
  return (r.minExcl ? x > r.min : x >= r.min) && (r.maxExcl ? x < r.max : x <= r.max);
}

/** The exponents in [0, MAX_EXPONENT] where a predicate monotonic in e holds, as [lo, hi] (lo > hi: none). */
function exponentsWhere(ok: (e: number) => boolean): [number, number] {
  const a = ok(0), b = ok(MAX_EXPONENT);
  if (a && b) return [0, MAX_EXPONENT];
  if (!a && !b) return [1, 0];
  let lo = 0, hi = MAX_EXPONENT; // ok(lo) === a, ok(hi) === b
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (ok(mid) === a) lo = mid;
    else hi = mid;
  }
  return a ? [0, lo] : [hi, MAX_EXPONENT];
}

/** exponents() per rules and mantissa with its sign: a mask asks for the same mantissa once per exponent digit. */
const exponentsMemo = new WeakMap<NumberRules, Map<string, [number, number]>>();

/** The exponents (of one sign) that end inside the rules, as [lo, hi]. */
function exponents(mantissa: string, sign: 1 | -1, r: NumberRules): [number, number] {
  let m = exponentsMemo.get(r);
  if (!m) exponentsMemo.set(r, (m = new Map()));
  const key = `${mantissa}${sign < 0 ? '-' : '+'}`;
  let e = m.get(key);
  if (!e) {
    if (m.size >= 4096) m.clear();
    m.set(key, (e = computeExponents(mantissa, sign, r)));
  }
  return e;
}

function computeExponents(mantissa: string, sign: 1 | -1, r: NumberRules): [number, number] {
  const shape = digitShape(mantissa);
  let lo = 0, hi = MAX_EXPONENT;
  const meet = ([a, b]: [number, number]) => { lo = Math.max(lo, a); hi = Math.min(hi, b); };
  // A double must hold the value: past its range (Infinity), or a nonzero mantissa it rounds to 0
  // (the sign against a bound of 0 is lost), is refused.
  meet(exponentsWhere((e) => {
    const x = Number(`${mantissa}e${sign < 0 ? '-' : ''}${e}`);
    return Number.isFinite(x) && (shape === null || x !== 0);
  }));
  // Each bound alone is monotonic in e; both together are the meet of the two intervals.
  meet(exponentsWhere((e) => boundsOk(mantissa, sign, e, { ...r, max: Infinity, maxExcl: false })));
  meet(exponentsWhere((e) => boundsOk(mantissa, sign, e, { ...r, min: -Infinity, minExcl: false })));
  // Digits after the point of the value: frac - sign·e - zeros (at least 0).
  const c = shape ? shape.frac - shape.zeros : 0;
  if (r.maxFrac !== Infinity && shape) {
    // c - sign·e <= maxFrac
    if (sign > 0) lo = Math.max(lo, c - r.maxFrac);
    else hi = Math.min(hi, r.maxFrac - c);
  }
  if (r.fraction) {
    if (!shape) return [1, 0];
    // c - sign·e > 0
    if (sign > 0) hi = Math.min(hi, c - 1);
    else lo = Math.max(lo, 1 - c);
  }
  return [lo, hi];
}

/** Whether some exponent written from `digits` on (more digits appended) lies in [lo, hi]. */
function reachable(digits: string, [lo, hi]: [number, number]): boolean {
  if (lo > hi) return false;
  const head = digits.replace(/^0+/, '');
  if (head === '') return true; // any exponent, 0 included
  const e0 = Number(head);
  for (let scale = 1; e0 * scale <= hi; scale *= 10) {
    if (e0 * scale + scale - 1 >= lo) return true;
  }
  return false;
}

/** Whether a number text with an exponent (its digits possibly not begun) can still end inside the rules. */
export function exponentFeasible(txt: string, r: NumberRules): boolean {
  if (r.multipleOf !== 0) return false;
  if (/[eE]$/.test(txt)) return exponentFeasible(txt + '+', r) || exponentFeasible(txt + '-', r);
  const p = parts(txt);
  return reachable(p.digits, exponents(p.mantissa, p.sign, r));
}

/** Whether a finished number text with an exponent is inside the rules. */
export function exponentOk(txt: string, r: NumberRules): boolean {
  const p = parts(txt);
  if (r.multipleOf !== 0 || !/^\d+$/.test(p.digits)) return false;
  const e = Number(p.digits);
  if (e > MAX_EXPONENT) return false;
  const [lo, hi] = exponents(p.mantissa, p.sign, r);
  return e >= lo && e <= hi && numberOk(Number(txt), { ...r, maxFrac: Infinity });
}

/** log10 of the largest decimal that still parses to a finite double (2^1024 - 2^970), and of the smallest that parses to nonzero (2^-1075). */
const LOG_FINITE = 1024 * Math.log10(2) + Math.log10(1 - 2 ** -54);
const LOG_NONZERO = -1075 * Math.log10(2);
/** A log10 threshold closer than this to an integer exponent is left to exponentFeasible(). */
const NEAR = 1e-9;
/** Bounds smaller in magnitude than this are left to exponentFeasible() (doubles near them are subnormal). */
const TINY = 1e-290;

/**
 * exponentFeasible(mantissa + 'e', r), decided arithmetically for the mantissa given as a '-' or
 * not (`neg`), its digits' value `m` (an integer, 0 < m <= 2^53) and `k` (<= 22) of them after
 * the point (a point with no digit after it yet counts as k = 0, as canStillEnd reads "60." as "60.0"). Null when too close to call (a bound meets a power of
 * ten within 1e-9 in log10, or is subnormal): ask exponentFeasible(). The signed exponents E
 * whose value m·10^(E-k) meets each rule form one interval per rule (as computeExponents() finds
 * them by parsing): E >= c - maxFrac and E < c under `fraction` (c: digits after the point less
 * trailing zeros), the bounds and the double's range through log10 of the value.
 */
export function mantissaFeasible(neg: boolean, m: number, k: number, r: NumberRules): boolean | null {
  if (r.multipleOf !== 0) return false;
  let tz = 0;
  for (let x = m; x % 10 === 0; x /= 10) tz++;
  const c = k - tz;
  // The magnitude's bounds.
  const lower = neg ? -r.max : r.min, upper = neg ? -r.min : r.max;
  if (upper <= 0) return false; // a nonzero magnitude is positive
  if ((lower > 0 && lower < TINY) || upper < TINY) return null;
  const lv = Math.log10(m) - k;
  // Integer constraints, then the real ones: [lo, hi] sure; a near-integer threshold widens lo/hi to a pair.
  let loMin = -MAX_EXPONENT, loMax = -MAX_EXPONENT, hiMin = MAX_EXPONENT, hiMax = MAX_EXPONENT;
  if (r.maxFrac !== Infinity) loMin = loMax = Math.max(loMin, c - r.maxFrac);
  if (r.fraction) hiMin = hiMax = Math.min(hiMax, c - 1);
  // E >= a (or > a): the least integer is ceil(a), or one of n, n + 1 when a is near n.
  const a = (lower > 0 ? Math.log10(lower) : LOG_NONZERO) - lv;
  const na = Math.round(a);
  if (Math.abs(a - na) < NEAR) { loMin = Math.max(loMin, na); loMax = Math.max(loMax, na + 1); }
  else { loMin = Math.max(loMin, Math.ceil(a)); loMax = Math.max(loMax, Math.ceil(a)); }
  const b = (upper !== Infinity ? Math.log10(upper) : LOG_FINITE) - lv;
  const nb = Math.round(b);
  if (Math.abs(b - nb) < NEAR) { hiMin = Math.min(hiMin, nb - 1); hiMax = Math.min(hiMax, nb); }
  else { hiMin = Math.min(hiMin, Math.floor(b)); hiMax = Math.min(hiMax, Math.floor(b)); }
  if (loMax <= hiMin) return true;
  if (loMin > hiMax) return false;
  return null;
}
