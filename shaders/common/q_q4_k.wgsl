// Q4_K [144 B / 256 values]: f16 d, f16 dmin, u8 s[12] (6-bit scale/min pairs), u8 qs[128].
// Group j (values 32j..32j+31) is one unit: x = (d*sc_j)*q - dmin*m_j, where value 64g + l is
// the low nibble of qs[32g + l] and value 64g + 32 + l its high nibble. Blocks are 4-byte
// aligned: a unit reads the d/dmin word, the 3 scale words and 8 code words.
fn q4_k_4(w: u32, shift: u32, d1: f32, m1: f32) -> vec4f {
  return d1 * vec4f(fields4(w, shift, 15u)) - m1;
}

fn decode_unit(row_byte: u32, u: u32) {
  let i = (row_byte + (u >> 3u) * 144u) >> 2u;
  let j = u & 7u;
  let dm = W[i];
  let d = f16_bits(dm);
  let dmin = f16_bits(dm >> 16u);
  let sh = 8u * (j & 3u);
  let s0 = W[i + 1u] >> sh;   // s[j & 3]
  let s1 = W[i + 2u] >> sh;   // s[4 + (j & 3)]
  let s2 = W[i + 3u] >> sh;   // s[8 + (j & 3)]
  // j < 4: sc = s[j] & 63, m = s[j+4] & 63; j >= 4: the low 4 bits in s[j+4], the high 2 in s[j-4] / s[j]
  let lo = j < 4u;
  let sc = select((s2 & 15u) | ((s0 >> 2u) & 0x30u), s0 & 63u, lo);
  let mn = select(((s2 >> 4u) & 15u) | ((s1 >> 2u) & 0x30u), s1 & 63u, lo);
  let d1 = d * f32(sc);
  let m1 = dmin * f32(mn);
  let q = i + 4u + 8u * (j >> 1u);
  let shift = 4u * (j & 1u);
  wq[0] = q4_k_4(W[q], shift, d1, m1);
  wq[1] = q4_k_4(W[q + 1u], shift, d1, m1);
  wq[2] = q4_k_4(W[q + 2u], shift, d1, m1);
  wq[3] = q4_k_4(W[q + 3u], shift, d1, m1);
  wq[4] = q4_k_4(W[q + 4u], shift, d1, m1);
  wq[5] = q4_k_4(W[q + 5u], shift, d1, m1);
  wq[6] = q4_k_4(W[q + 6u], shift, d1, m1);
  wq[7] = q4_k_4(W[q + 7u], shift, d1, m1);
}
