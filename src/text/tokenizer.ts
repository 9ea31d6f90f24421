// ErnieTokenizer: ERNIE 4.5's tokenizer, built from tokenizer.json when the download has one,
// else from tokenizer.model (SentencePiece) converted the way transformers does (convert.ts).
// Encoding runs tokenizers.js on that tokenizer.json; decoding follows HF tokenizers' own
// semantics (decoder.ts), so the streamer (streamer.ts) can reproduce it token by token.

import { Tokenizer } from '@huggingface/tokenizers';
import { ErnieError, FileFormatError } from '../errors';
import { configSpecialTokens, sentencePieceToTokenizerJson, tokenContent, type TokenizerConfig } from './convert';
import { compileDecoder, runPlan, type DecodePlan } from './decoder';
import { parseSentencePieceModel } from './sentencepiece';
import { TextStreamer, type StreamerOptions } from './streamer';

export interface TokenizerFiles {
  /** tokenizer.model bytes (SentencePiece). Used when tokenizerJson is absent. */
  tokenizerModel?: Uint8Array;
  /** Parsed tokenizer.json; preferred when given. */
  tokenizerJson?: object;
  /** Parsed tokenizer_config.json. */
  tokenizerConfig: object;
  /** Parsed added_tokens.json ({content: id}), when the download has one. */
  addedTokens?: Record<string, number>;
}

export interface SpecialToken {
  content: string;
  id: number;
}

export type SpecialTokenName = 'bos' | 'eos' | 'unk' | 'pad' | 'cls' | 'sep' | 'mask';
export type SpecialTokens = Readonly<Record<SpecialTokenName, SpecialToken | null>>;

export interface EncodeOptions {
  /** Apply the post-processor (BOS/EOS when the config asks for them). Default true. */
  addSpecialTokens?: boolean;
}

export interface DecodeOptions {
  /** Drop tokens marked special (bos/eos/cls/sep..., not <think> or <tool_call>). Default false. */
  skipSpecialTokens?: boolean;
}

/** The ERNIE 4.5 end-of-turn marker the chat template writes; the model itself ends with </s>. */
const END_OF_SENTENCE = '<|end_of_sentence|>';

interface AddedTokenLike { id: number; content: string; special?: boolean }

export class ErnieTokenizer {
  /** Token strings by id (vocabulary and added tokens); holes are unused ids. */
  private readonly tokens: (string | undefined)[];
  private readonly ids = new Map<string, number>();
  private readonly special = new Set<number>();
  private readonly inner: Tokenizer;
  /** How ids become text; shared with the streamer. */
  readonly decodePlan: DecodePlan;
  readonly specialTokens: SpecialTokens;
  /** Number of ids the tokenizer can produce (max id + 1); mask logits at or above it. */
  readonly vocabSize: number;
  /** `</s>`: what the model emits at the end of a reply. */
  readonly eosTokenId: number | null;
  /** Ids that end generation: eos, plus `<|end_of_sentence|>` as a safeguard. */
  readonly stopTokenIds: readonly number[];
  readonly config: TokenizerConfig;

  private constructor(json: Record<string, unknown>, config: TokenizerConfig, fallback: Partial<Record<SpecialTokenName, string>>) {
    this.config = config;
    const model = json.model as Record<string, unknown> | undefined;
    if (!model || typeof model.vocab !== 'object' || model.vocab === null || Array.isArray(model.vocab)) {
      throw new FileFormatError('tokenizer.json', 'model.vocab is missing (only BPE tokenizers are supported)');
    }
    if (model.type !== undefined && model.type !== 'BPE') {
      throw new ErnieError('UNSUPPORTED', `tokenizer.json: model type ${String(model.type)} is not supported (ERNIE uses BPE)`);
    }
    checkPreTokenizer(json.pre_tokenizer);
    this.decodePlan = compileDecoder(json.decoder);

    this.tokens = [];
    for (const [tok, id] of Object.entries(model.vocab as Record<string, unknown>)) {
      if (!Number.isInteger(id) || (id as number) < 0) throw new FileFormatError('tokenizer.json', `vocab id of ${JSON.stringify(tok)} is not a valid id`);
      this.tokens[id as number] = tok;
      this.ids.set(tok, id as number);
    }
    const added = (json.added_tokens ?? []) as AddedTokenLike[];
    if (!Array.isArray(added)) throw new FileFormatError('tokenizer.json', 'added_tokens is not a list');
    for (const t of added) {
      if (!Number.isInteger(t.id) || t.id < 0 || typeof t.content !== 'string') throw new FileFormatError('tokenizer.json', `bad added token ${JSON.stringify(t)}`);
      this.tokens[t.id] = t.content;
      this.ids.set(t.content, t.id);
      if (t.special) this.special.add(t.id);
    }
    this.vocabSize = this.tokens.length;

    try {
      // clean_up_tokenization_spaces is false for ERNIE (LlamaTokenizer's default); tokenizers.js
      // would otherwise default it to true. Decoding does not go through tokenizers.js anyway.
      this.inner = new Tokenizer(json, { clean_up_tokenization_spaces: false });
    } catch (cause) {
      throw new FileFormatError('tokenizer.json', `tokenizers.js could not load it: ${(cause as Error).message}`, { cause });
    }

    const names: Record<SpecialTokenName, keyof TokenizerConfig> = {
      bos: 'bos_token', eos: 'eos_token', unk: 'unk_token', pad: 'pad_token', cls: 'cls_token', sep: 'sep_token', mask: 'mask_token',
    };
    const specials = {} as Record<SpecialTokenName, SpecialToken | null>;
    for (const [name, key] of Object.entries(names) as [SpecialTokenName, keyof TokenizerConfig][]) {
      const content = tokenContent(config[key] as never) ?? fallback[name];
      const id = content === undefined ? undefined : this.ids.get(content);
      specials[name] = content !== undefined && id !== undefined ? { content, id } : null;
    }
    this.specialTokens = Object.freeze(specials);
    this.eosTokenId = specials.eos?.id ?? null;
    const stops = [this.eosTokenId, this.ids.get(END_OF_SENTENCE)].filter((x): x is number => x !== undefined && x !== null);
    this.stopTokenIds = Object.freeze([...new Set(stops)]);
  }

  /** Builds the tokenizer from the downloaded files: tokenizer.json if present, else tokenizer.model. */
  static fromFiles(files: TokenizerFiles): ErnieTokenizer {
    const config = files.tokenizerConfig as TokenizerConfig;
    if (typeof config !== 'object' || config === null || Array.isArray(config)) {
      throw new FileFormatError('tokenizer_config.json', 'not a JSON object');
    }
    configSpecialTokens(config); // validates the token entries early
    if (files.tokenizerJson) {
      if (typeof files.tokenizerJson !== 'object' || Array.isArray(files.tokenizerJson)) {
        throw new FileFormatError('tokenizer.json', 'not a JSON object');
      }
      return new ErnieTokenizer(files.tokenizerJson as Record<string, unknown>, config, {});
    }
    if (!files.tokenizerModel) {
      throw new ErnieError('BAD_REQUEST', 'ErnieTokenizer.fromFiles needs tokenizerJson or tokenizerModel');
    }
    const spm = parseSentencePieceModel(files.tokenizerModel, 'tokenizer.model');
    const json = sentencePieceToTokenizerJson(spm, config, { addedTokens: files.addedTokens });
    // transformers falls back to the proto's pieces for tokens the config leaves out.
    const t = spm.trainerSpec;
    const fallback: Partial<Record<SpecialTokenName, string>> = {};
    if (t.bosId >= 0) fallback.bos = spm.pieces[t.bosId]!.piece;
    if (t.eosId >= 0) fallback.eos = spm.pieces[t.eosId]!.piece;
    if (t.unkId >= 0) fallback.unk = spm.pieces[t.unkId]!.piece;
    return new ErnieTokenizer(json as unknown as Record<string, unknown>, config, fallback);
  }

  /** Text -> ids. Added tokens (special or not) in the text are matched whole. */
  encode(text: string, options: EncodeOptions = {}): number[] {
    return this.tokenize(text, options).map((t) => this.ids.get(t)!);
  }

  /** Text -> token strings (what transformers' convert_ids_to_tokens would show). */
  tokenize(text: string, options: EncodeOptions = {}): string[] {
    if (typeof text !== 'string') throw new ErnieError('BAD_REQUEST', 'encode: text must be a string');
    const tokens = this.inner.encode(text, { add_special_tokens: options.addSpecialTokens ?? true }).tokens;
    for (const t of tokens) {
      if (!this.ids.has(t)) throw new ErnieError('UNSUPPORTED', `encode produced ${JSON.stringify(t)}, which has no id`);
    }
    return tokens;
  }

  /** Ids -> text, as HF tokenizers decodes: ids outside the vocabulary are dropped. */
  decode(ids: ArrayLike<number>, options: DecodeOptions = {}): string {
    const skip = options.skipSpecialTokens ?? false;
    const tokens: string[] = [];
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      const t = this.tokens[id];
      if (t === undefined || (skip && this.special.has(id))) continue;
      tokens.push(t);
    }
    return runPlan(this.decodePlan, tokens);
  }

  idToToken(id: number): string | undefined {
    return Number.isInteger(id) ? this.tokens[id] : undefined;
  }

  tokenToId(token: string): number | undefined {
    return this.ids.get(token);
  }

  /** Whether decode({skipSpecialTokens: true}) drops this id. */
  isSpecial(id: number): boolean {
    return this.special.has(id);
  }

  /** An incremental detokenizer whose output equals decode() of everything pushed. */
  createStreamer(options: StreamerOptions = {}): TextStreamer {
    return new TextStreamer(this, options);
  }
}

/** tokenizers.js ignores Metaspace's `split`; refuse the case where that would matter. */
function checkPreTokenizer(pre: unknown): void {
  const list = (p: unknown): Record<string, unknown>[] => {
    if (p == null) return [];
    const o = p as Record<string, unknown>;
    return o.type === 'Sequence' && Array.isArray(o.pretokenizers) ? o.pretokenizers.flatMap(list) : [o];
  };
  for (const p of list(pre)) {
    if (p.type === 'Metaspace' && p.split !== false) {
      throw new ErnieError('UNSUPPORTED', 'tokenizer.json: a Metaspace pre-tokenizer that splits words is not supported; load tokenizer.model instead');
    }
    if (p.type === 'Metaspace' && p.prepend_scheme === undefined) {
      throw new ErnieError('UNSUPPORTED', 'tokenizer.json: Metaspace without prepend_scheme (an old format); load tokenizer.model instead');
    }
  }
}
