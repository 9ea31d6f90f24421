// Q8_0 [34 B / 32 values]: f16 d, i8 q[32]; x = d*q. One unit = one block; blocks are 2-byte
// aligned, so the codes are read as 8 unaligned words and sign-extended four at a time.
fn q8_0_4(w: u32, d: f32) -> vec4f {
  return d * vec4f((vec4i(bitcast<i32>(w)) << vec4u(24u, 16u, 8u, 0u)) >> vec4u(24u));
}

fn decode_unit(row_byte: u32, u: u32) {
  let o = row_byte + u * 34u;
  let d = f16_bits(u16_at(o));
  let q = load_words8(o + 2u);
  wq[0] = q8_0_4(q[0].x, d);
  wq[1] = q8_0_4(q[0].y, d);
  wq[2] = q8_0_4(q[0].z, d);
  wq[3] = q8_0_4(q[0].w, d);
  wq[4] = q8_0_4(q[1].x, d);
  wq[5] = q8_0_4(q[1].y, d);
  wq[6] = q8_0_4(q[1].z, d);
  wq[7] = q8_0_4(q[1].w, d);
}
