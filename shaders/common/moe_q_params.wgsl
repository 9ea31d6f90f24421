struct Params {
  N: u32,
  K: u32,
  experts: u32,
  input_div: u32,    // k (per-token input) or 1 (per-assignment input)
  row_bytes: u32,
  units: u32,        // ceil(K / 32)
  slot_start: u32,   // W holds slots slot_start..slot_end-1 (one buffer of the cache)
  slot_end: u32,
  slot_stride: u32,  // bytes from one slot to the next (>= N * row_bytes, a multiple of 4)
  _pad0: u32,
  _pad1: u32,
  _pad2: u32,
}
