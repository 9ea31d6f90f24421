import { Tokenizer } from '@huggingface/tokenizers';
import { describe, expect, it } from 'vitest';
import { generateMerges, sentencePieceToTokenizerJson } from '../../src/text/convert';
import { parseSentencePieceModel } from '../../src/text/sentencepiece';
import { fixture, randomText, rng } from './helpers';

const spm = parseSentencePieceModel(fixture.model());

describe('sentencePieceToTokenizerJson', () => {
  const mine = sentencePieceToTokenizerJson(spm, fixture.config());
  const hf = fixture.hfJson() as Record<string, any>;

  it('writes exactly the tokenizer.json transformers wrote (vocab, merges, added tokens, pipeline)', () => {
    expect(mine.model.vocab).toEqual(hf.model.vocab);
    expect(mine.model.merges).toEqual(hf.model.merges); // same merges in the same order
    expect(mine.added_tokens).toEqual(hf.added_tokens);
    expect(mine.pre_tokenizer).toEqual(hf.pre_tokenizer);
    expect(mine.decoder).toEqual(hf.decoder);
    expect(mine.post_processor).toEqual(hf.post_processor);
    // ... and nothing else differs, key order included.
    expect(JSON.stringify(mine)).toBe(JSON.stringify(hf));
  });

  it('tokenizes like the transformers file on the references and 600 generated strings', () => {
    const a = new Tokenizer(mine, {});
    const b = new Tokenizer(hf, {});
    const r = rng(11);
    const texts = fixture.reference().cases.map((c) => c.text);
    for (let i = 0; i < 600; i++) texts.push(randomText(r, { specials: i % 2 === 0, unnormalized: i % 3 === 0 }));
    for (const t of texts) {
      expect(a.encode(t, { add_special_tokens: false }).ids, JSON.stringify(t)).toEqual(b.encode(t, { add_special_tokens: false }).ids);
    }
  });

  it('follows add_prefix_space and legacy the way transformers does', () => {
    const cfg = fixture.config();
    const never = sentencePieceToTokenizerJson(spm, { ...cfg, add_prefix_space: false });
    expect(never.pre_tokenizer).toMatchObject({ prepend_scheme: 'never' });
    expect((never.decoder as { decoders: { type: string }[] }).decoders.map((d) => d.type)).toEqual(['Replace', 'ByteFallback', 'Fuse']);
    const first = sentencePieceToTokenizerJson(spm, { ...cfg, legacy: false });
    expect(first.pre_tokenizer).toMatchObject({ prepend_scheme: 'first' });
  });

  it('writes BOS/EOS into the post-processor when the config asks', () => {
    const j = sentencePieceToTokenizerJson(spm, { ...fixture.config(), add_bos_token: true, add_eos_token: true });
    expect(j.post_processor).toEqual({
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '</s>', type_id: 0 } }],
      pair: [
        { SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '</s>', type_id: 0 } },
        { SpecialToken: { id: '<s>', type_id: 1 } }, { Sequence: { id: 'B', type_id: 1 } }, { SpecialToken: { id: '</s>', type_id: 1 } },
      ],
      special_tokens: { '<s>': { id: '<s>', ids: [1], tokens: ['<s>'] }, '</s>': { id: '</s>', ids: [2], tokens: ['</s>'] } },
    });
    expect(new Tokenizer(j, {}).encode('Hi').ids).toEqual([1, 594, 85, 601, 2]);
  });

  it('adds tokens from added_tokens.json and added_tokens_decoder, and unknown named special tokens', () => {
    const j = sentencePieceToTokenizerJson(spm, {
      ...fixture.config(),
      mask_token: '<mask:1>',
      added_tokens_decoder: { 9: { content: '<think>', special: false, rstrip: true }, 701: { content: '<|LOC_0|>', special: true } },
    }, { addedTokens: { '<|IMAGE_PLACEHOLDER|>': 6, '<|AUDIO_PLACEHOLDER|>': 700 } });
    const byId = new Map(j.added_tokens.map((t) => [t.id, t]));
    expect(byId.get(9)).toMatchObject({ content: '<think>', special: false, rstrip: true });
    expect(byId.get(700)).toMatchObject({ content: '<|AUDIO_PLACEHOLDER|>', special: false });
    expect(byId.get(701)).toMatchObject({ content: '<|LOC_0|>', special: true });
    expect(byId.get(702)).toMatchObject({ content: '<mask:1>', special: true });
    expect(() => sentencePieceToTokenizerJson(spm, fixture.config(), { addedTokens: { '<other>': 4 } })).toThrow(/disagree on id 4/);
  });
});

describe('generateMerges', () => {
  it('orders merges by the merged piece id, then left length in code points', () => {
    const vocab = new Map(['a', 'b', 'c', '🙂', 'ab', 'bc', 'abc', 'a🙂', '🙂a', 'a🙂a'].map((t, i) => [t, i]));
    expect(generateMerges(vocab)).toEqual([
      ['a', 'b'], ['b', 'c'], ['a', 'bc'], ['ab', 'c'], ['a', '🙂'], ['🙂', 'a'], ['a', '🙂a'], ['a🙂', 'a'],
    ]);
  });
});
