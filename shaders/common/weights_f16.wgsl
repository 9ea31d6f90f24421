// Weight matrix W stored as f16, row-major [rows, cols], read as packed u32 pairs so the
// kernel needs no `shader-f16` feature (binding 1). Four f16 values share one vec2<u32>.
@group(0) @binding(1) var<storage, read> W: array<vec2u>;

fn w_at(i: u32) -> f32 {
  let pair = unpack2x16float(W[i >> 2u][(i >> 1u) & 1u]);
  return select(pair.x, pair.y, (i & 1u) == 1u);
}

fn w_at4(q: u32) -> vec4f {
  let w = W[q];
  return vec4f(unpack2x16float(w.x), unpack2x16float(w.y));
}
