// The input side of the quantized matmuls: one unit of x in registers (xu, loaded through the
// q_x include's x4), dotted with a decoded unit (wq from q_common), and per-token sums.

// SwiftShader (and SIMT GPUs) run both sides of an `if` whose condition differs between
// invocations, masked; a loop runs only while some invocation is still in it. So the kernels
// keep conditional work in loops (the partial last unit, the token count), and these helpers
// are branch-free and unrolled (constant indices keep the arrays in registers).

/** One input's 32 x values of the current unit, shared by the rows a thread decodes. */
var<private> xu: array<vec4f, 8>;

/** xu = x[xo..xo+31] (a whole unit). */
fn load_x(xo: u32) {
  xu[0] = x4(xo);
  xu[1] = x4(xo + 4u);
  xu[2] = x4(xo + 8u);
  xu[3] = x4(xo + 12u);
  xu[4] = x4(xo + 16u);
  xu[5] = x4(xo + 20u);
  xu[6] = x4(xo + 24u);
  xu[7] = x4(xo + 28u);
}

/**
 * The same for a row's partial last unit: values at or past `valid` read as 0, so the padded
 * positions add nothing, whatever x holds there (the padded weights decode to finite values).
 */
fn load_x_partial(xo: u32, valid: u32) {
  let v = vec4u(valid);
  xu[0] = x4_below(xo, 0u, v);
  xu[1] = x4_below(xo, 4u, v);
  xu[2] = x4_below(xo, 8u, v);
  xu[3] = x4_below(xo, 12u, v);
  xu[4] = x4_below(xo, 16u, v);
  xu[5] = x4_below(xo, 20u, v);
  xu[6] = x4_below(xo, 24u, v);
  xu[7] = x4_below(xo, 28u, v);
}

fn x4_below(xo: u32, i: u32, valid: vec4u) -> vec4f {
  return select(vec4f(0.0), x4(xo + i), vec4u(i) + vec4u(0u, 1u, 2u, 3u) < valid);
}

/** Σ w[i]·xu[i]: one decoded unit against the loaded input. */
fn dot_unit(w: array<vec4f, 8>) -> f32 {
  let s = w[0] * xu[0] + w[1] * xu[1] + w[2] * xu[2] + w[3] * xu[3]
        + w[4] * xu[4] + w[5] * xu[5] + w[6] * xu[6] + w[7] * xu[7];
  return (s.x + s.y) + (s.z + s.w);
}

/** Sums for up to 8 inputs (lo: 0..3, hi: 4..7) of one row. */
struct Acc8 {
  lo: vec4f,
  hi: vec4f,
}

/** Adds v to input t's sum (0..7), branch-free. */
fn acc_add(a: ptr<function, Acc8>, t: u32, v: f32) {
  (*a).lo += select(vec4f(0.0), vec4f(v), vec4u(t) == vec4u(0u, 1u, 2u, 3u));
  (*a).hi += select(vec4f(0.0), vec4f(v), vec4u(t) == vec4u(4u, 5u, 6u, 7u));
}

/** Input t's sum (0..7). */
fn acc_get(a: Acc8, t: u32) -> f32 {
  return select(a.hi[t & 3u], a.lo[t & 3u], t < 4u);
}
