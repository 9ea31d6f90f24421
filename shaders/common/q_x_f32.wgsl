// Quantized kernels' input x as plain f32 (binding 2): for K % 4 != 0, where rows are not
// vec4-aligned. x4(i): x[i..i+3].
@group(0) @binding(2) var<storage, read> x: array<f32>;

fn x4(i: u32) -> vec4f {
  return vec4f(x[i], x[i + 1u], x[i + 2u], x[i + 3u]);
}
