import { Tokenizer } from '@huggingface/tokenizers';
import { describe, expect, it } from 'vitest';
import { ErnieError, FileFormatError } from '../../src/errors';
import { ErnieTokenizer } from '../../src/text/tokenizer';
import { fixture, randomText, rng } from './helpers';

const fromModel = ErnieTokenizer.fromFiles({ tokenizerModel: fixture.model(), tokenizerConfig: fixture.config() });
const fromJson = ErnieTokenizer.fromFiles({ tokenizerJson: fixture.hfJson(), tokenizerConfig: fixture.config() });
const ref = fixture.reference().cases;

describe.each([['tokenizer.model', fromModel], ['tokenizer.json', fromJson]] as const)('ErnieTokenizer from %s', (_, tok) => {
  it.each(ref.map((c) => [JSON.stringify(c.text), c] as const))('matches transformers on %s', (_name, c) => {
    expect(tok.encode(c.text, { addSpecialTokens: false })).toEqual(c.ids);
    expect(tok.encode(c.text)).toEqual(c.ids_with_special);
    expect(tok.tokenize(c.text, { addSpecialTokens: false })).toEqual(c.tokens);
    expect(c.ids.map((id) => tok.idToToken(id))).toEqual(c.tokens);
    expect(tok.decode(c.ids)).toBe(c.decoded);
  });

  it('reads the special tokens from the files', () => {
    expect(tok.specialTokens).toEqual({
      bos: { content: '<s>', id: 1 }, eos: { content: '</s>', id: 2 }, unk: { content: '<unk>', id: 3 },
      pad: { content: '<pad>', id: 0 }, cls: { content: '<|begin_of_sentence|>', id: 4 },
      sep: { content: '<|end_of_sentence|>', id: 5 }, mask: null,
    });
    expect(tok.eosTokenId).toBe(2);
    expect(tok.stopTokenIds).toEqual([2, 5]);
    expect(tok.vocabSize).toBe(700);
    expect(tok.tokenToId('<think>')).toBe(9);
    expect(tok.tokenToId('nope')).toBeUndefined();
    expect(tok.idToToken(700)).toBeUndefined();
  });
});

describe('ErnieTokenizer behaviour', () => {
  const tok = fromModel;

  it('adds the legacy ▁ after every added token, special or not', () => {
    expect(tok.tokenize('a<think>b</think>c')).toEqual(['▁a', '<think>', '▁b', '</think>', '▁c']);
    expect(tok.decode(tok.encode('<think>x'))).toBe('<think> x');
  });

  it('skips only tokens marked special', () => {
    const ids = tok.encode('<|begin_of_sentence|>User: hi<think>ok</think><|end_of_sentence|>');
    expect(tok.decode(ids, { skipSpecialTokens: true })).toBe('User: hi<think> ok</think>');
    expect(tok.decode([1, 2, 0, 3], { skipSpecialTokens: true })).toBe('');
  });

  it('decodes bad byte runs like HF tokenizers: one U+FFFD per byte of the run', () => {
    const b = (x: number): number => tok.tokenToId(`<0x${x.toString(16).toUpperCase().padStart(2, '0')}>`)!;
    const a = tok.tokenToId('a')!;
    expect(tok.decode([b(0xe2), b(0x98), b(0x83)])).toBe('☃');
    expect(tok.decode([b(0xe2), b(0x98), a])).toBe('\uFFFD\uFFFDa');
    expect(tok.decode([b(0xe2), b(0x98), b(0x83), b(0xe2), a])).toBe('\uFFFD'.repeat(4) + 'a'); // the whole run is lost
    expect(tok.decode([b(0x41), b(0x42)])).toBe('AB');
  });

  it('drops ids outside the vocabulary and handles empty input', () => {
    expect(tok.decode([])).toBe('');
    expect(tok.decode([5000, -1, 1.5, tok.tokenToId('▁a')!])).toBe('a');
    expect(tok.encode('')).toEqual([]);
  });

  it('decodes like tokenizers.js where both are right (valid UTF-8), on 600 generated strings', () => {
    const js = new Tokenizer(fixture.hfJson(), { clean_up_tokenization_spaces: false });
    const r = rng(21);
    for (let i = 0; i < 600; i++) {
      const text = randomText(r, { specials: i % 2 === 0, unnormalized: true });
      const ids = tok.encode(text, { addSpecialTokens: false });
      if (ids.length === 0) continue;
      for (const skip of [false, true]) {
        expect(tok.decode(ids, { skipSpecialTokens: skip }), JSON.stringify(text)).toBe(js.decode(ids, { skip_special_tokens: skip }));
      }
      // Round trip: the text comes back except the one space the Metaspace prefix eats.
      if (!/<[|/a-z]/.test(text)) {
        expect(tok.decode(ids)).toBe((/^[ ▁]/.test(text) ? text.slice(1) : text).replaceAll('▁', ' '));
      }
    }
  });

  it('has digits as single tokens (split_digits)', () => {
    expect(tok.tokenize('is 2025')).toEqual(['▁is', '▁', '2', '0', '2', '5']);
  });
});

describe('ErnieTokenizer.fromFiles errors', () => {
  it('needs one of the two files', () => {
    expect(() => ErnieTokenizer.fromFiles({ tokenizerConfig: fixture.config() })).toThrow(ErnieError);
    try { ErnieTokenizer.fromFiles({ tokenizerConfig: fixture.config() }); } catch (e) { expect((e as ErnieError).code).toBe('BAD_REQUEST'); }
  });

  it('names the broken file', () => {
    const e1 = (() => { try { ErnieTokenizer.fromFiles({ tokenizerModel: new Uint8Array([8, 1]), tokenizerConfig: {} }); } catch (e) { return e; } })();
    expect(e1).toBeInstanceOf(FileFormatError);
    expect((e1 as FileFormatError).file).toBe('tokenizer.model');
    const e2 = (() => { try { ErnieTokenizer.fromFiles({ tokenizerJson: { model: {} }, tokenizerConfig: {} }); } catch (e) { return e; } })();
    expect(e2).toBeInstanceOf(FileFormatError);
    expect((e2 as FileFormatError).file).toBe('tokenizer.json');
    expect(() => ErnieTokenizer.fromFiles({ tokenizerModel: fixture.model(), tokenizerConfig: [] as unknown as object })).toThrow(/tokenizer_config.json/);
  });

  it('refuses tokenizer.json pipelines it would get wrong', () => {
    const j = fixture.hfJson() as Record<string, any>;
    expect(() => ErnieTokenizer.fromFiles({ tokenizerJson: { ...j, decoder: { type: 'ByteLevel' } }, tokenizerConfig: {} })).toThrow(/not supported/);
    expect(() => ErnieTokenizer.fromFiles({ tokenizerJson: { ...j, pre_tokenizer: { ...j.pre_tokenizer, split: true } }, tokenizerConfig: {} })).toThrow(/splits words/);
  });

  it('falls back to the proto for special tokens the config leaves out', () => {
    const t = ErnieTokenizer.fromFiles({ tokenizerModel: fixture.model(), tokenizerConfig: {} });
    expect(t.specialTokens.eos).toEqual({ content: '</s>', id: 2 });
    expect(t.specialTokens.cls).toBeNull();
    expect(t.stopTokenIds).toEqual([2, 5]);
  });
});
