// Matrix-vector for decode (and batches up to 8 tokens): y[t, n] (+)= sum_k x[t, k] * W[n, k].
// Portable variant: one thread per output row n, reading its weight row once for all tokens.
// No workgroup memory and no barriers (software rasterisers such as SwiftShader run
// barrier-free kernels as plain SIMD loops). With the `subgroups` feature the host uses
// matvec_subgroup.wgsl instead, whose reads coalesce on GPUs.

struct Params {
  tokens: u32,       // <= MAX_TOKENS
  K: u32,
  N: u32,
  accumulate: u32,   // 1: y += x·Wᵀ (fused residual add), 0: y = x·Wᵀ
}

@group(0) @binding(0) var<uniform> p: Params;
#include "weights"
@group(0) @binding(2) var<storage, read> x: array<f32>;            // [tokens, K]
@group(0) @binding(3) var<storage, read_write> y: array<f32>;      // [tokens, N]

const WG = 64u;
const MAX_TOKENS = 8u;

fn x4(i: u32) -> vec4f {
  return vec4f(x[i], x[i + 1u], x[i + 2u], x[i + 3u]);
}

fn store(t: u32, n: u32, v: f32) {
  let o = t * p.N + n;
  y[o] = select(0.0, y[o], p.accumulate == 1u) + v;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32, @builtin(num_workgroups) nwg: vec3u) {
  let n = (wg.x + wg.y * nwg.x) * WG + lid;
  if (n >= p.N) { return; }
  let row = n * p.K;
  if (p.tokens == 1u && p.K % 4u == 0u) {
    // decode: one token, rows in whole vec4s
    var acc = 0.0;
    for (var q = 0u; q < p.K / 4u; q++) { acc += dot(w_at4(row / 4u + q), x4(4u * q)); }
    store(0u, n, acc);
    return;
  }
  var acc: array<f32, MAX_TOKENS>;
  for (var k = 0u; k < p.K; k++) {
    let wv = w_at(row + k);
    for (var t = 0u; t < p.tokens; t++) { acc[t] += wv * x[t * p.K + k]; }
  }
  for (var t = 0u; t < p.tokens; t++) { store(t, n, acc[t]); }
}
