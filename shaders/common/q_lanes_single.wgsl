// Quantized kernels, portable variant: one thread per output row (lanes = 1).
// The per-invocation builtins only: WGSL's uniformity analysis treats a struct value as a whole,
// so the uniform workgroup ids are separate entry-point parameters.
struct Ids {
  @builtin(local_invocation_index) lid: u32,
}

fn lane_count(ids: Ids) -> u32 { return 1u; }
fn lane_index(ids: Ids) -> u32 { return 0u; }
fn lane_sum(v: f32) -> f32 { return v; }
