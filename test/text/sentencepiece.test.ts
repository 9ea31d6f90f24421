import { describe, expect, it } from 'vitest';
import { FileFormatError } from '../../src/errors';
import { parseSentencePieceModel } from '../../src/text/sentencepiece';
import { fixture, rng } from './helpers';

// A tiny protobuf writer, to build models and hostile inputs by hand.
const varint = (v: number | bigint): number[] => {
  let x = BigInt.asUintN(64, BigInt(v));
  const out: number[] = [];
  do {
    let b = Number(x & 0x7fn);
    x >>= 7n;
    if (x) b |= 0x80;
    out.push(b);
  } while (x);
  return out;
};
const tag = (field: number, wire: number): number[] => varint(field * 8 + wire);
const bytesField = (field: number, data: number[] | Uint8Array): number[] => [...tag(field, 2), ...varint(data.length), ...data];
const str = (field: number, s: string): number[] => bytesField(field, [...new TextEncoder().encode(s)]);
const int = (field: number, v: number): number[] => [...tag(field, 0), ...varint(v)];
const float = (field: number, v: number): number[] => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setFloat32(0, v, true);
  return [...tag(field, 5), ...b];
};
const piece = (p: string, score: number, type?: number): number[] =>
  bytesField(1, [...str(1, p), ...float(2, score), ...(type === undefined ? [] : int(3, type))]);
const model = (...parts: number[][]): Uint8Array => new Uint8Array(parts.flat());
const trainer = (...fields: number[][]): number[] => bytesField(2, fields.flat());
const normalizer = (...fields: number[][]): number[] => bytesField(3, fields.flat());

describe('parseSentencePieceModel on the fixture', () => {
  const m = parseSentencePieceModel(fixture.model());

  it('reads pieces with scores and types', () => {
    expect(m.pieces).toHaveLength(700);
    expect(m.pieces.slice(0, 5)).toEqual([
      { piece: '<pad>', score: 0, type: 'CONTROL' },
      { piece: '<s>', score: 0, type: 'CONTROL' },
      { piece: '</s>', score: 0, type: 'CONTROL' },
      { piece: '<unk>', score: 0, type: 'UNKNOWN' },
      { piece: '<|begin_of_sentence|>', score: 0, type: 'USER_DEFINED' },
    ]);
    expect(m.pieces[13]).toEqual({ piece: '<0x00>', score: 0, type: 'BYTE' });
    const counts: Record<string, number> = {};
    for (const p of m.pieces) counts[p.type] = (counts[p.type] ?? 0) + 1;
    expect(counts).toEqual({ CONTROL: 3, UNKNOWN: 1, USER_DEFINED: 9, BYTE: 256, NORMAL: 431 });
    // BPE pieces come in merge order: scores never increase after the special ones.
    const normal = m.pieces.filter((p) => p.type === 'NORMAL').map((p) => p.score);
    expect(normal.every((s, i) => i === 0 || s <= normal[i - 1]!)).toBe(true);
  });

  it('matches the vocabulary transformers wrote', () => {
    const vocab = (fixture.hfJson().model as { vocab: Record<string, number> }).vocab;
    expect(Object.keys(vocab)).toHaveLength(m.pieces.length);
    for (const [tok, id] of Object.entries(vocab)) expect(m.pieces[id]!.piece).toBe(tok);
  });

  it('reads trainer and normalizer specs', () => {
    expect(m.trainerSpec).toMatchObject({
      modelType: 'BPE', vocabSize: 700, byteFallback: true, splitDigits: true, allowWhitespaceOnlyPieces: true,
      unkId: 3, bosId: 1, eosId: 2, padId: 0, unkPiece: '<unk>', bosPiece: '<s>', eosPiece: '</s>', padPiece: '<pad>',
    });
    expect(m.trainerSpec.userDefinedSymbols).toContain('<think>');
    expect(m.normalizerSpec).toMatchObject({ name: 'nmt_nfkc', addDummyPrefix: true, removeExtraWhitespaces: false, escapeWhitespaces: true });
    expect(m.normalizerSpec.precompiledCharsmapBytes).toBeGreaterThan(0);
  });
});

describe('parseSentencePieceModel on hand-built protos', () => {
  it('applies proto defaults, negative int32 ids and skips unknown fields', () => {
    const m = parseSentencePieceModel(model(
      piece('<unk>', 0, 2), piece('a', -1), piece('b', -2.5, 1),
      [...tag(99, 1), 1, 2, 3, 4, 5, 6, 7, 8], // unknown fixed64 field
      trainer(int(3, 2), int(40, 0), int(41, -1), int(42, -1), int(43, -1), str(2, 'prefix'), [...tag(777, 5), 0, 0, 0, 0]),
      normalizer(str(1, 'identity'), int(3, 0)),
    ));
    expect(m.pieces.map((p) => [p.piece, p.score, p.type])).toEqual([['<unk>', 0, 'UNKNOWN'], ['a', -1, 'NORMAL'], ['b', -2.5, 'NORMAL']]);
    expect(m.trainerSpec).toMatchObject({ modelType: 'BPE', unkId: 0, bosId: -1, eosId: -1, padId: -1, byteFallback: false, splitDigits: false });
    expect(m.normalizerSpec).toMatchObject({ name: 'identity', addDummyPrefix: false, removeExtraWhitespaces: true });
  });

  it('defaults model_type to UNIGRAM', () => {
    const m = parseSentencePieceModel(model(piece('<unk>', 0, 2), piece('<s>', 0, 3), piece('</s>', 0, 3), trainer(), normalizer()));
    expect(m.trainerSpec.modelType).toBe('UNIGRAM');
  });

  const bad: [string, Uint8Array, RegExp][] = [
    ['empty file', new Uint8Array(0), /no pieces/],
    ['no specs', model(piece('<unk>', 0, 2)), /truncated/],
    ['unknown piece type', model(piece('<unk>', 0, 9), trainer(), normalizer()), /piece type 9/],
    ['unknown model type', model(piece('<unk>', 0, 2), trainer(int(3, 7)), normalizer()), /model_type 7/],
    ['duplicate piece', model(piece('<unk>', 0, 2), piece('a', 0), piece('a', 0), trainer(), normalizer()), /twice/],
    ['empty piece', model(piece('<unk>', 0, 2), piece('', 0), trainer(), normalizer()), /empty/],
    ['id out of range', model(piece('<unk>', 0, 2), trainer(int(41, -1), int(42, 5)), normalizer()), /eos_id 5/],
    ['length past the end', model([...tag(1, 2), ...varint(1000), 1, 2, 3]), /runs past/],
    ['wrong wire type', model([...tag(1, 0), 1]), /wire type/],
    ['bad UTF-8', model(bytesField(1, [...tag(1, 2), 2, 0xc3, 0x28])), /UTF-8/],
    ['field number 0', model([0, 0]), /field number 0/],
    ['wire type 3 (groups)', model([...tag(5, 3)]), /wire type 3/],
    ['endless varint', model([...tag(9, 0), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]), /varint/],
    ['truncated float', model(bytesField(1, [...str(1, 'a'), ...tag(2, 5), 0, 0])), /truncated float/],
  ];
  for (const [name, bytes, msg] of bad) {
    it(`rejects ${name} with a FileFormatError naming the file`, () => {
      let err: unknown;
      try { parseSentencePieceModel(bytes, 'models/tokenizer.model'); } catch (e) { err = e; }
      expect(err).toBeInstanceOf(FileFormatError);
      expect((err as FileFormatError).code).toBe('BAD_FILE');
      expect((err as FileFormatError).file).toBe('models/tokenizer.model');
      expect((err as Error).message).toMatch(msg);
      expect((err as Error).message.startsWith('models/tokenizer.model: ')).toBe(true);
    });
  }
});

describe('parseSentencePieceModel on damaged copies of the fixture', () => {
  const good = fixture.model();

  it('rejects every truncation (sampled) with a FileFormatError', () => {
    const r = rng(1);
    const cuts = [0, 1, 2, 3, 10, 100, good.length - 1, good.length - 2];
    for (let i = 0; i < 300; i++) cuts.push(Math.floor(r() * good.length));
    for (const cut of cuts) {
      expect(() => parseSentencePieceModel(good.subarray(0, cut)), `cut at ${cut}`).toThrow(FileFormatError);
    }
  });

  it('never fails with anything but a FileFormatError on corrupted bytes', () => {
    const r = rng(2);
    for (let i = 0; i < 300; i++) {
      const copy = good.slice();
      const flips = 1 + Math.floor(r() * 8);
      // Corrupt the pieces and specs region, not only the big charsmap blob.
      for (let j = 0; j < flips; j++) copy[Math.floor(r() * 20000)] = Math.floor(r() * 256);
      try {
        parseSentencePieceModel(copy);
      } catch (e) {
        expect(e).toBeInstanceOf(FileFormatError);
      }
    }
  });

  it('rejects random garbage', () => {
    const r = rng(3);
    for (let i = 0; i < 200; i++) {
      const junk = new Uint8Array(1 + Math.floor(r() * 64)).map(() => Math.floor(r() * 256));
      try {
        parseSentencePieceModel(junk);
        throw new Error('garbage parsed');
      } catch (e) {
        expect(e).toBeInstanceOf(FileFormatError);
      }
    }
  });
});
