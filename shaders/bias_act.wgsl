// Bias add and activation in place on x: [rows, cols]: x = act(x + b[col]).
// ACT (an override constant): 0 none, 1 quick_gelu x * sigmoid(1.702 x), 2 exact GELU x * Phi(x).

override ACT: u32 = 0u;

struct Params {
  rows: u32,
  cols: u32,
  _pad0: u32,
  _pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> x: array<f32>;      // [rows, cols]
@group(0) @binding(2) var<storage, read> b: array<f32>;            // [cols]

// erf to about 1.5e-7 (Abramowitz & Stegun 7.1.26), about f32's own precision; WGSL has no erf.
fn erf_approx(v: f32) -> f32 {
  let a = abs(v);
  let t = 1.0 / (1.0 + 0.3275911 * a);
  let poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  let r = 1.0 - poly * exp(-a * a);
  return select(r, -r, v < 0.0);
}

fn act(v: f32) -> f32 {
  if (ACT == 1u) { return v / (1.0 + exp(-1.702 * v)); }
  if (ACT == 2u) { return 0.5 * v * (1.0 + erf_approx(v * 0.70710678118654752)); }
  return v;
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32, @builtin(num_workgroups) nwg: vec3u) {
  let i = (wg.x + wg.y * nwg.x) * 256u + lid;
  if (i >= p.rows * p.cols) { return; }
  x[i] = act(x[i] + b[i % p.cols]);
}
