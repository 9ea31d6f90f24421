// A tiny WGSL preprocessor: `#include "name"` pastes a helper from shaders/common/ (helpers may
// include others).
// Everything else (workgroup sizes, flags) uses WGSL `override` constants, so every shader
// file is plain WGSL a reader can open and a linter can check.
import weightsF32 from '../../shaders/common/weights_f32.wgsl?raw';
import weightsF16 from '../../shaders/common/weights_f16.wgsl?raw';
// quantized-weight kernels (src/kernels/matmul_q.ts)
import qCommon from '../../shaders/common/q_common.wgsl?raw';
import qDot from '../../shaders/common/q_dot.wgsl?raw';
import qLanesSingle from '../../shaders/common/q_lanes_single.wgsl?raw';
import qLanesSubgroup from '../../shaders/common/q_lanes_subgroup.wgsl?raw';
import qXF32 from '../../shaders/common/q_x_f32.wgsl?raw';
import qXVec4 from '../../shaders/common/q_x_vec4.wgsl?raw';
import qQ80 from '../../shaders/common/q_q8_0.wgsl?raw';
import qQ40 from '../../shaders/common/q_q4_0.wgsl?raw';
import qIq4Nl from '../../shaders/common/q_iq4_nl.wgsl?raw';
import qQ2G32 from '../../shaders/common/q_q2_g32.wgsl?raw';
import qQ4K from '../../shaders/common/q_q4_k.wgsl?raw';
import qQ2K from '../../shaders/common/q_q2_k.wgsl?raw';
import qQ6K from '../../shaders/common/q_q6_k.wgsl?raw';
// the *_wg_tiled kernels' workgroup tile
import tile4x4 from '../../shaders/common/tile_4x4.wgsl?raw';
// matmul.wgsl, matmul_wg_tiled.wgsl and matmul_k4_subgroup.wgsl's Params and bindings (src/kernels/matmul.ts binds them)
import matmulIo from '../../shaders/common/matmul_io.wgsl?raw';
// matmul_k4.wgsl and matmul_k4_subgroup.wgsl's store of a 4-row output block
import matmulStore4 from '../../shaders/common/matmul_store4.wgsl?raw';
// the grouped expert matmuls' Params (moe_matmul_q.wgsl and its tiled variant; src/kernels/matmul_q.ts packs it)
import moeQParams from '../../shaders/common/moe_q_params.wgsl?raw';

const includes: Record<string, string> = {
  weights_f32: weightsF32,
  weights_f16: weightsF16,
  q_common: qCommon,
  tile_4x4: tile4x4,
  moe_q_params: moeQParams,
  matmul_io: matmulIo,
  matmul_store4: matmulStore4,
  q_dot: qDot,
  q_lanes_single: qLanesSingle,
  q_lanes_subgroup: qLanesSubgroup,
  q_x_f32: qXF32,
  q_x_vec4: qXVec4,
  q_q8_0: qQ80,
  q_q4_0: qQ40,
  q_iq4_nl: qIq4Nl,
  q_q2_g32: qQ2G32,
  q_q4_k: qQ4K,
  q_q2_k: qQ2K,
  q_q6_k: qQ6K,
};

/** Weight storage formats the matmul-like kernels read. f16 weights are read as packed u32 pairs. */
export type WeightDtype = 'f32' | 'f16';

/** Pastes every `#include "name"` (an include may include others, as its kernel's replacements choose). */
export function preprocess(source: string, replacements: Record<string, string> = {}): string {
  return source.replace(/^#include "([\w.]+)"\s*$/gm, (_, raw: string) => {
    const name = replacements[raw] ?? raw;
    const text = includes[name];
    if (text === undefined) throw new Error(`WGSL include "${name}" not found`);
    return preprocess(text, replacements);
  });
}
