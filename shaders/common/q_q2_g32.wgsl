// Q2_G32 [12 B / 32 values, this package's layout]: f16 d, f16 m, u8 qs[8]; value 8k + l has
// q = (qs[l] >> 2k) & 3; x = d*q + m. One unit = one block = 3 aligned words.
fn q2_g32_4(w: u32, shift: u32, d: f32, m: f32) -> vec4f {
  return d * vec4f(fields4(w, shift, 3u)) + m;
}

fn decode_unit(row_byte: u32, u: u32) {
  let i = (row_byte + u * 12u) >> 2u;
  let dm = W[i];
  let d = f16_bits(dm);
  let m = f16_bits(dm >> 16u);
  let a = W[i + 1u];   // qs[0..3]: values 8k + 0..3
  let b = W[i + 2u];   // qs[4..7]: values 8k + 4..7
  wq[0] = q2_g32_4(a, 0u, d, m);
  wq[1] = q2_g32_4(b, 0u, d, m);
  wq[2] = q2_g32_4(a, 2u, d, m);
  wq[3] = q2_g32_4(b, 2u, d, m);
  wq[4] = q2_g32_4(a, 4u, d, m);
  wq[5] = q2_g32_4(b, 4u, d, m);
  wq[6] = q2_g32_4(a, 6u, d, m);
  wq[7] = q2_g32_4(b, 6u, d, m);
}
