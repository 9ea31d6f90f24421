// The first pass of the vision tower's blocked attention (vision_attention.ts, the variant for
// software rasterisers): raw scores of a chunk of queries against the keys of their segment,
//   s[h, i, j] = scale * q[q_off + i, h, :] . k[k0 + j, h, :]    i < Tq, j < L,
// a matmul per head: each thread computes 4 queries x 4 keys walking head_dim four a step
// (8 vec4 loads, four vec4 x mat4x4 products), as matmul_k4.wgsl. Needs head_dim % 4 == 0.
// Rows of s are s_stride long (L rounded up to 4); vision_softmax.wgsl fills the padding.

struct Params {
  Tq: u32,        // queries in this chunk
  L: u32,         // keys in the segment
  heads: u32,
  head_dim: u32,
  q_off: u32,     // first query of the chunk, as a row of q
  k0: u32,        // first key of the segment, as a row of k
  s_stride: u32,
  scale: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> q: array<vec4f>;          // [*, heads, head_dim/4]
@group(0) @binding(2) var<storage, read> k: array<vec4f>;          // [n, heads, head_dim/4]
@group(0) @binding(3) var<storage, read_write> s: array<f32>;      // [heads, Tq, s_stride]

const WG = 64u;

fn store4(h: u32, i: u32, j0: u32, v: vec4f) {
  if (i >= p.Tq) { return; }
  let base = (h * p.Tq + i) * p.s_stride;
  for (var c = 0u; c < 4u; c++) {
    if (j0 + c < p.L) { s[base + j0 + c] = v[c] * p.scale; }
  }
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let j0 = (wg.x * WG + lid) * 4u;   // keys j0..j0+3
  let i0 = wg.y * 4u;                // queries i0..i0+3
  let h = wg.z;
  if (j0 >= p.L) { return; }
  let D4 = p.head_dim / 4u;
  let row = p.heads * D4;            // vec4s per token
  let kb = (p.k0 + j0) * row + h * D4;
  let last_j = p.L - 1u - j0;        // keys past the segment clamp to its last one
  let k_0 = kb;
  let k_1 = kb + min(1u, last_j) * row;
  let k_2 = kb + min(2u, last_j) * row;
  let k_3 = kb + min(3u, last_j) * row;
  let last_i = p.Tq - 1u;
  let q_0 = (p.q_off + min(i0, last_i)) * row + h * D4;
  let q_1 = (p.q_off + min(i0 + 1u, last_i)) * row + h * D4;
  let q_2 = (p.q_off + min(i0 + 2u, last_i)) * row + h * D4;
  let q_3 = (p.q_off + min(i0 + 3u, last_i)) * row + h * D4;
  var a0 = vec4f(0.0);   // a_i[c]: query i0+i, key j0+c
  var a1 = vec4f(0.0);
  var a2 = vec4f(0.0);
  var a3 = vec4f(0.0);
  for (var d = 0u; d < D4; d++) {
    let km = mat4x4f(k[k_0 + d], k[k_1 + d], k[k_2 + d], k[k_3 + d]);
    a0 += q[q_0 + d] * km;
    a1 += q[q_1 + d] * km;
    a2 += q[q_2 + d] * km;
    a3 += q[q_3 + d] * km;
  }
  store4(h, i0, j0, a0);
  store4(h, i0 + 1u, j0, a1);
  store4(h, i0 + 2u, j0, a2);
  store4(h, i0 + 3u, j0, a3);
}
