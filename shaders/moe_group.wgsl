// Group token->expert assignments by expert, so each expert's weights are read once for all
// the tokens routed to it. Assignment a = t*k + j. Outputs:
//   groups[0] = number of experts with at least one assignment (active groups)
//   group_slot[g], group_start[g], group_count[g] for g < active, ordered by expert id, where
//   group_slot[g] = slot_table[table_offset + expert]: the cache slot holding that expert's
//   weights (0xffffffff when it is not resident; the matmuls skip such groups)
//   order[group_start[g] .. + group_count[g]] = the assignments of that expert, ascending
// One workgroup; thread e handles expert e.

struct Params {
  assignments: u32,
  experts: u32,
  table_offset: u32,  // this layer's row of the slot table
  _pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> ids: array<u32>;              // [assignments]
@group(0) @binding(2) var<storage, read_write> groups: array<u32>;     // [1 + 3*experts]: active, expert[], start[], count[]
@group(0) @binding(3) var<storage, read_write> order: array<u32>;      // [assignments]
@group(0) @binding(4) var<storage, read> slot_table: array<u32>;       // [layers * experts]: expert -> slot

const WG = 256u;
var<workgroup> counts: array<u32, WG>;
var<workgroup> starts: array<u32, WG>;
var<workgroup> group_of: array<u32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) e: u32) {
  var c = 0u;
  if (e < p.experts) {
    for (var a = 0u; a < p.assignments; a++) { c += u32(ids[a] == e); }
  }
  counts[e] = c;
  workgroupBarrier();
  if (e == 0u) {
    var start = 0u;
    var n_active = 0u;
    for (var i = 0u; i < p.experts; i++) {
      starts[i] = start;
      group_of[i] = n_active;
      start += counts[i];
      n_active += u32(counts[i] > 0u);
    }
    groups[0] = n_active;
  }
  workgroupBarrier();
  if (e < p.experts && c > 0u) {
    let g = group_of[e];
    groups[1u + g] = slot_table[p.table_offset + e];
    groups[1u + p.experts + g] = starts[e];
    groups[1u + 2u * p.experts + g] = c;
    var w = starts[e];
    for (var a = 0u; a < p.assignments; a++) {
      if (ids[a] == e) { order[w] = a; w++; }
    }
  }
}
