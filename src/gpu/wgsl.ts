// A tiny WGSL preprocessor: `#include "name"` pastes a helper from shaders/common/.
// Everything else (workgroup sizes, flags) uses WGSL `override` constants, so every shader
// file is plain WGSL a reader can open and a linter can check.
import weightsF32 from '../../shaders/common/weights_f32.wgsl?raw';
import weightsF16 from '../../shaders/common/weights_f16.wgsl?raw';

const includes: Record<string, string> = {
  weights_f32: weightsF32,
  weights_f16: weightsF16,
};

/** Weight storage formats the matmul-like kernels read. f16 weights are read as packed u32 pairs. */
export type WeightDtype = 'f32' | 'f16';

export function preprocess(source: string, replacements: Record<string, string> = {}): string {
  return source.replace(/^#include "([\w.]+)"\s*$/gm, (_, raw: string) => {
    const name = replacements[raw] ?? raw;
    const text = includes[name];
    if (text === undefined) throw new Error(`WGSL include "${name}" not found`);
    return text;
  });
}
