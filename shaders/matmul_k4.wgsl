// Matrix-matrix for prefill when K % 4 == 0: y[t, n] (+)= sum_k x[t, k] * W[n, k].
// The barrier-free variant (src/kernels/variants.ts 'blocked'), written for software rasterisers:
// on SwiftShader every storage load is a per-lane gather (the dominant cost) and a private array
// indexed by a variable lives in memory, so each thread keeps a 4 tokens x 4 rows block in four
// vec4 registers and walks K four columns a step: one vec4 from each of its 4 input rows and 4
// weight rows (8 loads) feed 64 multiply-adds as four vec4 x mat4x4 products. Edge blocks clamp
// their loads to the last row/token and store only what exists. matmul.wgsl serves K % 4 != 0.

struct Params {
  T: u32,
  K: u32,
  N: u32,
  accumulate: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
#include "weights"
@group(0) @binding(2) var<storage, read> x: array<vec4f>;          // [T, K/4]
@group(0) @binding(3) var<storage, read_write> y: array<f32>;      // [T, N]

const WG = 64u;

#include "matmul_store4"

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32) {
  // x: blocks of 4 rows of N; y: blocks of 4 tokens
  let n0 = (wg.x * WG + lid) * 4u;
  let t0 = wg.y * 4u;
  if (n0 >= p.N) { return; }
  let K4 = p.K / 4u;
  let w0 = min(n0, p.N - 1u) * K4;
  let w1 = min(n0 + 1u, p.N - 1u) * K4;
  let w2 = min(n0 + 2u, p.N - 1u) * K4;
  let w3 = min(n0 + 3u, p.N - 1u) * K4;
  let x0 = min(t0, p.T - 1u) * K4;
  let x1 = min(t0 + 1u, p.T - 1u) * K4;
  let x2 = min(t0 + 2u, p.T - 1u) * K4;
  let x3 = min(t0 + 3u, p.T - 1u) * K4;
  var a0 = vec4f(0.0);   // a_i[j]: token t0+i, row n0+j
  var a1 = vec4f(0.0);
  var a2 = vec4f(0.0);
  var a3 = vec4f(0.0);
  for (var k = 0u; k < K4; k++) {
    // column j of wm: row n0+j at columns 4k..4k+3, so (x_i * wm)[j] = dot(x_i, row j)
    let wm = mat4x4f(w_at4(w0 + k), w_at4(w1 + k), w_at4(w2 + k), w_at4(w3 + k));
    a0 += x[x0 + k] * wm;
    a1 += x[x1 + k] * wm;
    a2 += x[x2 + k] * wm;
    a3 += x[x3 + k] * wm;
  }
  store4(t0, n0, a0);
  store4(t0 + 1u, n0, a1);
  store4(t0 + 2u, n0, a2);
  store4(t0 + 3u, n0, a3);
}
