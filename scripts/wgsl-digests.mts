// Prints a short SHA-256 of every shader in shaders/ as the kernels compile it, once per include
// choice it takes (weights, q_layout, q_x, q_lanes): run it before and after a change to the
// shaders or their includes and diff the two lists to see exactly which compiled sources moved
// (a refactor of the GPU-only variants must leave the software-adapter kernels' lines alone).
//   npx tsx --import ./scripts/register-wgsl.mjs scripts/wgsl-digests.mts > digests.txt
import { readdirSync, readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { preprocess } from '../src/gpu/wgsl.js';
import { QUANT_LAYOUTS } from '../src/kernels/matmul_q.js';

const dir = new URL('../shaders/', import.meta.url);
const choices: Record<string, string>[] = [];
for (const lanes of ['single', 'subgroup']) for (const layout of QUANT_LAYOUTS) for (const x of ['f32', 'vec4']) for (const w of ['f32', 'f16']) {
  choices.push({ q_lanes: `q_lanes_${lanes}`, q_layout: `q_${layout}`, q_x: `q_x_${x}`, weights: `weights_${w}` });
}
for (const file of readdirSync(dir).filter((f) => f.endsWith('.wgsl')).sort()) {
  const source = readFileSync(new URL(file, dir), 'utf8');
  const seen = new Map<string, string>();
  for (const c of choices) {
    if (!compiles(source, c)) continue; // a choice this shader cannot take
    const text = preprocess(source, c);
    const key = Object.keys(c).filter((k) => !compiles(source, { ...c, [k]: 'none' })).map((k) => c[k]).join(',');
    seen.set(key, createHash('sha256').update(text).digest('hex').slice(0, 16));
  }
  for (const [key, digest] of seen) console.log(`${file} [${key}] ${digest}`);
}

/** Whether the shader preprocesses with these choices (false: it includes one that is not there). */
function compiles(source: string, c: Record<string, string>): boolean {
  try {
    preprocess(source, c);
    return true;
  } catch {
    return false;
  }
}
