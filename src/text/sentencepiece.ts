// A minimal reader for SentencePiece's `tokenizer.model` (protobuf `ModelProto`, see
// sentencepiece_model.proto). Only the fields a tokenizer needs are decoded; every other
// field is skipped by wire type, so newer protos still load. Any truncation, bad varint or
// length that overruns its message is a FileFormatError naming the file.

import { FileFormatError } from '../errors';

export type PieceType = 'NORMAL' | 'UNKNOWN' | 'CONTROL' | 'USER_DEFINED' | 'UNUSED' | 'BYTE';

const PIECE_TYPES: Record<number, PieceType> = {
  1: 'NORMAL', 2: 'UNKNOWN', 3: 'CONTROL', 4: 'USER_DEFINED', 5: 'UNUSED', 6: 'BYTE',
};

export interface SentencePiece {
  piece: string;
  score: number;
  type: PieceType;
}

export type SpmModelType = 'UNIGRAM' | 'BPE' | 'WORD' | 'CHAR';
const MODEL_TYPES: Record<number, SpmModelType> = { 1: 'UNIGRAM', 2: 'BPE', 3: 'WORD', 4: 'CHAR' };

/** The TrainerSpec fields that matter for encoding; defaults are the proto's. */
export interface TrainerSpec {
  modelType: SpmModelType;
  vocabSize: number;
  byteFallback: boolean;
  splitDigits: boolean;
  splitByWhitespace: boolean;
  treatWhitespaceAsSuffix: boolean;
  allowWhitespaceOnlyPieces: boolean;
  unkId: number;
  bosId: number;
  eosId: number;
  padId: number;
  unkPiece: string;
  bosPiece: string;
  eosPiece: string;
  padPiece: string;
  controlSymbols: string[];
  userDefinedSymbols: string[];
}

export interface NormalizerSpec {
  name: string;
  addDummyPrefix: boolean;
  removeExtraWhitespaces: boolean;
  escapeWhitespaces: boolean;
  /** Size of the precompiled normalization map (0 = identity). */
  precompiledCharsmapBytes: number;
}

export interface SentencePieceModel {
  pieces: SentencePiece[];
  trainerSpec: TrainerSpec;
  normalizerSpec: NormalizerSpec;
}

/** Cursor over one protobuf message (a byte range of the file). */
class ProtoReader {
  pos: number;
  constructor(readonly buf: Uint8Array, start: number, readonly end: number, readonly file: string) {
    this.pos = start;
  }

  get done(): boolean { return this.pos >= this.end; }

  fail(msg: string): never {
    throw new FileFormatError(this.file, `${msg} at byte ${this.pos}`);
  }

  /** A varint as (lo, hi) 32-bit halves; protobuf int32 negatives are 10-byte varints. */
  private varint64(): [number, number] {
    let lo = 0, hi = 0;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) this.fail('truncated varint');
      const b = this.buf[this.pos++]!;
      const bits = b & 0x7f;
      if (i < 4) lo |= bits << (7 * i);
      else if (i === 4) { lo |= (bits & 0x0f) << 28; hi |= bits >>> 4; }
      else hi |= bits << (7 * i - 32);
      if ((b & 0x80) === 0) return [lo >>> 0, hi >>> 0];
    }
    this.fail('varint longer than 10 bytes');
  }

  /** int32 / enum / bool: the low 32 bits, signed. */
  int32(): number { return this.varint64()[0] | 0; }

  /** A length or count: must fit comfortably in a JS number. */
  uint(): number {
    const [lo, hi] = this.varint64();
    if (hi > 0x1fffff) this.fail('varint too large');
    return hi * 0x1_0000_0000 + lo;
  }

  float(): number {
    if (this.pos + 4 > this.end) this.fail('truncated float');
    const v = new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, 4).getFloat32(0, true);
    this.pos += 4;
    return v;
  }

  /** The byte range of a length-delimited field, checked against the enclosing message. */
  span(): [number, number] {
    const len = this.uint();
    if (len > this.end - this.pos) this.fail(`length ${len} runs past the end of its message`);
    const start = this.pos;
    this.pos += len;
    return [start, this.pos];
  }

  string(): string {
    const [s, e] = this.span();
    try {
      return utf8.decode(this.buf.subarray(s, e));
    } catch (cause) {
      throw new FileFormatError(this.file, `invalid UTF-8 in a string at byte ${s}`, { cause });
    }
  }

  sub(): ProtoReader {
    const [s, e] = this.span();
    return new ProtoReader(this.buf, s, e, this.file);
  }

  tag(): [field: number, wire: number] {
    const t = this.uint();
    const field = Math.floor(t / 8);
    if (field === 0) this.fail('field number 0');
    return [field, t & 7];
  }

  skip(wire: number): void {
    switch (wire) {
      case 0: this.varint64(); return;
      case 1: this.advance(8); return;
      case 2: this.span(); return;
      case 5: this.advance(4); return;
      default: this.fail(`unsupported wire type ${wire}`);
    }
  }

  private advance(n: number): void {
    if (n > this.end - this.pos) this.fail('truncated field');
    this.pos += n;
  }

  /** Checks the wire type a known field must have. */
  expect(field: number, wire: number, want: number): void {
    if (wire !== want) this.fail(`field ${field} has wire type ${wire}, expected ${want}`);
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function readPiece(r: ProtoReader): SentencePiece {
  const p: SentencePiece = { piece: '', score: 0, type: 'NORMAL' };
  while (!r.done) {
    const [f, w] = r.tag();
    if (f === 1) { r.expect(f, w, 2); p.piece = r.string(); }
    else if (f === 2) { r.expect(f, w, 5); p.score = r.float(); }
    else if (f === 3) {
      r.expect(f, w, 0);
      const t = r.int32();
      const type = PIECE_TYPES[t];
      if (!type) r.fail(`unknown piece type ${t}`);
      p.type = type;
    } else r.skip(w);
  }
  return p;
}

function defaultTrainerSpec(): TrainerSpec {
  return {
    modelType: 'UNIGRAM', vocabSize: 8000, byteFallback: false, splitDigits: false,
    splitByWhitespace: true, treatWhitespaceAsSuffix: false, allowWhitespaceOnlyPieces: false,
    unkId: 0, bosId: 1, eosId: 2, padId: -1,
    unkPiece: '<unk>', bosPiece: '<s>', eosPiece: '</s>', padPiece: '<pad>',
    controlSymbols: [], userDefinedSymbols: [],
  };
}

function readTrainerSpec(r: ProtoReader): TrainerSpec {
  const t = defaultTrainerSpec();
  const int = (f: number, w: number): number => { r.expect(f, w, 0); return r.int32(); };
  const str = (f: number, w: number): string => { r.expect(f, w, 2); return r.string(); };
  while (!r.done) {
    const [f, w] = r.tag();
    switch (f) {
      case 3: {
        const m = int(f, w);
        const type = MODEL_TYPES[m];
        if (!type) r.fail(`unknown model_type ${m}`);
        t.modelType = type;
        break;
      }
      case 4: t.vocabSize = int(f, w); break;
      case 22: t.splitByWhitespace = int(f, w) !== 0; break;
      case 24: t.treatWhitespaceAsSuffix = int(f, w) !== 0; break;
      case 25: t.splitDigits = int(f, w) !== 0; break;
      case 26: t.allowWhitespaceOnlyPieces = int(f, w) !== 0; break;
      case 30: t.controlSymbols.push(str(f, w)); break;
      case 31: t.userDefinedSymbols.push(str(f, w)); break;
      case 35: t.byteFallback = int(f, w) !== 0; break;
      case 40: t.unkId = int(f, w); break;
      case 41: t.bosId = int(f, w); break;
      case 42: t.eosId = int(f, w); break;
      case 43: t.padId = int(f, w); break;
      case 45: t.unkPiece = str(f, w); break;
      case 46: t.bosPiece = str(f, w); break;
      case 47: t.eosPiece = str(f, w); break;
      case 48: t.padPiece = str(f, w); break;
      default: r.skip(w);
    }
  }
  return t;
}

function readNormalizerSpec(r: ProtoReader): NormalizerSpec {
  const n: NormalizerSpec = {
    name: '', addDummyPrefix: true, removeExtraWhitespaces: true, escapeWhitespaces: true,
    precompiledCharsmapBytes: 0,
  };
  while (!r.done) {
    const [f, w] = r.tag();
    if (f === 1) { r.expect(f, w, 2); n.name = r.string(); }
    else if (f === 2) { r.expect(f, w, 2); const [s, e] = r.span(); n.precompiledCharsmapBytes = e - s; }
    else if (f === 3) { r.expect(f, w, 0); n.addDummyPrefix = r.int32() !== 0; }
    else if (f === 4) { r.expect(f, w, 0); n.removeExtraWhitespaces = r.int32() !== 0; }
    else if (f === 5) { r.expect(f, w, 0); n.escapeWhitespaces = r.int32() !== 0; }
    else r.skip(w);
  }
  return n;
}

/** Parses a SentencePiece `tokenizer.model`. `file` names it in errors. */
export function parseSentencePieceModel(bytes: Uint8Array, file = 'tokenizer.model'): SentencePieceModel {
  const r = new ProtoReader(bytes, 0, bytes.length, file);
  const pieces: SentencePiece[] = [];
  let trainerSpec: TrainerSpec | undefined;
  let normalizerSpec: NormalizerSpec | undefined;
  while (!r.done) {
    const [f, w] = r.tag();
    if (f === 1) { r.expect(f, w, 2); pieces.push(readPiece(r.sub())); }
    else if (f === 2) { r.expect(f, w, 2); trainerSpec = readTrainerSpec(r.sub()); }
    else if (f === 3) { r.expect(f, w, 2); normalizerSpec = readNormalizerSpec(r.sub()); }
    else r.skip(w);
  }
  if (pieces.length === 0) throw new FileFormatError(file, 'no pieces: not a SentencePiece model');
  // Fields are written in number order (pieces, trainer_spec, normalizer_spec), so a file cut
  // between two pieces still parses: the missing specs are what gives it away.
  if (!trainerSpec || !normalizerSpec) throw new FileFormatError(file, 'trainer_spec or normalizer_spec is missing (truncated file?)');
  const seen = new Set<string>();
  for (const [i, p] of pieces.entries()) {
    if (p.piece === '') throw new FileFormatError(file, `piece ${i} is empty`);
    if (seen.has(p.piece)) throw new FileFormatError(file, `piece ${JSON.stringify(p.piece)} appears twice`);
    seen.add(p.piece);
  }
  const ids = { unk_id: trainerSpec.unkId, bos_id: trainerSpec.bosId, eos_id: trainerSpec.eosId, pad_id: trainerSpec.padId };
  for (const [name, id] of Object.entries(ids)) {
    if (id < -1 || id >= pieces.length) throw new FileFormatError(file, `${name} ${id} is outside the ${pieces.length} pieces`);
  }
  return { pieces, trainerSpec, normalizerSpec };
}
