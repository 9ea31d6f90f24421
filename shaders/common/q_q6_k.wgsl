// Q6_K [210 B / 256 values]: u8 ql[128], u8 qh[64], i8 sc[16], f16 d. Group j (16 values):
// x = (d*sc_j)*(q - 32); value 128h + 32k + l has low 4 bits (ql[64h + 32(k&1) + l] >> 4(k>>1)) & 15
// and high 2 bits (qh[32h + l] >> 2k) & 3. One unit = values 32j'..32j'+31 (h, k fixed, l = 0..31):
// 32 consecutive bytes of ql and of qh. Blocks are only 2-byte aligned (210 B): unaligned reads.
fn q6_k_4(lo: u32, hi: u32, lshift: u32, hshift: u32, a: f32) -> vec4f {
  let q = fields4(lo, lshift, 15u) | (fields4(hi, hshift, 3u) << vec4u(4u));
  return a * (vec4f(q) - 32.0);
}

fn decode_unit(row_byte: u32, u: u32) {
  let o = row_byte + (u >> 3u) * 210u;
  let j = u & 7u;
  let h = j >> 2u;
  let k = j & 3u;
  let d = f16_bits(u16_at(o + 208u));
  let scw = u16_at(o + 192u + 2u * j);                  // sc[2j] | sc[2j+1] << 8, i8 each
  let a0 = d * f32(bitcast<i32>(scw << 24u) >> 24u);
  let a1 = d * f32(bitcast<i32>(scw << 16u) >> 24u);
  let lo = load_words8(o + 64u * h + 32u * (k & 1u));
  let hi = load_words8(o + 128u + 32u * h);
  let ls = 4u * (k >> 1u);
  let hs = 2u * k;
  wq[0] = q6_k_4(lo[0].x, hi[0].x, ls, hs, a0);
  wq[1] = q6_k_4(lo[0].y, hi[0].y, ls, hs, a0);
  wq[2] = q6_k_4(lo[0].z, hi[0].z, ls, hs, a0);
  wq[3] = q6_k_4(lo[0].w, hi[0].w, ls, hs, a0);
  wq[4] = q6_k_4(lo[1].x, hi[1].x, ls, hs, a1);
  wq[5] = q6_k_4(lo[1].y, hi[1].y, ls, hs, a1);
  wq[6] = q6_k_4(lo[1].z, hi[1].z, ls, hs, a1);
  wq[7] = q6_k_4(lo[1].w, hi[1].w, ls, hs, a1);
}
