// Rows side by side: out[r] = [x[pairs[r].x], x[pairs[r].y]], for the resampler's temporal
// merge (video frames 2k and 2k+1; a still image pairs each row with itself).

struct Params {
  rows: u32,
  cols: u32,
  _pad0: u32,
  _pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;            // [source rows, cols]
@group(0) @binding(2) var<storage, read> pairs: array<vec2u>;      // [rows] source row indices
@group(0) @binding(3) var<storage, read_write> out: array<f32>;    // [rows, 2 * cols]

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32, @builtin(num_workgroups) nwg: vec3u) {
  let i = (wg.x + wg.y * nwg.x) * 256u + lid;
  if (i >= p.rows * 2u * p.cols) { return; }
  let r = i / (2u * p.cols);
  let c = i % (2u * p.cols);
  let pr = pairs[r];
  let src = select(pr.x, pr.y, c >= p.cols);
  out[i] = x[src * p.cols + c % p.cols];
}
