// Weight matrix W stored as f16, row-major [rows, cols], read as packed u32 pairs so the
// kernel needs no `shader-f16` feature. Element i lives in word i/2, low half first.
@group(0) @binding(1) var<storage, read> W: array<u32>;

fn w_at(i: u32) -> f32 {
  let pair = unpack2x16float(W[i >> 1u]);
  return select(pair.x, pair.y, (i & 1u) == 1u);
}
