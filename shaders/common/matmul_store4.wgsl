// y[t, n0..n0+3] (+)= v, the rows past N left alone.
fn store4(t: u32, n0: u32, v: vec4f) {
  if (t >= p.T) { return; }
  for (var j = 0u; j < 4u; j++) {
    if (n0 + j < p.N) {
      let o = t * p.N + n0 + j;
      y[o] = select(0.0, y[o], p.accumulate == 1u) + v[j];
    }
  }
}
