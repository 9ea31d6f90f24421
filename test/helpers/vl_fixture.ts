// The tiny ERNIE-4.5-VL fixture (HF transformers outputs) copied into test/fixtures/.
import { fromPath } from '../../src/formats/node_source.js';
import { SafetensorsFile } from '../../src/formats/safetensors.js';

export const VL = 'test/fixtures/ernie45-vl-tiny';

/** Every tensor of a safetensors file as f32 (names in `skip` are left out, e.g. integer tensors). */
export async function loadAllTensors(path: string, skip: string[] = []): Promise<Map<string, Float32Array>> {
  const st = await SafetensorsFile.open(fromPath(path));
  const out = new Map<string, Float32Array>();
  for (const name of st.names()) if (!skip.includes(name)) out.set(name, await st.readF32(name));
  return out;
}
