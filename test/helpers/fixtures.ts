// Reading the fixture references (HF transformers outputs) copied into test/fixtures/.
import { readFileSync } from 'node:fs';
import { fromPath, nodeFolder } from '../../src/formats/node_source.js';
import { SafetensorsFile } from '../../src/formats/safetensors.js';

export const TINY = 'test/fixtures/ernie45-moe-tiny';

export interface TinyReference {
  prompts: number[][];
  greedy: number[][];
}

export function readTinyReference(dir = TINY): TinyReference {
  return JSON.parse(readFileSync(`${dir}/reference.json`, 'utf8'));
}

export async function openReferenceTensors(path: string): Promise<SafetensorsFile> {
  return SafetensorsFile.open(fromPath(path));
}

export { nodeFolder };
