// Quantized kernels' input x as vec4s (binding 2): K % 4 == 0, so every unit starts on a
// vec4. x4(i): x[i..i+3], i a multiple of 4.
@group(0) @binding(2) var<storage, read> x: array<vec4f>;

fn x4(i: u32) -> vec4f {
  return x[i >> 2u];
}
