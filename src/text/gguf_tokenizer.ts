// The tokenizer a GGUF file carries (tokenizer.ggml.*, as llama.cpp writes it for ERNIE 4.5's
// SentencePiece vocabulary) as the tokenizer_config.json + tokenizer.json this library builds
// from a tokenizer.model: the pieces, scores and piece types are the proto's, so the same
// conversion (convert.ts) applies. `add_space_prefix` becomes add_prefix_space (ERNIE: false,
// ERNIE45.md §2); the chat template comes from tokenizer.chat_template.
import { ErnieError } from '../errors';
import type { GgufFile, GgufValue } from '../formats/gguf';
import { type GgufTypedValue, kv } from '../formats/gguf_writer';
import { sentencePieceToTokenizerJson, type TokenizerConfig, type TokenizerJson } from './convert';
import type { PieceType, SentencePieceModel } from './sentencepiece';

const PIECE_TYPES: Record<number, PieceType> = { 1: 'NORMAL', 2: 'UNKNOWN', 3: 'CONTROL', 4: 'USER_DEFINED', 5: 'UNUSED', 6: 'BYTE' };

/** Whether the GGUF has a tokenizer this library can build. */
export function ggufHasTokenizer(gguf: GgufFile): boolean {
  return gguf.metadata.get('tokenizer.ggml.model') === 'llama' && Array.isArray(gguf.metadata.get('tokenizer.ggml.tokens'));
}

export function tokenizerFilesFromGguf(gguf: GgufFile): { tokenizerJson: TokenizerJson; tokenizerConfig: TokenizerConfig } {
  const meta = gguf.metadata;
  const kind = meta.get('tokenizer.ggml.model');
  const tokens = meta.get('tokenizer.ggml.tokens');
  if (kind !== 'llama' || !Array.isArray(tokens) || !tokens.every((t) => typeof t === 'string')) {
    throw new ErnieError('UNSUPPORTED', `${gguf.name}: has no SentencePiece ("llama") tokenizer (tokenizer.ggml.model is ${JSON.stringify(String(kind))}); pass the model's tokenizer folder as \`tokenizer\``);
  }
  const pieces = tokens as string[];
  const scores = numbers(meta.get('tokenizer.ggml.scores'));
  const types = numbers(meta.get('tokenizer.ggml.token_type'));
  const model: SentencePieceModel = {
    pieces: pieces.map((piece, i) => ({ piece, score: scores?.[i] ?? 0, type: PIECE_TYPES[types?.[i] ?? 1] ?? 'NORMAL' })),
    // convert.ts reads only the pieces; the specs say what the GGUF says
    trainerSpec: {
      modelType: 'BPE', vocabSize: pieces.length, byteFallback: true, splitDigits: true, splitByWhitespace: true,
      treatWhitespaceAsSuffix: false, allowWhitespaceOnlyPieces: false,
      unkId: id(gguf, 'unknown'), bosId: id(gguf, 'bos'), eosId: id(gguf, 'eos'), padId: id(gguf, 'padding'),
      unkPiece: '<unk>', bosPiece: '<s>', eosPiece: '</s>', padPiece: '<pad>', controlSymbols: [], userDefinedSymbols: [],
    },
    normalizerSpec: { name: 'identity', addDummyPrefix: meta.get('tokenizer.ggml.add_space_prefix') !== false, removeExtraWhitespaces: false, escapeWhitespaces: true, precompiledCharsmapBytes: 0 },
  };
  const piece = (role: string) => {
    const i = id(gguf, role);
    return i >= 0 && i < pieces.length ? pieces[i] : undefined;
  };
  const config: TokenizerConfig = {
    bos_token: piece('bos') ?? null,
    eos_token: piece('eos') ?? null,
    unk_token: piece('unknown') ?? null,
    pad_token: piece('padding') ?? null,
    add_bos_token: meta.get('tokenizer.ggml.add_bos_token') === true,
    add_eos_token: meta.get('tokenizer.ggml.add_eos_token') === true,
    add_prefix_space: model.normalizerSpec.addDummyPrefix,
    legacy: true,
  };
  const template = meta.get('tokenizer.chat_template');
  if (typeof template === 'string') config.chat_template = template;
  return { tokenizerJson: sentencePieceToTokenizerJson(model, config), tokenizerConfig: config };
}

function id(gguf: GgufFile, role: string): number {
  const v = gguf.metadata.get(`tokenizer.ggml.${role}_token_id`);
  return typeof v === 'number' && Number.isInteger(v) ? v : -1;
}

function numbers(v: GgufValue | undefined): ArrayLike<number> | undefined {
  return v instanceof Float32Array || v instanceof Int32Array || v instanceof Uint32Array || v instanceof Float64Array || v instanceof Int8Array || v instanceof Uint8Array ? v : undefined;
}

/** The tokenizer.* keys llama.cpp reads for a SentencePiece ("llama") vocabulary, in the order its converter writes them. */
const TOKENIZER_KEYS: readonly [string, 'u32' | 'bool'][] = [
  ['tokenizer.ggml.bos_token_id', 'u32'], ['tokenizer.ggml.eos_token_id', 'u32'],
  ['tokenizer.ggml.unknown_token_id', 'u32'], ['tokenizer.ggml.padding_token_id', 'u32'],
  ['tokenizer.ggml.add_bos_token', 'bool'], ['tokenizer.ggml.add_eos_token', 'bool'], ['tokenizer.ggml.add_space_prefix', 'bool'],
];
const UNUSED_TYPE = 5;

/**
 * A GGUF's SentencePiece tokenizer (tokenizer.ggml.*) as writer entries for a file whose
 * token_embd has `vocabSize` rows: llama.cpp requires exactly one token per embedding row. Longer
 * vocabularies are padded the way llama.cpp's converter pads ERNIE's (103,424 rows, fewer real
 * pieces): "[PAD<id>]" pieces of type UNUSED, score -10000. Shorter ones keep the first
 * `vocabSize` pieces, which must still hold the special tokens and the 256 byte pieces.
 */
export function ggufTokenizerEntries(gguf: GgufFile, vocabSize: number): [string, GgufTypedValue][] {
  const meta = gguf.metadata;
  const tokens = meta.get('tokenizer.ggml.tokens');
  if (meta.get('tokenizer.ggml.model') !== 'llama' || !Array.isArray(tokens) || !tokens.every((t) => typeof t === 'string')) {
    throw new ErnieError('UNSUPPORTED', `${gguf.name}: has no SentencePiece ("llama") tokenizer to copy`);
  }
  const pieces = tokens as string[];
  const scores = numbers(meta.get('tokenizer.ggml.scores'));
  const types = numbers(meta.get('tokenizer.ggml.token_type'));
  const kept = Math.min(vocabSize, pieces.length);
  const lastNeeded = Math.max(...pieces.map((p, i) => (types?.[i] === 6 || types?.[i] === 3 || types?.[i] === 2 ? i : 0)));
  if (vocabSize <= lastNeeded) {
    throw new ErnieError('BAD_REQUEST', `${gguf.name}: a vocabulary of ${vocabSize} would drop its special or byte pieces (the last is id ${lastNeeded})`);
  }
  const outTokens = pieces.slice(0, kept), outScores = new Float32Array(vocabSize), outTypes = new Int32Array(vocabSize);
  for (let i = 0; i < kept; i++) {
    outScores[i] = scores?.[i] ?? 0;
    outTypes[i] = types?.[i] ?? 1;
  }
  for (let i = kept; i < vocabSize; i++) {
    outTokens.push(`[PAD${i}]`);
    outScores[i] = -10000;
    outTypes[i] = UNUSED_TYPE;
  }
  const out: [string, GgufTypedValue][] = [
    ['tokenizer.ggml.model', kv.str('llama')],
    ['tokenizer.ggml.tokens', kv.strings(outTokens)],
    ['tokenizer.ggml.scores', kv.f32s(outScores)],
    ['tokenizer.ggml.token_type', kv.i32s(outTypes)],
  ];
  for (const [key, type] of TOKENIZER_KEYS) {
    const v = meta.get(key);
    if (type === 'bool' && typeof v === 'boolean') out.push([key, kv.bool(v)]);
    else if (type === 'u32' && typeof v === 'number' && Number.isInteger(v) && v >= 0 && v < vocabSize) out.push([key, kv.u32(v)]);
  }
  const template = meta.get('tokenizer.chat_template');
  if (typeof template === 'string') out.push(['tokenizer.chat_template', kv.str(template)]);
  return out;
}
