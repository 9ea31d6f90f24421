import { describe, expect, it } from 'vitest';
import { ErnieTokenizer } from '../../src/text/tokenizer';
import { fixture, randomText, rng } from './helpers';

const tok = ErnieTokenizer.fromFiles({ tokenizerModel: fixture.model(), tokenizerConfig: fixture.config() });
const byteId = (b: number): number => tok.tokenToId(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`)!;
const bytesOf = (s: string): number[] => [...new TextEncoder().encode(s)].map(byteId);

/** Streams ids one by one; returns the pushes and the flush. */
function stream(t: ErnieTokenizer, ids: number[], skipSpecialTokens = false): string[] {
  const s = t.createStreamer({ skipSpecialTokens });
  const out = ids.map((id) => s.push(id));
  out.push(s.flush());
  return out;
}

const hasLoneSurrogate = (s: string): boolean => /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(s);

/** Random ids: encoded text, raw ids (specials, bytes, out of range), valid and broken byte runs. */
function randomIds(r: () => number, vocab: number): number[] {
  const ids: number[] = [];
  const parts = 1 + Math.floor(r() * 8);
  for (let p = 0; p < parts; p++) {
    const k = r();
    if (k < 0.3) ids.push(...tok.encode(randomText(r, { specials: true, unnormalized: true }), { addSpecialTokens: false }));
    else if (k < 0.5) for (let i = Math.floor(r() * 6); i >= 0; i--) ids.push(Math.floor(r() * (vocab + 20)));
    else if (k < 0.75) ids.push(...bytesOf(String.fromCodePoint(0x80 + Math.floor(r() * 0x1ff00))));
    else if (k < 0.85) ids.push(...bytesOf('中🙂').slice(0, 1 + Math.floor(r() * 6))); // often cut mid-character
    else ids.push(Math.floor(r() * 13)); // specials and user-defined
  }
  return ids;
}

describe('TextStreamer on the reference strings', () => {
  for (const c of fixture.reference().cases) {
    it(`streams ${JSON.stringify(c.text)} token by token`, () => {
      for (const skip of [false, true]) {
        const parts = stream(tok, c.ids, skip);
        expect(parts.join('')).toBe(tok.decode(c.ids, { skipSpecialTokens: skip }));
        for (const p of parts) expect(p).not.toContain('\uFFFD');
      }
      expect(stream(tok, c.ids).join('')).toBe(c.decoded);
    });
  }
});

describe('TextStreamer', () => {
  it('holds byte-fallback tokens until the run is over, never emitting half a character', () => {
    const s = tok.createStreamer();
    const snowman = bytesOf('☃'); // three <0x..> tokens
    expect(s.push(tok.tokenToId('▁')!)).toBe('');    // the prefix space the decoder strips
    expect(snowman.map((id) => s.push(id))).toEqual(['', '', '']);
    expect(s.push(tok.tokenToId('▁c')!)).toBe('☃ c');
    expect(bytesOf('🙂🙂').map((id) => s.push(id)).join('')).toBe('');
    expect(s.flush()).toBe('🙂🙂');
  });

  it('emits a broken run the way decode does, when it ends', () => {
    const ids = [...bytesOf('中').slice(0, 2), tok.tokenToId('a')!];
    const parts = stream(tok, ids);
    expect(parts).toEqual(['', '', '\uFFFD\uFFFDa', '']);
    expect(parts.join('')).toBe(tok.decode(ids));
  });

  it('strips the prefix space only at the start of the stream', () => {
    const ids = tok.encode('Large language model');
    const parts = stream(tok, ids);
    expect(parts).toEqual(['Large', ' language', ' model', '']);
    // After a special token the legacy space stays.
    expect(stream(tok, tok.encode('<|begin_of_sentence|>Large')).join('')).toBe('<|begin_of_sentence|> Large');
    expect(stream(tok, tok.encode('<|begin_of_sentence|>Large'), true).join('')).toBe('Large');
  });

  it('a continuation keeps its first space: prompt text + streamed text = decode(prompt + output)', () => {
    const s = tok.createStreamer({ continuation: true });
    const ids = tok.encode(' upon a time', { addSpecialTokens: false });
    expect(tok.idToToken(ids[0]!)!.startsWith('▁')).toBe(true);
    expect(s.push(ids[0]!)).toBe(' '); // a plain streamer drops this one: it would start the text
    expect(s.pushAll(ids.slice(1)) + s.flush()).toBe('upon a time');
    expect(stream(tok, ids).join('')).toBe('upon a time');
    const r = rng(9);
    for (let i = 0; i < 200; i++) {
      const ids = tok.encode(randomText(r, { specials: false, unnormalized: false }), { addSpecialTokens: false });
      if (ids.length < 2) continue;
      const cut = 1 + Math.floor(r() * (ids.length - 1));
      const head = tok.decode(ids.slice(0, cut));
      const full = tok.decode(ids);
      if (!full.startsWith(head)) continue; // a byte run cut in the middle decodes differently
      const c = tok.createStreamer({ continuation: true });
      expect(c.pushAll(ids.slice(cut)) + c.flush(), JSON.stringify(ids)).toBe(full.slice(head.length));
    }
  });

  it('can be reused after flush', () => {
    const s = tok.createStreamer();
    const ids = tok.encode('Hello world');
    expect(s.pushAll(ids) + s.flush()).toBe('Hello world');
    expect(s.pushAll(ids) + s.flush()).toBe('Hello world');
  });

  it('equals decode() on 1500 random id sequences, with and without skipping specials', () => {
    const r = rng(5);
    for (let i = 0; i < 1500; i++) {
      const ids = randomIds(r, tok.vocabSize);
      const skip = i % 2 === 1;
      const parts = stream(tok, ids, skip);
      const full = tok.decode(ids, { skipSpecialTokens: skip });
      expect(parts.join(''), JSON.stringify(ids)).toBe(full);
      for (const p of parts) expect(hasLoneSurrogate(p)).toBe(false);
    }
  });
});

describe('TextStreamer with other decoder pipelines', () => {
  const hf = fixture.hfJson() as Record<string, any>;
  const withDecoder = (decoder: unknown): ErnieTokenizer =>
    ErnieTokenizer.fromFiles({ tokenizerJson: { ...hf, decoder }, tokenizerConfig: fixture.config() });
  const base = [{ type: 'Replace', pattern: { String: '▁' }, content: ' ' }, { type: 'ByteFallback' }, { type: 'Fuse' }];
  const cases: [string, unknown][] = [
    ['no Strip (add_prefix_space=false)', { type: 'Sequence', decoders: base }],
    ['Strip at both ends', { type: 'Sequence', decoders: [...base, { type: 'Strip', content: ' ', start: 2, stop: 2 }] }],
    ['Metaspace decoder', { type: 'Metaspace', replacement: '▁', prepend_scheme: 'always', split: false }],
    ['no decoder', null],
    ['a Replace after Fuse (re-decoding fallback)', { type: 'Sequence', decoders: [...base, { type: 'Replace', pattern: { String: 'ab' }, content: 'X' }] }],
  ];
  for (const [name, decoder] of cases) {
    it(`equals decode() with ${name}`, () => {
      const t = withDecoder(decoder);
      const r = rng(9);
      for (let i = 0; i < 300; i++) {
        const ids = randomIds(r, t.vocabSize);
        if (i % 10 === 0) ids.push(...t.encode('ab a b  '));
        expect(stream(t, ids, i % 2 === 1).join(''), JSON.stringify(ids)).toBe(t.decode(ids, { skipSpecialTokens: i % 2 === 1 }));
      }
    });
  }
});
