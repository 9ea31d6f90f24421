// RMSNorm per row: y = w * x / sqrt(mean(x^2) + eps). One workgroup per row.

struct Params {
  rows: u32,
  cols: u32,
  eps: f32,
  _pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;            // [rows, cols]
@group(0) @binding(2) var<storage, read> w: array<f32>;            // [cols]
@group(0) @binding(3) var<storage, read_write> y: array<f32>;      // [rows, cols]

const WG = 256u;
var<workgroup> partial: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = wg.x;
  let base = row * p.cols;
  var ss = 0.0;
  for (var j = lid; j < p.cols; j += WG) {
    let v = x[base + j];
    ss += v * v;
  }
  partial[lid] = ss;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { partial[lid] += partial[lid + s]; }
    workgroupBarrier();
  }
  let inv = inverseSqrt(partial[0] / f32(p.cols) + p.eps);
  for (var j = lid; j < p.cols; j += WG) {
    y[base + j] = w[j] * (x[base + j] * inv);
  }
}
