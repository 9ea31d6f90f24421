// Shared by the quantized matmul kernels (matvec_q.wgsl, moe_matmul_q.wgsl): the weight
// buffer as raw u32 words (binding 1), byte/word readers for any byte offset, an exact f16
// decode, and the 32-value "unit" every layout decodes into registers: `wq` holds the unit's
// 32 weights (wq[i] = values 4i..4i+3), each computed with the same f32 operations as the CPU
// reference decoder (src/quant/layouts.ts dequantizeRows), so the kernels differ from the
// reference only in the order of the dot product's additions. A layout include
// (shaders/common/q_<layout>.wgsl) defines `fn decode_unit(row_byte: u32, u: u32)`, which
// fills `wq` with values 32u..32u+31 of the row whose first byte is `row_byte`.

@group(0) @binding(1) var<storage, read> W: array<u32>;

var<private> wq: array<vec4f, 8>;

/** Shifts that put byte j of a word in the low bits, for the four bytes at once. */
const BYTE_SHIFTS = vec4u(0u, 8u, 16u, 24u);

// No helper returns early: WGSL's uniformity analysis treats control flow after a call to a
// function with a non-uniform return as non-uniform, and the subgroup kernels call subgroupAdd.

/** The u16 at an even byte offset o (every f16 field of every layout is 2-byte aligned). */
fn u16_at(o: u32) -> u32 {
  return (W[o >> 2u] >> ((o & 2u) * 8u)) & 0xffffu;
}

/** The byte at byte offset o. */
fn byte_at(o: u32) -> u32 {
  return (W[o >> 2u] >> ((o & 3u) * 8u)) & 0xffu;
}

/** f16 bits (low 16 bits of h) to f32, exact; subnormals are decoded, never flushed. */
fn f16_bits(h: u32) -> f32 {
  let mag = h & 0x7fffu;
  // zero or subnormal: mag * 2^-24 (exact in f32); unpack2x16float may flush those
  let sub = f32(mag) * 5.9604644775390625e-8;
  let v = select(unpack2x16float(mag).x, sub, mag < 0x400u);
  return select(v, -v, (h & 0x8000u) != 0u);
}

/**
 * 8 consecutive u32 words starting at byte offset o (any alignment), as two vec4s: 9 aligned
 * loads and a funnel shift (Q8_0's and Q4_0's blocks are 34 and 18 bytes, Q6_K's 210).
 */
fn load_words8(o: u32) -> array<vec4u, 2> {
  let i = o >> 2u;
  let s = vec4u((o & 3u) * 8u);
  // s == 0: the high part must vanish, but a shift by 32 is taken mod 32; mask it instead
  let r = (vec4u(32u) - s) & vec4u(31u);
  let keep = select(vec4u(0xffffffffu), vec4u(0u), s == vec4u(0u));
  let a = vec4u(W[i], W[i + 1u], W[i + 2u], W[i + 3u]);
  let b = vec4u(W[i + 4u], W[i + 5u], W[i + 6u], W[i + 7u]);
  let c = W[i + 8u];
  return array<vec4u, 2>(
    (a >> s) | ((vec4u(a.yzw, b.x) << r) & keep),
    (b >> s) | ((vec4u(b.yzw, c) << r) & keep),
  );
}

/** 4 consecutive u32 words starting at byte offset o (any alignment): 5 aligned loads. */
fn load_words4(o: u32) -> vec4u {
  let i = o >> 2u;
  let s = vec4u((o & 3u) * 8u);
  let r = (vec4u(32u) - s) & vec4u(31u);
  let keep = select(vec4u(0xffffffffu), vec4u(0u), s == vec4u(0u));
  let a = vec4u(W[i], W[i + 1u], W[i + 2u], W[i + 3u]);
  return (a >> s) | ((vec4u(a.yzw, W[i + 4u]) << r) & keep);
}

/** Field (w >> (8j + shift)) & mask of each byte j of w: 4 codes packed at the same bit position. */
fn fields4(w: u32, shift: u32, mask: u32) -> vec4u {
  return (vec4u(w) >> (BYTE_SHIFTS + vec4u(shift))) & vec4u(mask);
}
