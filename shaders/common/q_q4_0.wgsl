// Q4_0 [18 B / 32 values]: f16 d, u8 qs[16]; value j < 16 is the low nibble of qs[j], value
// j + 16 its high nibble; x = d*(q - 8). One unit = one block (2-byte aligned): 4 words of codes.
fn q4_0_4(w: u32, shift: u32, d: f32) -> vec4f {
  return d * (vec4f(fields4(w, shift, 15u)) - 8.0);
}

fn decode_unit(row_byte: u32, u: u32) {
  let o = row_byte + u * 18u;
  let d = f16_bits(u16_at(o));
  let q = load_words4(o + 2u);
  wq[0] = q4_0_4(q.x, 0u, d);
  wq[1] = q4_0_4(q.y, 0u, d);
  wq[2] = q4_0_4(q.z, 0u, d);
  wq[3] = q4_0_4(q.w, 0u, d);
  wq[4] = q4_0_4(q.x, 4u, d);
  wq[5] = q4_0_4(q.y, 4u, d);
  wq[6] = q4_0_4(q.z, 4u, d);
  wq[7] = q4_0_4(q.w, 4u, d);
}
