// Weight matrix W stored as f32, row-major [rows, cols]. Always binding 1.
@group(0) @binding(1) var<storage, read> W: array<f32>;

fn w_at(i: u32) -> f32 {
  return W[i];
}
