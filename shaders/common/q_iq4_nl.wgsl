// IQ4_NL [18 B / 32 values]: f16 d, u8 qs[16] with the nibbles placed as in Q4_0; x = d*IQ4NL[q],
// a non-uniform 16-level grid (part of the GGUF format). One unit = one block.
const IQ4NL = array<f32, 16>(-127.0, -104.0, -83.0, -65.0, -49.0, -35.0, -22.0, -10.0, 1.0, 13.0, 25.0, 38.0, 53.0, 69.0, 89.0, 113.0);

fn iq4_nl_4(w: u32, shift: u32, d: f32) -> vec4f {
  let c = fields4(w, shift, 15u);
  return d * vec4f(IQ4NL[c.x], IQ4NL[c.y], IQ4NL[c.z], IQ4NL[c.w]);
}

fn decode_unit(row_byte: u32, u: u32) {
  let o = row_byte + u * 18u;
  let d = f16_bits(u16_at(o));
  let q = load_words4(o + 2u);
  wq[0] = iq4_nl_4(q.x, 0u, d);
  wq[1] = iq4_nl_4(q.y, 0u, d);
  wq[2] = iq4_nl_4(q.z, 0u, d);
  wq[3] = iq4_nl_4(q.w, 0u, d);
  wq[4] = iq4_nl_4(q.x, 4u, d);
  wq[5] = iq4_nl_4(q.y, 4u, d);
  wq[6] = iq4_nl_4(q.z, 4u, d);
  wq[7] = iq4_nl_4(q.w, 4u, d);
}
