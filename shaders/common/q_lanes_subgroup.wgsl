// Quantized kernels, subgroup variant: one subgroup per output row; its lanes take the row's
// 32-value units in turn (lane i: units i, i + size, ...) and subgroupAdd sums their partials.
enable subgroups;

// The per-invocation builtins only: WGSL's uniformity analysis treats a struct value as a whole,
// so the uniform workgroup ids are separate entry-point parameters.
struct Ids {
  @builtin(local_invocation_index) lid: u32,
  @builtin(subgroup_size) sg: u32,
  @builtin(subgroup_invocation_id) lane: u32,
}

fn lane_count(ids: Ids) -> u32 { return ids.sg; }
fn lane_index(ids: Ids) -> u32 { return ids.lane; }
fn lane_sum(v: f32) -> f32 { return subgroupAdd(v); }
