// Weight matrix W stored as f32, row-major [rows, cols], bound as vec4s (buffers are padded
// to 16 bytes). Always binding 1. w_at(i): element i; w_at4(q): elements 4q..4q+3.
@group(0) @binding(1) var<storage, read> W: array<vec4f>;

fn w_at(i: u32) -> f32 {
  return W[i >> 2u][i & 3u];
}

fn w_at4(q: u32) -> vec4f {
  return W[q];
}
