// Encoders of GGUF's 256-value K-quant blocks (Q4_K, Q2_K, Q6_K), split from layouts.ts: two
// levels of scales (a block scale and 6- or 8-bit sub-scales) fitted by least squares with a
// neighbour search over the sub-scale codes. Same encoder signature as layouts.ts's others.
import { putF16, roundF16 } from './f16';
import { type FitEffort, affineError, fitAffine, fitSym, roundClamp, symError } from './fit';

const clamp = (v: number, lo: number, hi: number) => (v < lo ? lo : v > hi ? hi : v);

// ---- two-level affine super-blocks (Q4_K, Q2_K): x = d*sc_j*q - dmin*m_j ----

interface SuperAffine {
  /** values per group, groups per block, largest code, largest sub-scale/min code */
  G: number;
  NG: number;
  nmax: number;
  smax: number;
}

// Results and scratch of fitSuperAffine (at most 16 groups, 256 values).
const SA_s = new Float64Array(16), SA_m = new Float64Array(16);
const SA_sc = new Int32Array(16), SA_mc = new Int32Array(16), SA_sc2 = new Int32Array(16), SA_mc2 = new Int32Array(16);
const SA_q = new Uint8Array(256);
let SA_d = 0, SA_dmin = 0;

/** Best (sc, m) per group within ±1 of the given ones for (d, dmin), in place; returns the block error. */
function saNeighbours(x: Float64Array, w: Float64Array, n: number, P: SuperAffine, d: number, dmin: number, sc: Int32Array, mc: Int32Array): number {
  const { G, NG, nmax, smax } = P;
  let total = 0;
  for (let j = 0; j < NG; j++) {
    const len = clamp(n - G * j, 0, G);
    if (len === 0) continue;
    const a0 = sc[j]!, c0 = mc[j]!;
    let ba = a0, bc = c0, bestErr = affineError(x, w, G * j, len, nmax, d * a0, -dmin * c0);
    for (let a = a0 > 0 ? a0 - 1 : 0; a <= a0 + 1 && a <= smax; a++) {
      for (let c = c0 > 0 ? c0 - 1 : 0; c <= c0 + 1 && c <= smax; c++) {
        if (a === a0 && c === c0) continue;
        const e = affineError(x, w, G * j, len, nmax, d * a, -dmin * c);
        if (e < bestErr) (bestErr = e), (ba = a), (bc = c);
      }
    }
    sc[j] = ba;
    mc[j] = bc;
    total += bestErr;
  }
  return total;
}

function saAssign(x: Float64Array, n: number, P: SuperAffine, d: number, dmin: number, sc: Int32Array, mc: Int32Array, q: Uint8Array): void {
  const { G, NG, nmax } = P;
  q.fill(0);
  for (let j = 0; j < NG; j++) {
    const step = d * sc[j]!, off = dmin * mc[j]!;
    if (step === 0) continue;
    const len = clamp(n - G * j, 0, G);
    for (let i = G * j; i < G * j + len; i++) q[i] = roundClamp((x[i]! + off) / step, 0, nmax);
  }
}

/**
 * Chooses the block's f16 (d, dmin), each group's integer (sc, m) and every code, minimising the
 * block's weighted squared error: per-group fits, sub-scales quantized against d = max/smax, then
 * rounds of "best neighbouring (sc, m) per group" and "joint least-squares (d, dmin)", kept while
 * they lower the error. Results in SA_*.
 */
function fitSuperAffine(x: Float64Array, w: Float64Array, n: number, P: SuperAffine, effort: FitEffort): void {
  const { G, NG, nmax, smax } = P;
  let maxS = 0, maxM = 0;
  for (let j = 0; j < NG; j++) {
    const f = fitAffine(x, w, G * j, clamp(n - G * j, 0, G), nmax, true, effort);
    SA_s[j] = Math.max(f[0]!, 0);
    SA_m[j] = Math.max(-f[1]!, 0);
    if (SA_s[j]! > maxS) maxS = SA_s[j]!;
    if (SA_m[j]! > maxM) maxM = SA_m[j]!;
  }
  let d = roundF16(maxS / smax), dmin = roundF16(maxM / smax);
  const sc = SA_sc, mc = SA_mc;
  for (let j = 0; j < NG; j++) {
    sc[j] = d > 0 ? roundClamp(SA_s[j]! / d, 0, smax) : 0;
    mc[j] = dmin > 0 ? roundClamp(SA_m[j]! / dmin, 0, smax) : 0;
  }
  let err = saNeighbours(x, w, n, P, d, dmin, sc, mc);
  for (let iter = 0; iter < 3; iter++) {
    // Joint least squares for (d, dmin) with codes and sub-scales fixed: x ≈ d*A - dmin*B, A = sc_j*q, B = m_j.
    saAssign(x, n, P, d, dmin, sc, mc, SA_q);
    let aa = 0, ab = 0, bb = 0, xa = 0, xb = 0;
    for (let j = 0; j < NG; j++) {
      const len = clamp(n - G * j, 0, G), Bv = mc[j]!;
      for (let i = G * j; i < G * j + len; i++) {
        const A = sc[j]! * SA_q[i]!, wi = w[i]!;
        aa += wi * A * A;
        ab += wi * A * Bv;
        bb += wi * Bv * Bv;
        xa += wi * x[i]! * A;
        xb += wi * x[i]! * Bv;
      }
    }
    const det = aa * bb - ab * ab;
    let nd: number, ndm: number;
    if (bb > 0 && det > 1e-9 * aa * bb) {
      nd = (xa * bb - ab * xb) / det;
      ndm = (ab * xa - aa * xb) / det;
    } else if (aa > 0) {
      nd = xa / aa;
      ndm = dmin;
    } else break;
    nd = roundF16(nd);
    ndm = roundF16(ndm);
    SA_sc2.set(sc);
    SA_mc2.set(mc);
    const e2 = saNeighbours(x, w, n, P, nd, ndm, SA_sc2, SA_mc2);
    if (!(e2 < err * (1 - 1e-9))) break;
    (d = nd), (dmin = ndm), (err = e2);
    sc.set(SA_sc2);
    mc.set(SA_mc2);
  }
  saAssign(x, n, P, d, dmin, sc, mc, SA_q);
  SA_d = d;
  SA_dmin = dmin;
}

const Q4K: SuperAffine = { G: 32, NG: 8, nmax: 15, smax: 63 };
const Q2K: SuperAffine = { G: 16, NG: 16, nmax: 3, smax: 15 };

/** Q4_K [144 B]: f16 d, f16 dmin, u8 s[12] (6-bit sc/m pairs), u8 qs[128]. */
export function encodeQ4_K(x: Float64Array, w: Float64Array, n: number, out: Uint8Array, p: number, effort: FitEffort): void {
  fitSuperAffine(x, w, n, Q4K, effort);
  const sc = SA_sc, mc = SA_mc, q = SA_q;
  putF16(out, p, SA_d);
  putF16(out, p + 2, SA_dmin);
  const s = p + 4;
  out.fill(0, s, p + 144);
  for (let j = 0; j < 4; j++) {
    out[s + j] = sc[j]!;
    out[s + j + 4] = mc[j]!;
  }
  for (let j = 4; j < 8; j++) {
    out[s + j + 4] = (sc[j]! & 15) | ((mc[j]! & 15) << 4);
    out[s + j - 4]! |= (sc[j]! >> 4) << 6;
    out[s + j]! |= (mc[j]! >> 4) << 6;
  }
  // value 64g+l: low nibble of qs[32g+l]; value 64g+32+l: its high nibble
  for (let g = 0; g < 4; g++) {
    for (let l = 0; l < 32; l++) out[p + 16 + 32 * g + l] = q[64 * g + l]! | (q[64 * g + 32 + l]! << 4);
  }
}

/** Q2_K [84 B]: u8 sc[16] (scale low nibble, min high nibble), u8 qs[64], f16 d, f16 dmin. */
export function encodeQ2_K(x: Float64Array, w: Float64Array, n: number, out: Uint8Array, p: number, effort: FitEffort): void {
  fitSuperAffine(x, w, n, Q2K, effort);
  const sc = SA_sc, mc = SA_mc, q = SA_q;
  out.fill(0, p, p + 80);
  for (let j = 0; j < 16; j++) out[p + j] = sc[j]! | (mc[j]! << 4);
  // value 128h+32k+l: bits 2k..2k+1 of qs[32h+l]
  for (let v = 0; v < 256; v++) out[p + 16 + 32 * (v >> 7) + (v & 31)]! |= q[v]! << (2 * ((v >> 5) & 3));
  putF16(out, p + 80, SA_d);
  putF16(out, p + 82, SA_dmin);
}

// ---- Q6_K: x = d*sc_j*(q-32), 16 groups of 16, i8 sub-scales ----

const Q6_s = new Float64Array(16);
const Q6_sc = new Int32Array(16), Q6_sc2 = new Int32Array(16);
const Q6_q = new Int32Array(256);

function q6Neighbours(x: Float64Array, w: Float64Array, n: number, d: number, sc: Int32Array): number {
  let total = 0;
  for (let j = 0; j < 16; j++) {
    const len = clamp(n - 16 * j, 0, 16);
    if (len === 0) continue;
    const a0 = sc[j]!;
    let ba = a0, bestErr = symError(x, w, 16 * j, len, -32, 31, d * a0);
    for (let a = a0 - 1; a <= a0 + 1; a += 2) {
      if (a < -128 || a > 127) continue;
      const e = symError(x, w, 16 * j, len, -32, 31, d * a);
      if (e < bestErr) (bestErr = e), (ba = a);
    }
    sc[j] = ba;
    total += bestErr;
  }
  return total;
}

function q6Codes(x: Float64Array, n: number, d: number, sc: Int32Array, q: Int32Array): void {
  q.fill(0);
  for (let j = 0; j < 16; j++) {
    const step = d * sc[j]!;
    if (step === 0) continue;
    const len = clamp(n - 16 * j, 0, 16);
    for (let i = 16 * j; i < 16 * j + len; i++) q[i] = roundClamp(x[i]! / step, -32, 31);
  }
}

/** Q6_K [210 B]: u8 ql[128], u8 qh[64], i8 sc[16], f16 d. */
export function encodeQ6_K(x: Float64Array, w: Float64Array, n: number, out: Uint8Array, p: number, effort: FitEffort): void {
  let big = 0;
  for (let j = 0; j < 16; j++) {
    Q6_s[j] = fitSym(x, w, 16 * j, clamp(n - 16 * j, 0, 16), -32, 31, effort);
    if (Math.abs(Q6_s[j]!) > Math.abs(big)) big = Q6_s[j]!;
  }
  // The largest group scale gets sub-scale -128, the long end of the i8 range.
  let d = roundF16(-big / 128);
  const sc = Q6_sc;
  for (let j = 0; j < 16; j++) sc[j] = d !== 0 ? roundClamp(Q6_s[j]! / d, -128, 127) : 0;
  let err = q6Neighbours(x, w, n, d, sc);
  for (let iter = 0; iter < 3 && d !== 0; iter++) {
    q6Codes(x, n, d, sc, Q6_q);
    let aa = 0, xa = 0;
    for (let i = 0; i < n; i++) {
      const A = sc[i >> 4]! * Q6_q[i]!;
      aa += w[i]! * A * A;
      xa += w[i]! * x[i]! * A;
    }
    if (!(aa > 0)) break;
    const nd = roundF16(xa / aa);
    Q6_sc2.set(sc);
    const e2 = q6Neighbours(x, w, n, nd, Q6_sc2);
    if (!(e2 < err * (1 - 1e-9))) break;
    (d = nd), (err = e2);
    sc.set(Q6_sc2);
  }
  q6Codes(x, n, d, sc, Q6_q);
  out.fill(0, p, p + 210);
  for (let v = 0; v < 256; v++) {
    const u = Q6_q[v]! + 32, h = v >> 7, k = (v >> 5) & 3, l = v & 31;
    out[p + 64 * h + 32 * (k & 1) + l]! |= (u & 15) << (4 * (k >> 1));
    out[p + 128 + 32 * h + l]! |= (u >> 4) << (2 * k);
  }
  for (let j = 0; j < 16; j++) out[p + 192 + j] = sc[j]! & 255;
  putF16(out, p + 208, d);
}
