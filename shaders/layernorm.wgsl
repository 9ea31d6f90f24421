// LayerNorm with bias per row: y = (x - mean) / sqrt(var + eps) * w + b (biased variance, as
// torch.nn.LayerNorm). One workgroup per row; mean first, then the centred sum of squares, so
// rows with a large mean lose no precision.

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

const WG = 256u;
var<workgroup> partial: array<f32, WG>;

fn row_sum(v: f32, lid: u32) -> f32 {
  partial[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { partial[lid] += partial[lid + s]; }
    workgroupBarrier();
  }
  let total = partial[0];
  workgroupBarrier();
  return total;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32, @builtin(num_workgroups) nwg: vec3u) {
  let row = wg.x + wg.y * nwg.x;
  if (row >= p.rows) { return; }   // uniform per workgroup
  let base = row * p.cols;
  var s = 0.0;
  for (var j = lid; j < p.cols; j += WG) { s += x[base + j]; }
  let mean = row_sum(s, lid) / f32(p.cols);
  var ss = 0.0;
  for (var j = lid; j < p.cols; j += WG) {
    let d = x[base + j] - mean;
    ss += d * d;
  }
  let inv = inverseSqrt(row_sum(ss, lid) / f32(p.cols) + p.eps);
  for (var j = lid; j < p.cols; j += WG) {
    y[base + j] = (x[base + j] - mean) * inv * w[j] + b[j];
  }
}
