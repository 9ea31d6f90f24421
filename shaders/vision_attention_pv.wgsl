// The third pass of the blocked vision attention: the chunk's outputs from the softmaxed scores,
//   out[q_off + i, h, :] = sum_j s[h, i, j] * v[k0 + j, h, :],
// each thread 4 queries x 4 dims of one head, walking the keys four a step: one vec4 of each
// of its 4 score rows and of 4 value rows (8 loads) feed four mat4x4 x vec4 products.
// Padding scores are 0; value rows past the segment clamp to its last (finite) row.

struct Params {
  Tq: u32,
  L: u32,
  heads: u32,
  head_dim: u32,
  q_off: u32,
  k0: u32,
  s_stride: u32,
  _pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> s: array<vec4f>;          // [heads, Tq, s_stride/4]
@group(0) @binding(2) var<storage, read> v: array<vec4f>;          // [n, heads, head_dim/4]
@group(0) @binding(3) var<storage, read_write> out: array<vec4f>;  // [*, heads, head_dim/4]

const WG = 64u;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let D4 = p.head_dim / 4u;
  let g = wg.x * WG + lid;
  let db = g % D4;                   // dims 4db..4db+3
  let i0 = (g / D4) * 4u;            // queries i0..i0+3
  let h = wg.y;
  if (i0 >= p.Tq) { return; }
  let row = p.heads * D4;
  let S4 = p.s_stride / 4u;
  let last_i = p.Tq - 1u;
  let s_0 = (h * p.Tq + min(i0, last_i)) * S4;
  let s_1 = (h * p.Tq + min(i0 + 1u, last_i)) * S4;
  let s_2 = (h * p.Tq + min(i0 + 2u, last_i)) * S4;
  let s_3 = (h * p.Tq + min(i0 + 3u, last_i)) * S4;
  let vb = h * D4 + db;
  let last_j = p.k0 + p.L - 1u;
  var a0 = vec4f(0.0);   // a_i: query i0+i, dims 4db..4db+3
  var a1 = vec4f(0.0);
  var a2 = vec4f(0.0);
  var a3 = vec4f(0.0);
  for (var jb = 0u; jb < S4; jb++) {
    let j = p.k0 + 4u * jb;
    // column c: value row j+c, so (vm * s_i) = sum_c s_i[c] * v[j + c]
    let vm = mat4x4f(v[j * row + vb], v[min(j + 1u, last_j) * row + vb], v[min(j + 2u, last_j) * row + vb], v[min(j + 3u, last_j) * row + vb]);
    a0 += vm * s[s_0 + jb];
    a1 += vm * s[s_1 + jb];
    a2 += vm * s[s_2 + jb];
    a3 += vm * s[s_3 + jb];
  }
  let ob = (p.q_off + i0) * row + vb;
  out[ob] = a0;
  if (i0 + 1u < p.Tq) { out[ob + row] = a1; }
  if (i0 + 2u < p.Tq) { out[ob + 2u * row] = a2; }
  if (i0 + 3u < p.Tq) { out[ob + 3u * row] = a3; }
}
