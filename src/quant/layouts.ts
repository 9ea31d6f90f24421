// The package's weight layouts: block encoders (CPU quantizers) and the reference decoder.
//
// A matrix is row-major [rows, cols] and quantized row by row: each row is cut into blocks of
// `blockValues` values, the last block of a row padded (see below), and the row's blocks are
// stored one after the other; row r starts at byte r * rowBytes(cols). Six layouts are GGUF's
// block layouts byte for byte (Q4_K, Q2_K, Q6_K, Q8_0, Q4_0, IQ4_NL): for rows that are a multiple
// of the block size the tensor's bytes are exactly what a GGUF file holds, so GGUF blocks are
// imported by copying and one set of GPU kernels serves both. Q2_G32 is this package's own 2-bit
// layout for rows that are not a multiple of 256. FORMAT.md gives every byte.
//
// Padding: when cols is not a multiple of the block size, the last block of each row holds
// n = cols % blockValues real values at positions 0..n-1. The encoder fits the block's scales
// to those n values only, and writes code 0 at positions n.. (for the symmetric layouts Q4_0,
// Q8_0, Q6_K: the code of the value 0, so padded values decode to exactly 0). Readers must
// ignore the padded positions.

import { ErnieError } from '../errors';
import { GgmlType, dequantize as ggmlDequantize } from './ggml_blocks';
import { f16BitsToNumber, f16Candidates, putF16 } from './f16';
import { EFFORT, type FitEffort, affineError, fitAffine, fitSym, roundClamp, symError } from './fit';
import { encodeQ2_K, encodeQ4_K, encodeQ6_K } from './encode_k';

/** A weight scheme as the converter and manifest name it: the number of bits it aims at. */
export type Scheme = 'q2' | 'q4' | 'q6' | 'q8' | 'f16' | 'f32';
/** An exact byte layout. */
export type LayoutId = 'q4_k' | 'q2_k' | 'q6_k' | 'q8_0' | 'q4_0' | 'iq4_nl' | 'q2_g32' | 'f16' | 'f32';

export interface LayoutInfo {
  id: LayoutId;
  scheme: Scheme;
  /** Values per block (1 for f16/f32). */
  blockValues: number;
  /** Bytes per block. */
  blockBytes: number;
  /** The ggml type with the identical block layout, or null for package-only layouts. */
  ggmlType: number | null;
}

export const LAYOUTS: Readonly<Record<LayoutId, LayoutInfo>> = {
  q4_k: { id: 'q4_k', scheme: 'q4', blockValues: 256, blockBytes: 144, ggmlType: GgmlType.Q4_K },
  q2_k: { id: 'q2_k', scheme: 'q2', blockValues: 256, blockBytes: 84, ggmlType: GgmlType.Q2_K },
  q6_k: { id: 'q6_k', scheme: 'q6', blockValues: 256, blockBytes: 210, ggmlType: GgmlType.Q6_K },
  q8_0: { id: 'q8_0', scheme: 'q8', blockValues: 32, blockBytes: 34, ggmlType: GgmlType.Q8_0 },
  q4_0: { id: 'q4_0', scheme: 'q4', blockValues: 32, blockBytes: 18, ggmlType: GgmlType.Q4_0 },
  iq4_nl: { id: 'iq4_nl', scheme: 'q4', blockValues: 32, blockBytes: 18, ggmlType: 20 },
  q2_g32: { id: 'q2_g32', scheme: 'q2', blockValues: 32, blockBytes: 12, ggmlType: null },
  f16: { id: 'f16', scheme: 'f16', blockValues: 1, blockBytes: 2, ggmlType: GgmlType.F16 },
  f32: { id: 'f32', scheme: 'f32', blockValues: 1, blockBytes: 4, ggmlType: GgmlType.F32 },
};

export const SCHEMES: readonly Scheme[] = ['q2', 'q4', 'q6', 'q8', 'f16', 'f32'];

export function isLayoutId(v: unknown): v is LayoutId {
  return typeof v === 'string' && Object.hasOwn(LAYOUTS, v);
}

export function isScheme(v: unknown): v is Scheme {
  return typeof v === 'string' && (SCHEMES as readonly string[]).includes(v);
}

/** The layout a scheme uses for rows of `cols` values: the 256-value K layouts when they fit exactly. */
export function layoutFor(scheme: Scheme, cols: number): LayoutId {
  const k = cols % 256 === 0;
  switch (scheme) {
    case 'q4': return k ? 'q4_k' : 'iq4_nl';
    case 'q2': return k ? 'q2_k' : 'q2_g32';
    case 'q6': return k ? 'q6_k' : 'q8_0';
    case 'q8': return 'q8_0';
    case 'f16': return 'f16';
    case 'f32': return 'f32';
  }
}

/**
 * A layout id as is, or a scheme ('q2', 'q4', 'q6', 'q8') resolved to its layout for rows of
 * `cols` values (layoutFor).
 */
export function resolveLayout(layoutOrScheme: LayoutId | Scheme, cols: number): LayoutId {
  if (isLayoutId(layoutOrScheme)) return layoutOrScheme;
  if (isScheme(layoutOrScheme)) return layoutFor(layoutOrScheme, cols);
  throw new ErnieError('UNSUPPORTED', `unknown layout ${JSON.stringify(layoutOrScheme)} (layouts: ${Object.keys(LAYOUTS).join(', ')}; schemes: ${SCHEMES.join(', ')})`);
}

/** The layout whose bytes are exactly ggml type `id`'s (Q4_K, Q2_K, Q6_K, Q8_0, Q4_0, IQ4_NL, F16, F32), or null. */
export function layoutOfGgmlType(id: number): LayoutId | null {
  for (const l of Object.values(LAYOUTS)) if (l.ggmlType === id) return l.id;
  return null;
}

/** Storage bits per value of a layout (blocks fully used). */
export function bitsPerWeight(layout: LayoutId): number {
  const l = LAYOUTS[layout];
  return (l.blockBytes * 8) / l.blockValues;
}

/** Bytes of one stored row of `cols` values. */
export function rowBytes(layout: LayoutId, cols: number): number {
  const l = LAYOUTS[layout];
  return Math.ceil(cols / l.blockValues) * l.blockBytes;
}

/** Bytes of a [rows, cols] matrix. */
export function tensorBytes(layout: LayoutId, rows: number, cols: number): number {
  return rows * rowBytes(layout, cols);
}

/** [rows, cols] of a tensor shape as it is quantized: the last dim is the row, the rest are rows. */
export function matrixDims(shape: readonly number[]): [number, number] {
  if (shape.length === 0) return [1, 1];
  const cols = shape[shape.length - 1]!;
  return [shape.slice(0, -1).reduce((a, b) => a * b, 1), cols];
}

function checkDims(rows: number, cols: number): void {
  if (!Number.isSafeInteger(rows) || !Number.isSafeInteger(cols) || rows < 0 || cols <= 0) {
    throw new ErnieError('BAD_REQUEST', `invalid matrix dims [${rows}, ${cols}]`);
  }
}

/** Options of quantize(). */
export interface QuantizeOptions {
  /**
   * Per-column importance weights (cols values, >= 0): the scales minimise Σ_k c_k (x_k - x̂_k)²
   * instead of the plain squared error. The converter passes the squared weights of the RMSNorm
   * that feeds the matrix (the expected output error for normalised inputs). Default: all 1.
   */
  columnWeights?: ArrayLike<number>;
  /** Search effort of the scale fits (fit.ts EFFORT); default 'best'. */
  effort?: keyof typeof EFFORT;
}

/**
 * Largest magnitude the block layouts take: their scales are f16 (max 65504), and a scale is at
 * least max|x| / 128 (Q6_K's i8 sub-scale times its 6-bit code range is the widest).
 */
const MAX_VALUE = 65504;

function badValue(i: number, cols: number, v: number, why = 'cannot be quantized (not finite, or beyond the f16 scale range)'): ErnieError {
  return new ErnieError('BAD_REQUEST', `quantize: value ${v} at [${Math.floor(i / cols)}, ${i % cols}] ${why}`);
}

// Scratch for one block (values and weights), so the encoders run on monomorphic f64 arrays.
const X = new Float64Array(256);
const W = new Float64Array(256);

/**
 * Quantizes a row-major f32 [rows, cols] matrix to `layout` (or to the layout a scheme uses for
 * this row length). Returns rows * rowBytes(layout, cols) bytes.
 */
export function quantize(layoutOrScheme: LayoutId | Scheme, data: ArrayLike<number>, rows: number, cols: number, opts: QuantizeOptions = {}): Uint8Array<ArrayBuffer> {
  checkDims(rows, cols);
  const layout = resolveLayout(layoutOrScheme, cols);
  if (data.length !== rows * cols) throw new ErnieError('BAD_REQUEST', `quantize: ${data.length} values are not [${rows}, ${cols}]`);
  const cw = opts.columnWeights;
  if (cw !== undefined && cw.length !== cols) throw new ErnieError('BAD_REQUEST', `quantize: ${cw.length} column weights for ${cols} columns`);
  const effort = EFFORT[opts.effort ?? 'best'];
  if (!effort) throw new ErnieError('BAD_REQUEST', `quantize: unknown effort ${JSON.stringify(opts.effort)}`);
  const l = LAYOUTS[layout];
  const rb = rowBytes(layout, cols);
  const out = new Uint8Array(rows * rb);
  if (layout === 'f32') {
    new Float32Array(out.buffer).set(data);
    return out;
  }
  if (layout === 'f16') {
    for (let i = 0; i < data.length; i++) {
      const v = data[i]!;
      if (!(Math.abs(v) <= 65504)) throw badValue(i, cols, v, 'is outside the f16 range');
      putF16(out, 2 * i, v);
    }
    return out;
  }
  if (cw !== undefined) {
    for (let i = 0; i < cols; i++) {
      if (!(cw[i]! >= 0 && cw[i]! < Infinity)) throw new ErnieError('BAD_REQUEST', `quantize: column weight ${i} is ${cw[i]}; weights must be finite and >= 0`);
    }
  }
  const encode = ENCODERS[layout]!;
  const B = l.blockValues;
  for (let r = 0; r < rows; r++) {
    for (let c = 0, p = r * rb; c < cols; c += B, p += l.blockBytes) {
      const n = Math.min(B, cols - c), base = r * cols + c;
      for (let i = 0; i < n; i++) {
        const v = data[base + i]!;
        if (!(Math.abs(v) <= MAX_VALUE)) throw badValue(base + i, cols, v);
        X[i] = v;
        W[i] = cw === undefined ? 1 : cw[c + i]!;
      }
      X.fill(0, n, B);
      W.fill(0, n, B);
      encode(X, W, n, out, p, effort);
    }
  }
  return out;
}

/**
 * The reference decoder: `bytes` of a [rows, cols] matrix in `layout` (or a scheme's layout for
 * this row length) to f32, row-major, padding dropped. The GGUF-identical layouts decode through
 * ggml_blocks (the same arithmetic, f32 rounding included). GPU kernels are tested against this.
 */
export function dequantizeRows(layoutOrScheme: LayoutId | Scheme, bytes: Uint8Array, rows: number, cols: number): Float32Array {
  checkDims(rows, cols);
  const layout = resolveLayout(layoutOrScheme, cols);
  const l = LAYOUTS[layout];
  const rb = rowBytes(layout, cols);
  if (bytes.length < rows * rb) {
    throw new ErnieError('BAD_REQUEST', `${layout} [${rows}, ${cols}] needs ${rows * rb} bytes, got ${bytes.length}`);
  }
  const blocksPerRow = rb / l.blockBytes;
  const padded = blocksPerRow * l.blockValues;
  if (padded === cols) return decodeBlocks(l, bytes.subarray(0, rows * rb), rows * blocksPerRow);
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const row = decodeBlocks(l, bytes.subarray(r * rb, (r + 1) * rb), blocksPerRow);
    out.set(row.subarray(0, cols), r * cols);
  }
  return out;
}

function decodeBlocks(l: LayoutInfo, bytes: Uint8Array, blocks: number): Float32Array {
  const out = new Float32Array(blocks * l.blockValues);
  if (l.id === 'iq4_nl') decodeIQ4NL(bytes, blocks, out);
  else if (l.id === 'q2_g32') decodeQ2G32(bytes, blocks, out);
  else return ggmlDequantize(l.ggmlType!, bytes, blocks * l.blockValues);
  return out;
}

// ---- IQ4_NL (GGUF type 20): 32 values in 18 bytes: f16 d, u8 qs[16] (nibbles as Q4_0); x = d*IQ4NL_VALUES[q] ----

/** The 16 levels of IQ4_NL, a non-uniform 4-bit grid (part of the GGUF format). */
export const IQ4NL_VALUES: readonly number[] = [-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113];

/** The IQ4_NL reference decoder. */
export function decodeIQ4NL(b: Uint8Array, blocks: number, out: Float32Array): void {
  for (let i = 0; i < blocks; i++) {
    const o = i * 18;
    const d = f16BitsToNumber(b[o]! | (b[o + 1]! << 8));
    for (let j = 0; j < 16; j++) {
      const q = b[o + 2 + j]!;
      out[i * 32 + j] = d * IQ4NL_VALUES[q & 15]!;
      out[i * 32 + j + 16] = d * IQ4NL_VALUES[q >> 4]!;
    }
  }
}

// ---- Q2_G32: 32 values in 12 bytes: f16 d, f16 m, u8 qs[8]; value 8k+l has q = (qs[l] >> 2k) & 3; x = d*q + m ----

/** The Q2_G32 reference decoder (f32 arithmetic, as a kernel computes it). */
export function decodeQ2G32(b: Uint8Array, blocks: number, out: Float32Array): void {
  for (let i = 0; i < blocks; i++) {
    const o = i * 12;
    const d = f16BitsToNumber(b[o]! | (b[o + 1]! << 8));
    const m = f16BitsToNumber(b[o + 2]! | (b[o + 3]! << 8));
    for (let v = 0; v < 32; v++) {
      const q = (b[o + 4 + (v & 7)]! >> (2 * (v >> 3))) & 3;
      out[i * 32 + v] = Math.fround(d * q) + m;
    }
  }
}

// ---- encoders: (block values, weights, real values n <= blockValues, out, out offset, effort) ----
// x and w hold the block's values from index 0; positions n.. are padding (x = 0, w = 0).

type Encoder = (x: Float64Array, w: Float64Array, n: number, out: Uint8Array, p: number, effort: FitEffort) => void;


/** The f16 value among d's neighbours with the smallest symmetric-fit error. */
function bestSymScale(x: Float64Array, w: Float64Array, n: number, qmin: number, qmax: number, d: number): number {
  if (d === 0) return 0;
  let best = 0, bestErr = Infinity;
  for (const c of f16Candidates(d)) {
    const e = symError(x, w, 0, n, qmin, qmax, c);
    if (e < bestErr) (bestErr = e), (best = c);
  }
  return best;
}

/** Q8_0 [34 B]: f16 d, i8 q[32]; x = d*q. */
function encodeQ8_0(x: Float64Array, w: Float64Array, n: number, out: Uint8Array, p: number, effort: FitEffort): void {
  const d = bestSymScale(x, w, n, -128, 127, fitSym(x, w, 0, n, -128, 127, effort));
  putF16(out, p, d);
  const inv = d === 0 ? 0 : 1 / d;
  for (let j = 0; j < 32; j++) out[p + 2 + j] = j < n ? roundClamp(x[j]! * inv, -128, 127) & 255 : 0;
}

/** Q4_0 [18 B]: f16 d, u8 qs[16]: value j < 16 in the low nibble of qs[j], value j+16 in its high nibble; x = d*(q-8). */
function encodeQ4_0(x: Float64Array, w: Float64Array, n: number, out: Uint8Array, p: number, effort: FitEffort): void {
  const d = bestSymScale(x, w, n, -8, 7, fitSym(x, w, 0, n, -8, 7, effort));
  putF16(out, p, d);
  const inv = d === 0 ? 0 : 1 / d;
  for (let j = 0; j < 16; j++) {
    const lo = j < n ? roundClamp(x[j]! * inv, -8, 7) + 8 : 8;
    const hi = j + 16 < n ? roundClamp(x[j + 16]! * inv, -8, 7) + 8 : 8;
    out[p + 2 + j] = lo | (hi << 4);
  }
}

// IQ4_NL nearest level: the midpoints between levels are all multiples of 0.5, so the nearest
// level is constant on each interval [j/2, (j+1)/2) and a table indexed by floor(2v) finds it.
const NL_HALF_RANGE = 300;
const NL_TABLE = (() => {
  const t = new Uint8Array(2 * NL_HALF_RANGE);
  for (let j = -NL_HALF_RANGE; j < NL_HALF_RANGE; j++) {
    const v = j / 2 + 0.25;
    let best = 0;
    for (let k = 1; k < 16; k++) if (Math.abs(v - IQ4NL_VALUES[k]!) < Math.abs(v - IQ4NL_VALUES[best]!)) best = k;
    t[j + NL_HALF_RANGE] = best;
  }
  return t;
})();

/** Index of the IQ4_NL level nearest to v (v in units of d). */
function nearestIQ4NL(v: number): number {
  const t = 2 * v + NL_HALF_RANGE; // table index floor(2v) + NL_HALF_RANGE, clamped
  return NL_TABLE[t <= 0 ? 0 : t >= 2 * NL_HALF_RANGE ? 2 * NL_HALF_RANGE - 1 : t | 0]!;
}

function iq4nlError(x: Float64Array, w: Float64Array, n: number, d: number): number {
  let err = 0;
  const inv = d === 0 ? 0 : 1 / d;
  for (let i = 0; i < n; i++) {
    const e = x[i]! - d * IQ4NL_VALUES[nearestIQ4NL(x[i]! * inv)]!;
    err += w[i]! * e * e;
  }
  return err;
}

/** IQ4_NL [18 B]: the scale d minimising the (weighted) squared error on the non-uniform grid. */
function encodeIQ4NL(x: Float64Array, w: Float64Array, n: number, out: Uint8Array, p: number, effort: FitEffort): void {
  let amax = 0, XX = 0;
  for (let i = 0; i < n; i++) {
    if (Math.abs(x[i]!) > Math.abs(amax)) amax = x[i]!;
    XX += w[i]! * x[i]! * x[i]!;
  }
  let best = 0, bestErr = XX;
  if (amax !== 0) {
    const steps = effort.steps * (effort.anchors + 1);
    for (let side = 0; side < 2; side++) {
      const level = side === 0 ? IQ4NL_VALUES[0]! : IQ4NL_VALUES[15]!;
      for (let k = 0; k <= steps; k++) {
        let inv = (level * (0.5 + (0.55 * k) / steps)) / amax;
        for (let r = 0; r <= effort.rounds + 1; r++) {
          // nearest codes for d = 1/inv: their error, and the least-squares d for them
          let xk = 0, kk = 0, err = 0;
          const d0 = 1 / inv;
          for (let i = 0; i < n; i++) {
            const kv = IQ4NL_VALUES[nearestIQ4NL(x[i]! * inv)]!;
            const wk = w[i]! * kv;
            xk += wk * x[i]!;
            kk += wk * kv;
            const e = x[i]! - d0 * kv;
            err += w[i]! * e * e;
          }
          if (r > 0 && err < bestErr) (bestErr = err), (best = d0);
          if (!(kk > 0)) break;
          const d = xk / kk, e = Math.max(XX - (xk * xk) / kk, 0);
          if (e < bestErr) (bestErr = e), (best = d);
          else if (r > 0) break;
          inv = 1 / d;
        }
      }
    }
  }
  let d = 0;
  if (best !== 0) {
    let e = Infinity;
    for (const c of f16Candidates(best)) {
      const ce = iq4nlError(x, w, n, c);
      if (ce < e) (e = ce), (d = c);
    }
  }
  putF16(out, p, d);
  const inv = d === 0 ? 0 : 1 / d;
  for (let j = 0; j < 16; j++) {
    const lo = j < n ? nearestIQ4NL(x[j]! * inv) : 8;
    const hi = j + 16 < n ? nearestIQ4NL(x[j + 16]! * inv) : 8;
    out[p + 2 + j] = lo | (hi << 4);
  }
}

/** Q2_G32 [12 B]: see decodeQ2G32. */
function encodeQ2G32(x: Float64Array, w: Float64Array, n: number, out: Uint8Array, p: number, effort: FitEffort): void {
  const fit = fitAffine(x, w, 0, n, 3, false, effort);
  const s = fit[0]!, b = fit[1]!;
  let bd = 0, bm = 0, bestErr = Infinity;
  for (const d of s === 0 ? [0] : f16Candidates(s)) {
    for (const m of b === 0 ? [0] : f16Candidates(b)) {
      const e = affineError(x, w, 0, n, 3, d, m);
      if (e < bestErr) (bestErr = e), (bd = d), (bm = m);
    }
  }
  putF16(out, p, bd);
  putF16(out, p + 2, bm);
  out.fill(0, p + 4, p + 12);
  if (bd === 0) return;
  for (let j = 0; j < n; j++) {
    const q = roundClamp((x[j]! - bm) / bd, 0, 3);
    out[p + 4 + (j & 7)]! |= q << (2 * (j >> 3));
  }
}

const ENCODERS: Partial<Record<LayoutId, Encoder>> = {
  q4_k: encodeQ4_K,
  q2_k: encodeQ2_K,
  q6_k: encodeQ6_K,
  q8_0: encodeQ8_0,
  q4_0: encodeQ4_0,
  iq4_nl: encodeIQ4NL,
  q2_g32: encodeQ2G32,
};
