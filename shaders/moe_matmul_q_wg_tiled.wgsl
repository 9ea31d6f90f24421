// Grouped expert matmul on quantized weights for prefill on GPUs, tiled in workgroup memory:
// the same result as moe_matmul_q.wgsl (read it first: groups, order, slots, input_div), with
// matvec_q_wg_tiled.wgsl's tiles. Workgroups: x blocks of 64 output rows, y the active group g,
// z blocks of 32 of that expert's assignments. Per 32-value unit of K: threads 0..63 decode one
// row's unit of the expert into workgroup memory, threads 64..127 gather the 32 assignments'
// inputs, a barrier, then each thread accumulates 4 rows x 4 assignments. Workgroups with no
// work (group past the active count, expert in another slot buffer or not resident, block past
// the expert's assignments) leave together, after one workgroupUniformLoad, so every barrier
// is reached by the whole workgroup.

#include "moe_q_params"

@group(0) @binding(0) var<uniform> p: Params;
#include "q_common"
#include "q_layout"
#include "q_x"
@group(0) @binding(3) var<storage, read> groups: array<u32>;       // from moe_group
@group(0) @binding(4) var<storage, read> order: array<u32>;        // from moe_group
@group(0) @binding(5) var<storage, read_write> y: array<f32>;      // [assignments, N]

const WG = 128u;
const TILE_N = 64u;
const TILE_A = 32u;

#include "tile_4x4"
var<workgroup> work: vec4u;             // (active, first assignment of the block, assignments in it, slot byte base)

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32) {
  if (lid == 0u) {
    let g = wg.y;
    var w = vec4u(0u);
    if (g < groups[0]) {
      let s = groups[1u + g];
      let count = groups[1u + 2u * p.experts + g];
      let b0 = wg.z * TILE_A;
      if (s >= p.slot_start && s < p.slot_end && b0 < count) {
        w = vec4u(1u, groups[1u + p.experts + g] + b0, min(TILE_A, count - b0), (s - p.slot_start) * p.slot_stride);
      }
    }
    work = w;
  }
  let job = workgroupUniformLoad(&work);
  if (job.x == 0u) { return; }
  let first = job.y;
  let nb = job.z;
  let base = job.w;
  let n_base = wg.x * TILE_N;
  let rg = lid % 16u;
  let ag = lid / 16u;
  var acc: array<vec4f, 4>;   // acc[i][j]: assignment 4ag+i of the block, row 4rg+j
  for (var u = 0u; u < p.units; u++) {
    let valid = min(32u, p.K - 32u * u);
    if (lid < TILE_N) {
      decode_unit(base + min(n_base + lid, p.N - 1u) * p.row_bytes, u);
      for (var q = 0u; q < 8u; q++) { store_w4(lid, 4u * q, wq[q]); }
    } else {
      for (var i = 0u; i < 4u; i++) {
        let e = (lid - TILE_N) + i * 64u;
        let a = e / 8u;
        let q = e % 8u;
        var v = vec4f(0.0);
        if (a < nb) {
          let k = 4u * q;
          let xo = order[first + a] / p.input_div * p.K;
          let raw = x4(xo + 32u * u + k);
          v = select(vec4f(0.0), raw, vec4u(k) + vec4u(0u, 1u, 2u, 3u) < vec4u(valid));
        }
        store_x4(a, 4u * q, v);
      }
    }
    tile_accumulate(&acc, rg, ag);
  }
  tile_store(&acc, rg, ag, n_base, p.N, first, first + nb);
}

// entry c of `order` (the block's assignments are first .. first + nb - 1), row n
fn store_out(c: u32, n: u32, v: f32) {
  y[order[c] * p.N + n] = v;
}
