// Quantized matrix-matrix for prefill on GPUs, tiled in workgroup memory:
// y[t, n] (+)= sum_k x[t, k] * dequant(W)[n, k], W in one of the block layouts (the q_<layout>
// include's decode_unit, as matvec_q.wgsl). A workgroup of 128 threads computes 64 output rows x
// 32 tokens. Per 32-value unit of K: threads 0..63 each decode one row's unit (in registers, then
// into workgroup memory), threads 64..127 copy the 32 tokens' inputs, a barrier, and each thread
// accumulates a 4 rows x 4 tokens block: each weight is decoded once per 32 tokens (matvec_q.wgsl's
// passes decode it once per 8). 12 KiB of workgroup memory. Any T, K, N.
// Named matvec_q_* beside its decode sibling; the host code is src/kernels/matmul_q.ts.

struct Params {
  tokens: u32,
  K: u32,
  N: u32,
  accumulate: u32,
  row_bytes: u32,
  units: u32,        // ceil(K / 32)
}

@group(0) @binding(0) var<uniform> p: Params;
#include "q_common"
#include "q_layout"
#include "q_x"
@group(0) @binding(3) var<storage, read_write> y: array<f32>;      // [tokens, N]

const WG = 128u;
const TILE_N = 64u;
const TILE_T = 32u;

#include "tile_4x4"

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let n_base = wg.x * TILE_N;
  let t_base = wg.y * TILE_T;
  let rg = lid % 16u;
  let tg = lid / 16u;
  var acc: array<vec4f, 4>;   // acc[i][j]: token 4tg+i, row 4rg+j
  for (var u = 0u; u < p.units; u++) {
    let valid = min(32u, p.K - 32u * u);   // columns of this unit inside the row
    if (lid < TILE_N) {
      // past the last row: row N-1 again (finite values, never stored)
      decode_unit(min(n_base + lid, p.N - 1u) * p.row_bytes, u);
      for (var q = 0u; q < 8u; q++) { store_w4(lid, 4u * q, wq[q]); }
    } else {
      // 32 tokens x 8 vec4s of x: 4 per thread; columns past K (and tokens past T) read as 0
      for (var i = 0u; i < 4u; i++) {
        let e = (lid - TILE_N) + i * 64u;
        let t = e / 8u;
        let q = e % 8u;
        let tt = t_base + t;
        var v = vec4f(0.0);
        if (tt < p.tokens) {
          let k = 4u * q;
          let raw = x4(tt * p.K + 32u * u + k);
          v = select(vec4f(0.0), raw, vec4u(k) + vec4u(0u, 1u, 2u, 3u) < vec4u(valid));
        }
        store_x4(t, 4u * q, v);
      }
    }
    tile_accumulate(&acc, rg, tg);
  }
  tile_store(&acc, rg, tg, n_base, p.N, t_base, p.tokens);
}

// y[t, n]: added to what is there (accumulate) or replacing it
fn store_out(t: u32, n: u32, v: f32) {
  let o = t * p.N + n;
  y[o] = select(0.0, y[o], p.accumulate == 1u) + v;
}
