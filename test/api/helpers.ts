// Shared setup of the API tests: the tiny tokenizer, the CPU model and an engine over both.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ErnieTokenizer } from '../../src/text/tokenizer';
import { createEngine, type Engine, type EngineOptions } from '../../src/api/engine';
import { CpuModel, type CpuModelOptions } from './cpu_model';

const tokDir = fileURLToPath(new URL('../fixtures/ernie-tokenizer-tiny/', import.meta.url));

let tokenizer: ErnieTokenizer | null = null;

export function tinyTokenizer(): ErnieTokenizer {
  tokenizer ??= ErnieTokenizer.fromFiles({
    tokenizerModel: new Uint8Array(readFileSync(tokDir + 'tokenizer.model')),
    tokenizerConfig: JSON.parse(readFileSync(tokDir + 'tokenizer_config.json', 'utf8')),
  });
  return tokenizer;
}

export const MODEL_NAME = 'ernie45-moe-tiny';

export async function tinyEngine(
  options: Partial<EngineOptions> = {},
  modelOptions: CpuModelOptions = {},
): Promise<{ engine: Engine; model: CpuModel }> {
  const tok = tinyTokenizer();
  const model = await CpuModel.load({ vocabSize: tok.vocabSize, contextLength: 1024, ...modelOptions });
  const engine = createEngine({ model, tokenizer: tok, modelName: MODEL_NAME, kind: 'chat', ...options });
  return { engine, model };
}

/** Drains a stream into a list. */
export async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}
