// One GGUF file is a whole model for loadEngine: weights (quantized blocks kept), config and the
// tokenizer it carries. The tokenizer built from tokenizer.ggml.* encodes like the fixture's
// tokenizer.model; greedy decoding through the engine gives the GGUF's reference tokens.
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { loadEngine, type LoadedEngine } from '../../src/engine/load';
import { fromPath } from '../../src/formats/node_source';
import { SafetensorsFile } from '../../src/formats/safetensors';
import { nodeGpu } from '../../src/node';
import { tokenizerFilesFromGguf } from '../../src/text/gguf_tokenizer';
import { ErnieTokenizer } from '../../src/text/tokenizer';
import type { Completion } from '../../src/api/types';
import { GGUF_DIR, craftGguf, ggufPath, openGguf, prompts } from './helpers';
import { GgufFile } from '../../src/formats/gguf';
import { fromArrayBuffer } from '../../src/formats/sources';
import { parseSentencePieceModel } from '../../src/text/sentencepiece';

const TOK = 'test/fixtures/ernie-tokenizer-tiny';
const NAME = 'ernie45-moe-tiny-q4_0';
let engine: LoadedEngine | undefined;
afterAll(() => engine?.dispose());

describe('a GGUF file as the whole model', () => {
  it('its tokenizer encodes and decodes like tokenizer.model with add_prefix_space false (ERNIE)', async () => {
    // a GGUF carrying the fixture tokenizer.model's pieces, as llama.cpp's converter writes them
    const model = parseSentencePieceModel(new Uint8Array(readFileSync(`${TOK}/tokenizer.model`)));
    const code: Record<string, number> = { NORMAL: 1, UNKNOWN: 2, CONTROL: 3, USER_DEFINED: 4, UNUSED: 5, BYTE: 6 };
    const f32 = (x: number) => new Uint8Array(new Float32Array([x]).buffer);
    const bytes = craftGguf({
      kv: (b) => {
        b.str('tokenizer.ggml.model').u32(8).str('llama');
        b.str('tokenizer.ggml.tokens').u32(9).u32(8).u64(model.pieces.length);
        model.pieces.forEach((p) => b.str(p.piece));
        b.str('tokenizer.ggml.scores').u32(9).u32(6).u64(model.pieces.length);
        model.pieces.forEach((p) => b.bytes(f32(p.score)));
        b.str('tokenizer.ggml.token_type').u32(9).u32(5).u64(model.pieces.length);
        model.pieces.forEach((p) => b.u32(code[p.type]!));
        b.str('tokenizer.ggml.bos_token_id').u32(4).u32(1);
        b.str('tokenizer.ggml.eos_token_id').u32(4).u32(2);
        b.str('tokenizer.ggml.add_space_prefix').u32(7).u8(0);
        b.str('tokenizer.chat_template').u32(8).str('{{ messages[0].content }}!');
        return 8;
      },
    });
    const files = tokenizerFilesFromGguf(await GgufFile.open(fromArrayBuffer(bytes, 'tok.gguf')));
    expect(files.tokenizerConfig.chat_template).toBe('{{ messages[0].content }}!');
    const ours = ErnieTokenizer.fromFiles(files);
    const config = JSON.parse(readFileSync(`${TOK}/tokenizer_config.json`, 'utf8'));
    const spm = ErnieTokenizer.fromFiles({ tokenizerModel: new Uint8Array(readFileSync(`${TOK}/tokenizer.model`)), tokenizerConfig: { ...config, add_prefix_space: false } });
    expect(ours.vocabSize).toBe(spm.vocabSize);
    for (const text of ['Hello world!', ' two  spaces and 12345 digits', '日本語のテキスト', 'a\nb\tc </s> <s>x', 'emoji 🙂 ok']) {
      const ids = spm.encode(text);
      expect(ours.encode(text), text).toEqual(ids);
      expect(ours.decode(ids), text).toBe(spm.decode(ids));
    }
    expect(ours.stopTokenIds).toEqual(spm.stopTokenIds);
    expect(ours.specialTokens.eos?.id).toBe(2);
  });

  it('loadEngine({ model: a .gguf source }) decodes the GGUF reference greedy tokens, no tokenizer folder given', async () => {
    engine = await loadEngine({ model: fromPath(ggufPath(NAME)), gpu: await nodeGpu(), kvCacheBytes: 1 << 22 });
    const ref = await SafetensorsFile.open(fromPath(`${GGUF_DIR}/${NAME}.reference.safetensors`));
    const raw = await ref.readRaw('greedy_0');
    const want = Array.from(new Int32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4));
    const n = want.findIndex((id) => id === 2 || id === 1);
    const steps = Math.min(8, n < 0 ? want.length : n);
    const r = (await engine.completions.create({ prompt: prompts(NAME)[0]!, max_tokens: steps, temperature: 0 })) as Completion;
    expect(r.usage.completion_tokens).toBe(steps);
    // the text of the reference ids, decoded by the same tokenizer the engine built
    const tok = ErnieTokenizer.fromFiles(tokenizerFilesFromGguf(await openGguf(NAME)));
    expect(r.choices[0]!.text).toBe(tok.decode(want.slice(0, steps), { skipSpecialTokens: true }));
    // chat works with the built-in ERNIE template
    const chat = await engine.chat.completions.create({ messages: [{ role: 'user', content: 'Hi' }], max_tokens: 4, seed: 1 });
    expect(chat.usage.completion_tokens).toBeGreaterThan(0);
  });
});
