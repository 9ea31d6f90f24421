// Tiled matrix-matrix for prefill: y[t, n] (+)= sum_k x[t, k] * W[n, k].
// A 16x16 workgroup computes a 64x64 output tile (4x4 per thread), staging 64x16 slices of
// x and W in workgroup memory. Any T, K, N (edges are guarded).

struct Params {
  T: u32,
  K: u32,
  N: u32,
  accumulate: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
#include "weights"
@group(0) @binding(2) var<storage, read> x: array<f32>;            // [T, K]
@group(0) @binding(3) var<storage, read_write> y: array<f32>;      // [T, N]

const TILE = 64u;
const KT = 16u;
var<workgroup> xs: array<array<f32, KT>, TILE>;   // [t in tile][k in slice]
var<workgroup> ws: array<array<f32, KT>, TILE>;   // [n in tile][k in slice]

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) lid3: vec3u) {
  let t0 = wg.y * TILE;
  let n0 = wg.x * TILE;
  let lid = lid3.y * 16u + lid3.x;
  var acc: array<array<f32, 4>, 4>;
  for (var k0 = 0u; k0 < p.K; k0 += KT) {
    // 256 threads load 64x16 values of each operand: 4 each.
    for (var i = 0u; i < 4u; i++) {
      let e = lid + i * 256u;
      let r = e / KT;
      let c = e % KT;
      let k = k0 + c;
      let t = t0 + r;
      let n = n0 + r;
      var xv = 0.0;
      if (t < p.T && k < p.K) { xv = x[t * p.K + k]; }
      xs[r][c] = xv;
      var wv = 0.0;
      if (n < p.N && k < p.K) { wv = w_at(n * p.K + k); }
      ws[r][c] = wv;
    }
    workgroupBarrier();
    for (var c = 0u; c < KT; c++) {
      var xv: array<f32, 4>;
      var wv: array<f32, 4>;
      for (var i = 0u; i < 4u; i++) {
        xv[i] = xs[lid3.y + 16u * i][c];
        wv[i] = ws[lid3.x + 16u * i][c];
      }
      for (var i = 0u; i < 4u; i++) {
        for (var j = 0u; j < 4u; j++) { acc[i][j] += xv[i] * wv[j]; }
      }
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < 4u; i++) {
    let t = t0 + lid3.y + 16u * i;
    for (var j = 0u; j < 4u; j++) {
      let n = n0 + lid3.x + 16u * j;
      if (t < p.T && n < p.N) {
        let o = t * p.N + n;
        y[o] = select(0.0, y[o], p.accumulate == 1u) + acc[i][j];
      }
    }
  }
}
