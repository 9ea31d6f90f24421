// LayerNorm with bias per row: y = (x - mean) / sqrt(var + eps) * w + b (biased variance, as
// torch.nn.LayerNorm). One thread per row, no barriers (barriers are what software adapters
// run slowest); mean first, then the centred sum of squares, so rows with a large mean lose no
// precision. The vision tower has hundreds to tens of thousands of rows, enough threads.

struct Params {
  rows: u32,
  cols: u32,
  eps: f32,
  _pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;            // [rows, cols]
@group(0) @binding(2) var<storage, read> w: array<f32>;            // [cols]
@group(0) @binding(3) var<storage, read> b: array<f32>;            // [cols]
@group(0) @binding(4) var<storage, read_write> y: array<f32>;      // [rows, cols]

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32, @builtin(num_workgroups) nwg: vec3u) {
  let row = (wg.x + wg.y * nwg.x) * 64u + lid;
  if (row >= p.rows) { return; }
  let base = row * p.cols;
  var s = 0.0;
  for (var j = 0u; j < p.cols; j++) { s += x[base + j]; }
  let mean = s / f32(p.cols);
  var ss = 0.0;
  for (var j = 0u; j < p.cols; j++) {
    let d = x[base + j] - mean;
    ss += d * d;
  }
  let inv = inverseSqrt(ss / f32(p.cols) + p.eps);
  for (var j = 0u; j < p.cols; j++) {
    y[base + j] = (x[base + j] - mean) * inv * w[j] + b[j];
  }
}
