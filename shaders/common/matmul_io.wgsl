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
