// Weighted least-squares fits of one group of values to a uniform grid: the part of every
// quantizer that chooses scales. The objective is Σ w_i (x_i - x̂_i)² (w = 1 gives the plain
// squared error; the converter passes per-column weights, see layouts.ts QuantizeOptions).
//
// A fit searches a set of candidate grids (scales across a range of code counts, and low ends
// that clip up to a few percent of the range, not just min/max); for each it assigns the nearest
// code to every value and solves for the scale (and offset) minimising the error for those codes,
// then alternates "nearest codes" / "least squares" a few times. The best grid seen wins.
// All arithmetic is f64 on Float64Array scratch buffers; the callers round to the stored precision.

/** How hard the fits search: candidates per fit grow roughly linearly with these. */
export interface FitEffort {
  /** Low-end anchors: the minimum, then the minimum raised by 3%, 6%, ... of the range. */
  anchors: number;
  /** Scale candidates per anchor, spread over codes (nmax - 1.5) .. (nmax + 1.5) across the range. */
  steps: number;
  /** Nearest-code / least-squares rounds per candidate. */
  rounds: number;
}

export const EFFORT: Readonly<Record<'fast' | 'best', FitEffort>> = {
  fast: { anchors: 1, steps: 8, rounds: 1 },
  best: { anchors: 3, steps: 8, rounds: 1 },
};

/**
 * The integer nearest to t (halves round up, as Math.round), clamped to [lo, hi]. Every code in
 * this package is chosen with this rounding, so fits and encoders agree on ties.
 */
export function roundClamp(t: number, lo: number, hi: number): number {
  return t <= lo ? lo : t >= hi ? hi : ((t - lo + 0.5) | 0) + lo;
}

/** Weighted squared error of x[o..o+n) ≈ s*q + b with, for each value, the nearest q in [0, nmax]. */
export function affineError(x: Float64Array, w: Float64Array, o: number, n: number, nmax: number, s: number, b: number): number {
  let err = 0;
  const end = o + n;
  if (s === 0) {
    for (let i = o; i < end; i++) {
      const e = x[i]! - b;
      err += w[i]! * e * e;
    }
    return err;
  }
  const inv = 1 / s;
  for (let i = o; i < end; i++) {
    // round half up, clamped (floor(t + 0.5) via |0 is exact here since 0 < t < nmax)
    const t = (x[i]! - b) * inv;
    const q = t <= 0 ? 0 : t >= nmax ? nmax : (t + 0.5) | 0;
    const e = x[i]! - s * q - b;
    err += w[i]! * e * e;
  }
  return err;
}

/** Weighted squared error of x[o..o+n) ≈ d*q with the nearest q in [qmin, qmax]. */
export function symError(x: Float64Array, w: Float64Array, o: number, n: number, qmin: number, qmax: number, d: number): number {
  let err = 0;
  const end = o + n;
  if (d === 0) {
    for (let i = o; i < end; i++) err += w[i]! * x[i]! * x[i]!;
    return err;
  }
  const inv = 1 / d;
  for (let i = o; i < end; i++) {
    const t = x[i]! * inv;
    const q = t <= qmin ? qmin : t >= qmax ? qmax : ((t - qmin + 0.5) | 0) + qmin;
    const e = x[i]! - d * q;
    err += w[i]! * e * e;
  }
  return err;
}

// ---- affine: x ≈ s*q + b, q in [0, nmax] ----

/** The fit's result, reused between calls: [s, b, err]. */
export const affineOut = new Float64Array(3);

// Weighted sums of the current pass (module-level so the hot loop allocates nothing).
let sW = 0, sX = 0, sXX = 0, sQ = 0, sQQ = 0, sXQ = 0, passErr = 0;

/** One pass: codes from q = round((x - lo) * iscale); accumulates the code sums and their error. */
function passCodes(x: Float64Array, w: Float64Array, o: number, n: number, nmax: number, lo: number, iscale: number, s: number, b: number): void {
  let q1 = 0, q2 = 0, xq = 0, err = 0;
  const end = o + n;
  for (let i = o; i < end; i++) {
    const v = x[i]!, wi = w[i]!;
    const t = (v - lo) * iscale;
    const q = t <= 0 ? 0 : t >= nmax ? nmax : (t + 0.5) | 0;
    const wq = wi * q;
    q1 += wq;
    q2 += wq * q;
    xq += wq * v;
    const e = v - s * q - b;
    err += wi * e * e;
  }
  sQ = q1;
  sQQ = q2;
  sXQ = xq;
  passErr = err;
}

/** Least-squares (s, b) for the codes of the last pass; returns its error (exact for those codes). */
function solveAffine(nonPositiveOffset: boolean, out: Float64Array): boolean {
  const det = sW * sQQ - sQ * sQ;
  let s: number, b: number;
  if (det > 1e-300) {
    s = (sW * sXQ - sQ * sX) / det;
    b = (sQQ * sX - sQ * sXQ) / det;
  } else return false;
  if (nonPositiveOffset && b > 0) {
    if (!(sQQ > 0)) return false;
    b = 0;
    s = sXQ / sQQ;
  }
  out[0] = s;
  out[1] = b;
  out[2] = Math.max(sXX - 2 * s * sXQ - 2 * b * sX + s * s * sQQ + 2 * s * b * sQ + b * b * sW, 0);
  return true;
}

const cand = new Float64Array(3);

/**
 * The (s, b) minimising Σ w (x - s*q - b)² over x[o..o+n) with integer codes q in [0, nmax],
 * written to affineOut as [s, b, err]. With nonPositiveOffset, b <= 0 (the K-quants store the
 * offset as -dmin*m with m >= 0).
 */
export function fitAffine(x: Float64Array, w: Float64Array, o: number, n: number, nmax: number, nonPositiveOffset: boolean, effort: FitEffort): Float64Array {
  const out = affineOut;
  let mn = Infinity, mx = -Infinity, W = 0, X = 0, XX = 0;
  for (let i = o; i < o + n; i++) {
    const v = x[i]!, wi = w[i]!;
    if (v < mn) mn = v;
    if (v > mx) mx = v;
    W += wi;
    X += wi * v;
    XX += wi * v * v;
  }
  if (n === 0 || !(W > 0)) {
    out[0] = 0, out[1] = 0, out[2] = 0;
    return out;
  }
  sW = W, sX = X, sXX = XX;
  if (nonPositiveOffset && mn > 0) mn = 0;
  const range = mx - mn;
  if (!(range > 0)) {
    out[0] = 0, out[1] = mn, out[2] = affineError(x, w, o, n, nmax, 0, mn);
    return out;
  }
  // min/max grid as the baseline
  let bs = range / nmax, bb = mn, be = affineError(x, w, o, n, nmax, bs, bb);
  for (let a = 0; a < effort.anchors; a++) {
    const lo = mn + 0.03 * a * range;
    for (let k = 0; k <= effort.steps; k++) {
      const iscale = (nmax - 1.5 + (3 * k) / effort.steps) / (mx - lo);
      passCodes(x, w, o, n, nmax, lo, iscale, 0, 0);
      if (!solveAffine(nonPositiveOffset, cand)) continue;
      let s = cand[0]!, b = cand[1]!, e = cand[2]!;
      for (let r = 0; r < effort.rounds && s !== 0; r++) {
        // nearest codes for (s, b): their exact error, and the sums for the next least squares
        passCodes(x, w, o, n, nmax, b, 1 / s, s, b);
        e = passErr;
        if (e < be) (bs = s), (bb = b), (be = e);
        if (!solveAffine(nonPositiveOffset, cand) || !(cand[2]! < e)) break;
        (s = cand[0]!), (b = cand[1]!), (e = cand[2]!);
      }
      if (e < be) (bs = s), (bb = b), (be = e);
    }
  }
  // polish the winner
  for (let r = 0; r < 4 && bs !== 0; r++) {
    passCodes(x, w, o, n, nmax, bb, 1 / bs, bs, bb);
    be = Math.min(be, passErr);
    if (!solveAffine(nonPositiveOffset, cand) || !(cand[2]! < be * (1 - 1e-12))) break;
    (bs = cand[0]!), (bb = cand[1]!), (be = cand[2]!);
  }
  out[0] = bs, out[1] = bb, out[2] = be;
  return out;
}

// ---- symmetric: x ≈ d*q, q in [qmin, qmax] ----

/**
 * The d minimising Σ w (x - d*q)² over x[o..o+n) with integer codes q in [qmin, qmax] (qmin < 0 <
 * qmax). d may be negative: with an asymmetric code range (-8..7) the value of largest magnitude
 * can then take the longer side. Returns d.
 */
export function fitSym(x: Float64Array, w: Float64Array, o: number, n: number, qmin: number, qmax: number, effort: FitEffort): number {
  let amax = 0, XX = 0;
  const end = o + n;
  for (let i = o; i < end; i++) {
    const v = x[i]!;
    if (Math.abs(v) > Math.abs(amax)) amax = v;
    XX += w[i]! * v * v;
  }
  if (amax === 0 || !(XX > 0)) return 0;
  let bd = 0, be = XX;
  const steps = effort.steps * (effort.anchors + 1);
  for (let side = 0; side < 2; side++) {
    const level = side === 0 ? qmax : qmin;
    for (let k = 0; k <= steps; k++) {
      // amax maps to a code between 0.5x and 1.05x of the end of the range on this side
      let iscale = (level * (0.5 + (0.55 * k) / steps)) / amax;
      for (let r = 0; r <= effort.rounds; r++) {
        let qq = 0, xq = 0;
        for (let i = o; i < end; i++) {
          const t = iscale * x[i]!;
          const q = t <= qmin ? qmin : t >= qmax ? qmax : ((t - qmin + 0.5) | 0) + qmin;
          const wq = w[i]! * q;
          qq += wq * q;
          xq += wq * x[i]!;
        }
        if (!(qq > 0)) break;
        const d = xq / qq, e = Math.max(XX - (xq * xq) / qq, 0);
        if (e < be * (1 - 1e-12)) (bd = d), (be = e);
        else if (r > 0) break;
        iscale = 1 / d;
      }
    }
  }
  for (let r = 0; r < 4 && bd !== 0; r++) {
    const iscale = 1 / bd;
    let qq = 0, xq = 0;
    for (let i = o; i < end; i++) {
      const q = roundClamp(iscale * x[i]!, qmin, qmax);
      qq += w[i]! * q * q;
      xq += w[i]! * q * x[i]!;
    }
    if (!(qq > 0)) break;
    const e = Math.max(XX - (xq * xq) / qq, 0);
    if (!(e < be * (1 - 1e-12))) break;
    (bd = xq / qq), (be = e);
  }
  return bd;
}
