// The second pass of the blocked vision attention: softmax in place over each row of scores
// (rows of L values, s_stride apart), the padding columns L..s_stride set to 0 so the third
// pass can read whole vec4s. One thread per row: the running max and sum in one sweep
// (rescaling the sum when the max grows), then a sweep that writes exp(s - max) / sum.

struct Params {
  rows: u32,
  L: u32,
  s_stride: u32,
  _pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> s: array<f32>;      // [rows, s_stride]

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32, @builtin(num_workgroups) nwg: vec3u) {
  let r = (wg.x + wg.y * nwg.x) * 64u + lid;
  if (r >= p.rows) { return; }
  let base = r * p.s_stride;
  var m = -3.0e38;
  var l = 0.0;
  for (var j = 0u; j < p.L; j++) {
    let v = s[base + j];
    let m_new = max(m, v);
    l = l * exp(m - m_new) + exp(v - m_new);
    m = m_new;
  }
  let inv = 1.0 / l;
  for (var j = 0u; j < p.L; j++) { s[base + j] = exp(s[base + j] - m) * inv; }
  for (var j = p.L; j < p.s_stride; j++) { s[base + j] = 0.0; }
}
