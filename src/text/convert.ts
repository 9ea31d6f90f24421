// SentencePiece model + tokenizer_config.json -> tokenizer.json, the way HF transformers (v5)
// builds its fast LlamaTokenizer from a `tokenizer.model` (ERNIE 4.5 ships only that file):
//   - model: BPE over every piece (id = piece index), merges derived from the pieces themselves
//     (see generateMerges), byte_fallback on, no unk_token, fuse_unk;
//   - no normalizer (the proto's nmt_nfkc rule is ignored, as transformers does);
//   - pre_tokenizer: Metaspace without splitting; a "▁" is prepended to every text segment
//     between added tokens unless it already starts with one ("always", the legacy behaviour that
//     puts a space after special tokens) or only to the first segment ("first", legacy=false), or
//     never (add_prefix_space=false);
//   - decoder: ▁ -> space, byte fallback, fuse, and strip the one space the prefix added;
//   - added tokens: CONTROL pieces (special), USER_DEFINED pieces (not special unless they are a
//     named special token), the config's named special tokens and added_tokens_decoder entries.

import { ErnieError } from '../errors';
import type { SentencePieceModel } from './sentencepiece';

/** tokenizer_config.json as published (only the keys we read are typed). */
export interface TokenizerConfig {
  bos_token?: TokenSpec | null;
  eos_token?: TokenSpec | null;
  unk_token?: TokenSpec | null;
  pad_token?: TokenSpec | null;
  cls_token?: TokenSpec | null;
  sep_token?: TokenSpec | null;
  mask_token?: TokenSpec | null;
  additional_special_tokens?: TokenSpec[];
  extra_special_tokens?: TokenSpec[] | Record<string, TokenSpec>;
  added_tokens_decoder?: Record<string, AddedTokenSpec>;
  add_bos_token?: boolean;
  add_eos_token?: boolean;
  add_prefix_space?: boolean | null;
  legacy?: boolean;
  chat_template?: string | { name: string; template: string }[];
  [key: string]: unknown;
}

/** A token as tokenizer_config.json writes it: a string or a serialized AddedToken. */
export type TokenSpec = string | { content: string; [key: string]: unknown };

export interface AddedTokenSpec {
  content: string;
  single_word?: boolean;
  lstrip?: boolean;
  rstrip?: boolean;
  normalized?: boolean;
  special?: boolean;
}

export interface AddedTokenJson {
  id: number;
  content: string;
  single_word: boolean;
  lstrip: boolean;
  rstrip: boolean;
  normalized: boolean;
  special: boolean;
}

/** The subset of tokenizer.json this module writes (and tokenizer.ts reads). */
export interface TokenizerJson {
  version: string;
  truncation: null;
  padding: null;
  added_tokens: AddedTokenJson[];
  normalizer: unknown;
  pre_tokenizer: unknown;
  post_processor: unknown;
  decoder: unknown;
  model: {
    type: 'BPE';
    dropout: null;
    unk_token: string | null;
    continuing_subword_prefix: null;
    end_of_word_suffix: null;
    fuse_unk: boolean;
    byte_fallback: boolean;
    ignore_merges: boolean;
    vocab: Record<string, number>;
    merges: [string, string][];
  };
}

const NAMED_SPECIAL = ['bos_token', 'eos_token', 'unk_token', 'sep_token', 'pad_token', 'cls_token', 'mask_token'] as const;

export function tokenContent(spec: TokenSpec | null | undefined): string | undefined {
  if (spec == null) return undefined;
  if (typeof spec === 'string') return spec;
  if (typeof spec === 'object' && typeof spec.content === 'string') return spec.content;
  throw new ErnieError('BAD_CONFIG', `tokenizer_config.json: a token is neither a string nor {content}: ${JSON.stringify(spec)}`);
}

/** Every token the config calls special: named ones plus additional/extra lists. */
export function configSpecialTokens(config: TokenizerConfig): string[] {
  const out: string[] = [];
  for (const key of NAMED_SPECIAL) {
    const c = tokenContent(config[key]);
    if (c !== undefined) out.push(c);
  }
  const extra = config.extra_special_tokens;
  const lists = [config.additional_special_tokens ?? [], Array.isArray(extra) ? extra : Object.values(extra ?? {})];
  for (const list of lists) for (const t of list) out.push(tokenContent(t)!);
  return [...new Set(out)];
}

/**
 * BPE merges from a vocabulary alone: every split of every piece into two pieces that are
 * both in the vocabulary is a merge. transformers orders them by (merged piece id, left length
 * in code points, ...); the length is unique per split, so that is piece order, then left to
 * right. (SentencePiece BPE stores pieces in merge order, so ids are merge priorities.)
 */
export function generateMerges(vocab: Map<string, number>): [string, string][] {
  const pieces = [...vocab.entries()].sort((a, b) => a[1] - b[1]);
  const merges: [string, string][] = [];
  for (const [piece] of pieces) {
    // Split at each code point boundary (Python slices strings by code point).
    let off = piece.codePointAt(0)! > 0xffff ? 2 : 1;
    while (off < piece.length) {
      const left = piece.slice(0, off), right = piece.slice(off);
      if (vocab.has(left) && vocab.has(right)) merges.push([left, right]);
      off += piece.codePointAt(off)! > 0xffff ? 2 : 1;
    }
  }
  return merges;
}

export interface ConvertOptions {
  /** added_tokens.json ({content: id}), when the download has one. */
  addedTokens?: Record<string, number>;
}

/** Builds the tokenizer.json object transformers would write for this model + config. */
export function sentencePieceToTokenizerJson(
  model: SentencePieceModel,
  config: TokenizerConfig,
  options: ConvertOptions = {},
): TokenizerJson {
  const vocab = new Map<string, number>();
  model.pieces.forEach((p, i) => vocab.set(p.piece, i));
  const merges = generateMerges(vocab);

  const specials = new Set(configSpecialTokens(config));
  const added = new Map<number, AddedTokenJson>();
  const byContent = new Map<string, number>();
  let nextId = model.pieces.length;
  const add = (id: number, content: string, special: boolean, spec?: AddedTokenSpec): void => {
    const prev = added.get(id);
    if (prev && prev.content !== content) {
      throw new ErnieError('BAD_CONFIG', `tokenizer_config.json: added tokens disagree on id ${id} with tokenizer.model (or added_tokens.json): ${JSON.stringify(prev.content)} vs ${JSON.stringify(content)}`);
    }
    added.set(id, {
      id, content,
      single_word: spec?.single_word ?? prev?.single_word ?? false,
      lstrip: spec?.lstrip ?? prev?.lstrip ?? false,
      rstrip: spec?.rstrip ?? prev?.rstrip ?? false,
      normalized: spec?.normalized ?? prev?.normalized ?? false,
      special: spec?.special ?? (special || (prev?.special ?? false)),
    });
    byContent.set(content, id);
    nextId = Math.max(nextId, id + 1);
  };

  model.pieces.forEach((p, i) => {
    if (p.type === 'CONTROL') add(i, p.piece, true);
    else if (p.type === 'USER_DEFINED') add(i, p.piece, specials.has(p.piece));
  });
  for (const [content, id] of Object.entries(options.addedTokens ?? {})) add(id, content, specials.has(content));
  for (const [idStr, spec] of Object.entries(config.added_tokens_decoder ?? {})) {
    const id = Number(idStr);
    if (!Number.isInteger(id) || id < 0) throw new ErnieError('BAD_CONFIG', `tokenizer_config.json: added_tokens_decoder key ${JSON.stringify(idStr)} is not an id`);
    add(id, spec.content, specials.has(spec.content), spec);
  }
  // Named special tokens: an existing piece becomes a special added token; an unknown one is appended.
  for (const content of specials) {
    add(byContent.get(content) ?? vocab.get(content) ?? nextId, content, true);
  }

  const addPrefixSpace = config.add_prefix_space ?? true;
  const legacy = config.legacy ?? false;
  const prependScheme = !addPrefixSpace ? 'never' : legacy ? 'always' : 'first';
  const decoders: unknown[] = [
    { type: 'Replace', pattern: { String: '▁' }, content: ' ' },
    { type: 'ByteFallback' },
    { type: 'Fuse' },
  ];
  if (addPrefixSpace) decoders.push({ type: 'Strip', content: ' ', start: 1, stop: 0 });

  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [...added.values()].sort((a, b) => a.id - b.id),
    normalizer: null,
    pre_tokenizer: { type: 'Metaspace', replacement: '▁', prepend_scheme: prependScheme, split: false },
    post_processor: templateProcessing(config, (t) => byContent.get(t) ?? vocab.get(t)),
    decoder: { type: 'Sequence', decoders },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: true,
      byte_fallback: true,
      ignore_merges: false,
      vocab: Object.fromEntries(vocab),
      merges,
    },
  };
}

/** `<bos>? $A <eos>?` (and the pair form) as transformers' update_post_processor writes it. */
function templateProcessing(config: TokenizerConfig, idOf: (t: string) => number | undefined): unknown {
  const specialTokens: Record<string, { id: string; ids: number[]; tokens: string[] }> = {};
  const piece = (key: 'bos_token' | 'eos_token', typeId: number): unknown[] => {
    const content = tokenContent(config[key]);
    const id = content === undefined ? undefined : idOf(content);
    if (content === undefined || id === undefined) {
      throw new ErnieError('BAD_CONFIG', `tokenizer_config.json: add_${key} is set but ${key} is not in the vocabulary`);
    }
    specialTokens[content] = { id: content, ids: [id], tokens: [content] };
    return [{ SpecialToken: { id: content, type_id: typeId } }];
  };
  const bos = (t: number): unknown[] => (config.add_bos_token ? piece('bos_token', t) : []);
  const eos = (t: number): unknown[] => (config.add_eos_token ? piece('eos_token', t) : []);
  return {
    type: 'TemplateProcessing',
    single: [...bos(0), { Sequence: { id: 'A', type_id: 0 } }, ...eos(0)],
    pair: [...bos(0), { Sequence: { id: 'A', type_id: 0 } }, ...eos(0), ...bos(1), { Sequence: { id: 'B', type_id: 1 } }, ...eos(1)],
    special_tokens: specialTokens,
  };
}
