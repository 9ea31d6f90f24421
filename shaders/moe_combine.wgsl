// Weighted sum of the routed experts' outputs, added into the residual stream:
//   h[t, i] += sum_j weights[t, j] * y[t*k + j, i]

struct Params {
  T: u32,
  hidden: u32,
  k: u32,
  _pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> y: array<f32>;            // [T*k, hidden]
@group(0) @binding(2) var<storage, read> weights: array<f32>;      // [T, k]
@group(0) @binding(3) var<storage, read_write> h: array<f32>;      // [T, hidden]

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32, @builtin(num_workgroups) nwg: vec3u) {
  let i = (wg.x + wg.y * nwg.x) * 256u + lid;
  if (i >= p.T * p.hidden) { return; }
  let t = i / p.hidden;
  let c = i % p.hidden;
  var s = 0.0;
  for (var j = 0u; j < p.k; j++) {
    s += weights[t * p.k + j] * y[(t * p.k + j) * p.hidden + c];
  }
  h[i] += s;
}
