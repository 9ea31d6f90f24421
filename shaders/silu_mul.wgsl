// SwiGLU activation: out[r, i] = silu(gu[r, i]) * gu[r, inter + i], where gu holds the gate
// and up projections side by side ([rows, 2*inter]: one matmul computes both).

struct Params {
  rows: u32,
  inter: u32,
  _pad0: u32,
  _pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> gu: array<f32>;           // [rows, 2*inter]
@group(0) @binding(2) var<storage, read_write> out: array<f32>;    // [rows, inter]

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32, @builtin(num_workgroups) nwg: vec3u) {
  let i = (wg.x + wg.y * nwg.x) * 256u + lid;
  if (i >= p.rows * p.inter) { return; }
  let r = i / p.inter;
  let c = i % p.inter;
  let g = gu[r * 2u * p.inter + c];
  let u = gu[r * 2u * p.inter + p.inter + c];
  out[i] = g / (1.0 + exp(-g)) * u;
}
