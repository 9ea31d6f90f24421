// RoPE, interleaved (GPT-J / llama.cpp "NORM") pairs, in place on x: [T, heads, headDim].
//   x'[2i]   = x[2i] * cos - x[2i+1] * sin
//   x'[2i+1] = x[2i+1] * cos + x[2i] * sin
// cos/sin come from a table [T, headDim/2] the host computes in f64: WGSL's sin/cos are only
// accurate near [-pi, pi], and angles reach pos * 1 = thousands of radians.

struct Params {
  T: u32,
  heads: u32,
  half_dim: u32,
  _pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> x: array<f32>;      // [T, heads, 2*half_dim]
@group(0) @binding(2) var<storage, read> cs: array<vec2f>;         // [T, half_dim] (cos, sin)

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32, @builtin(num_workgroups) nwg: vec3u) {
  let i = (wg.x + wg.y * nwg.x) * 256u + lid;    // one pair per thread
  if (i >= p.T * p.heads * p.half_dim) { return; }
  let pair = i % p.half_dim;
  let t = i / (p.heads * p.half_dim);
  let c = cs[t * p.half_dim + pair];
  let a = x[2u * i];
  let b = x[2u * i + 1u];
  x[2u * i] = a * c.x - b * c.y;
  x[2u * i + 1u] = b * c.x + a * c.y;
}
