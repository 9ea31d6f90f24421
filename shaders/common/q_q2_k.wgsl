// Q2_K [84 B / 256 values]: u8 sc[16] (scale low nibble, min high nibble), u8 qs[64], f16 d,
// f16 dmin. Group j (16 values): x = (d*(sc_j & 15))*q - dmin*(sc_j >> 4); value 128h + 32k + l
// has q = (qs[32h + l] >> 2k) & 3. One unit = values 32j'..32j'+31 = groups 2j', 2j'+1, whose
// codes are bit pair k of 32 consecutive bytes. Blocks are 4-byte aligned.
fn q2_k_4(w: u32, shift: u32, a: f32, b: f32) -> vec4f {
  return a * vec4f(fields4(w, shift, 3u)) - b;
}

fn decode_unit(row_byte: u32, u: u32) {
  let i = (row_byte + (u >> 3u) * 84u) >> 2u;
  let j = u & 7u;
  let dm = W[i + 20u];
  let d = f16_bits(dm);
  let dmin = f16_bits(dm >> 16u);
  let scw = W[i + (j >> 1u)] >> (16u * (j & 1u));   // sc[2j] | sc[2j+1] << 8
  let a0 = d * f32(scw & 15u);
  let b0 = dmin * f32((scw >> 4u) & 15u);
  let a1 = d * f32((scw >> 8u) & 15u);
  let b1 = dmin * f32((scw >> 12u) & 15u);
  let q = i + 4u + 8u * (j >> 2u);
  let shift = 2u * (j & 3u);
  wq[0] = q2_k_4(W[q], shift, a0, b0);
  wq[1] = q2_k_4(W[q + 1u], shift, a0, b0);
  wq[2] = q2_k_4(W[q + 2u], shift, a0, b0);
  wq[3] = q2_k_4(W[q + 3u], shift, a0, b0);
  wq[4] = q2_k_4(W[q + 4u], shift, a1, b1);
  wq[5] = q2_k_4(W[q + 5u], shift, a1, b1);
  wq[6] = q2_k_4(W[q + 6u], shift, a1, b1);
  wq[7] = q2_k_4(W[q + 7u], shift, a1, b1);
}
