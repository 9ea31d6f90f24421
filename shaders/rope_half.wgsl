// Rotate-half ("NEOX") RoPE in place, for the vision tower's 2D RoPE: in each head of D dims,
// dims d and d + D/2 turn together:
//   x'[d]       = x[d] * cos - x[d + D/2] * sin
//   x'[d + D/2] = x[d + D/2] * cos + x[d] * sin
// Rows may be wider than the rotated heads (q and k inside a fused qkv row): row t's heads start
// at t * row_stride; `heads` consecutive heads are turned. cos/sin come from a host table [T, D/2].

struct Params {
  T: u32,
  heads: u32,
  half_dim: u32,
  row_stride: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> x: array<f32>;      // [T, row_stride]
@group(0) @binding(2) var<storage, read> cs: array<vec2f>;         // [T, half_dim] (cos, sin)

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32, @builtin(num_workgroups) nwg: vec3u) {
  let i = (wg.x + wg.y * nwg.x) * 256u + lid;    // one (d, d + D/2) pair per thread
  if (i >= p.T * p.heads * p.half_dim) { return; }
  let d = i % p.half_dim;
  let h = (i / p.half_dim) % p.heads;
  let t = i / (p.heads * p.half_dim);
  let c = cs[t * p.half_dim + d];
  let base = t * p.row_stride + h * 2u * p.half_dim + d;
  let a = x[base];
  let b = x[base + p.half_dim];
  x[base] = a * c.x - b * c.y;
  x[base + p.half_dim] = b * c.x + a * c.y;
}
