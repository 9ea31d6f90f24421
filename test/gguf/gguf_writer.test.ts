// The GGUF writer: its files have the structure llama.cpp's own ernie4_5-moe files have (the
// fixtures are llama.cpp-written: same keys in the same order with the same value types, same
// tensor names, order, dims, types and offsets at the fixture's geometry), read back through
// gguf.ts to the geometry and bytes written, stream in bounded chunks, reject bad input with
// typed errors, and load in the engine, whose greedy tokens match the f64 reference forward on
// the same (dequantized) weights. The llama.cpp side is bench/check_gguf_llama.ts (CI has no
// node-llama-cpp).
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { GgufFile } from '../../src/formats/gguf';
import { ernieConfigFromGguf } from '../../src/formats/gguf_ernie';
import { type ErnieGeometry, type GgufWeightType, type RandomRowsJob, randomErnieGgufSpec, randomRows } from '../../src/formats/gguf_ernie_writer';
import { type GgufSink, type GgufSpec, kv, layoutGguf, memorySink, writeGguf } from '../../src/formats/gguf_writer';
import { fileSink } from '../../src/formats/node_sink';
import { fromArrayBuffer } from '../../src/formats/sources';
import { loadEngine, type LoadedEngine } from '../../src/engine/load';
import { parseConfig } from '../../src/model/ernie45/config';
import { nodeGpu } from '../../src/node';
import { ggufTokenizerEntries, tokenizerFilesFromGguf } from '../../src/text/gguf_tokenizer';
import { ErnieTokenizer } from '../../src/text/tokenizer';
import type { Completion } from '../../src/api/types';
import { referenceForward } from '../reference/forward_ref';
import { makeErnieGguf } from '../../bench/make_gguf';
import { loadWeights, lookupFn, openGguf } from './helpers';

/** The tiny fixture's geometry (test/fixtures/ernie45-moe-tiny/config.json). */
const TINY: ErnieGeometry = {
  hidden: 128, layers: 4, heads: 4, kvHeads: 2, headDim: 32, intermediate: 256, experts: 16, topK: 4,
  expertWidth: 32, sharedExperts: 2, denseLeadLayers: 1, vocab: 2048,
};
/** Rows of 256 so every type fits, including Q4_K. */
const SMALL: ErnieGeometry = {
  hidden: 256, layers: 3, heads: 4, kvHeads: 2, headDim: 64, intermediate: 512, experts: 8, topK: 2,
  expertWidth: 256, sharedExperts: 1, denseLeadLayers: 1, vocab: 2048,
};
const TYPES: GgufWeightType[] = ['f32', 'f16', 'q8_0', 'q4_0', 'q4_k'];

const tokenizerFrom = async (fixture: string, vocab: number) => ggufTokenizerEntries(await openGguf(fixture), vocab);

async function writeToMemory(spec: GgufSpec): Promise<Uint8Array> {
  const sink = memorySink();
  await writeGguf(sink, spec);
  return sink.bytes();
}

/** An independent scan of a GGUF header: each key with its value type (arrays: 9 and their element type). */
function scanKeys(b: Uint8Array): { key: string; type: number; of?: number }[] {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let o = 16;
  const size: Record<number, number> = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };
  const str = () => {
    const n = Number(v.getBigUint64(o, true));
    o += 8 + n;
    return new TextDecoder().decode(b.subarray(o - n, o));
  };
  const out: { key: string; type: number; of?: number }[] = [];
  for (let i = 0, n = Number(v.getBigUint64(16, true)) && Number(v.getBigUint64(16, true)); i < n; i++) {
    if (i === 0) o = 24;
    const key = str();
    const type = v.getUint32(o, true);
    o += 4;
    if (type === 8) str();
    else if (type === 9) {
      const of = v.getUint32(o, true), count = Number(v.getBigUint64(o + 4, true));
      o += 12;
      for (let j = 0; j < count; j++) if (of === 8) str(); else o += size[of]!;
      out.push({ key, type, of });
      continue;
    } else o += size[type]!;
    out.push({ key, type });
  }
  return out;
}

describe('GGUF writer: the structure of llama.cpp-written ernie4_5-moe files', () => {
  it.each(['q4_0', 'q8_0', 'f16', 'f32'] as const)('at the tiny fixture geometry, %s matches the llama.cpp-written fixture of that type key for key and tensor for tensor', async (type) => {
    const fixture = `ernie45-moe-tiny-${type}`;
    const theirsBytes = new Uint8Array(readFileSync(`test/fixtures/gguf/${fixture}.gguf`));
    const oursBytes = await writeToMemory(randomErnieGgufSpec({ geometry: { ...TINY, contextLength: 4096 }, weightType: type, tokenizer: await tokenizerFrom(fixture, 2048), name: 'ernie45-moe-tiny' }));
    // keys, their order and value types (u32 vs i32 vs f32 matters to llama.cpp's get_key)
    expect(scanKeys(oursBytes)).toEqual(scanKeys(theirsBytes));
    const [ours, theirs] = await Promise.all([oursBytes, theirsBytes].map((b, i) => GgufFile.open(fromArrayBuffer(b, i ? 'theirs.gguf' : 'ours.gguf'))));
    // every metadata value, the tokenizer arrays included
    expect([...ours!.metadata.entries()]).toEqual([...theirs!.metadata.entries()]);
    const layout = (f: GgufFile) => [...f.tensors.values()].map((t) => ({ name: t.name, dims: t.dims, type: t.typeName, rel: t.offset - f.dataOffset }));
    expect(layout(ours!)).toEqual(layout(theirs!));
    expect(ours!.dataOffset).toBe(theirs!.dataOffset);
    expect(oursBytes.length).toBe(theirsBytes.length);
  });

  it('a vocabulary longer than the tokenizer is padded as llama.cpp pads ERNIE (one token per token_embd row)', async () => {
    const entries = await tokenizerFrom('ernie45-moe-tiny-q4_0', 103424);
    const get = (k: string) => entries.find(([key]) => key === k)![1] as { value: ArrayLike<unknown> };
    expect(get('tokenizer.ggml.tokens').value.length).toBe(103424);
    expect(get('tokenizer.ggml.tokens').value[2047]).toBe('▁t2047');
    expect(get('tokenizer.ggml.tokens').value[103423]).toBe('[PAD103423]');
    expect(get('tokenizer.ggml.token_type').value[103423]).toBe(5); // UNUSED
    expect(get('tokenizer.ggml.scores').value[2048]).toBe(-10000);
    await expect(tokenizerFrom('ernie45-moe-tiny-q4_0', 200)).rejects.toMatchObject({ code: 'BAD_REQUEST' }); // would drop byte pieces
  });
});

describe('GGUF writer: round trip through gguf.ts', () => {
  it.each(TYPES)('%s: the geometry, and every tensor byte for byte, come back; values have the intended spread', async (type) => {
    // Q4_K needs rows of 256; the others run at the (smaller) tiny geometry
    const g = type === 'q4_k' ? SMALL : TINY;
    const tokenizer = await tokenizerFrom('ernie45-moe-tiny-q4_0', g.vocab);
    const spec = randomErnieGgufSpec({ geometry: g, weightType: type, tokenizer, seed: 3, chunkBytes: 1 << 16 });
    const f = await GgufFile.open(fromArrayBuffer(await writeToMemory(spec), 'small.gguf'));
    const cfg = parseConfig(ernieConfigFromGguf(f));
    expect([cfg.hiddenSize, cfg.numLayers, cfg.numHeads, cfg.numKvHeads, cfg.headDim, cfg.intermediateSize, cfg.vocabSize, cfg.tieWordEmbeddings]).toEqual([g.hidden, g.layers, g.heads, g.kvHeads, g.headDim, g.intermediate, g.vocab, true]);
    expect([cfg.moe!.numExperts, cfg.moe!.topK, cfg.moe!.expertIntermediateSize, cfg.moe!.sharedIntermediateSize, cfg.moe!.layerStart]).toEqual([g.experts, g.topK, g.expertWidth, g.sharedExperts * g.expertWidth, g.denseLeadLayers]);
    // the same spec made again, in other chunk sizes, gives the same bytes (seeded per row), and they sit where the header says
    const again = randomErnieGgufSpec({ geometry: g, weightType: type, tokenizer, seed: 3 });
    for (const t of again.tensors) {
      const parts: Buffer[] = [];
      for await (const c of t.data()) parts.push(Buffer.from(c));
      expect(Buffer.compare(Buffer.from(await f.readRaw(t.name)), Buffer.concat(parts)), t.name).toBe(0);
    }
    const spread = async (name: string) => {
      const x = await f.readF32(name);
      let s = 0, s2 = 0;
      for (const v of x) (s += v), (s2 += v * v);
      return { mean: s / x.length, sd: Math.sqrt(s2 / x.length - (s / x.length) ** 2) };
    };
    const q = await spread('blk.1.attn_q.weight');
    const want = 1 / Math.sqrt(g.hidden);
    expect(q.sd).toBeGreaterThan(0.8 * want);
    expect(q.sd).toBeLessThan(1.2 * want);
    expect(Math.abs(q.mean)).toBeLessThan(0.1 * q.sd);
    const norm = await spread('blk.2.ffn_norm.weight');
    expect(Math.abs(norm.mean - 1)).toBeLessThan(0.02);
  });

  it('another seed gives other weights', async () => {
    const make = async (seed: number) => GgufFile.open(fromArrayBuffer(await writeToMemory(randomErnieGgufSpec({ geometry: TINY, weightType: 'q4_0', tokenizer: await tokenizerFrom('ernie45-moe-tiny-q4_0', 2048), seed })), 's.gguf'));
    const [a, b] = await Promise.all([make(1), make(2)]);
    expect(Buffer.compare(Buffer.from(await a.readRaw('blk.1.ffn_up_exps.weight')), Buffer.from(await b.readRaw('blk.1.ffn_up_exps.weight')))).not.toBe(0);
  });

  it('chunks made elsewhere, several in flight and finishing out of order, give the same file', async () => {
    const tokenizer = await tokenizerFrom('ernie45-moe-tiny-q4_0', 2048);
    const base = { geometry: TINY, weightType: 'q4_0' as const, tokenizer, seed: 4, chunkBytes: 1 << 12 };
    const jobs: number[] = [];
    let most = 0, open = 0;
    // the maker answers later chunks first (a shorter delay the later the row), as a pool of workers may
    const maker = async (job: RandomRowsJob) => {
      jobs.push(job.row);
      most = Math.max(most, ++open);
      await new Promise((ok) => setTimeout(ok, Math.max(0, 4 - (job.row % 5))));
      open--;
      return randomRows(job);
    };
    const plain = await writeToMemory(randomErnieGgufSpec(base));
    const pooled = await writeToMemory(randomErnieGgufSpec({ ...base, makeRows: maker, inFlight: 4 }));
    expect(Buffer.compare(Buffer.from(plain), Buffer.from(pooled))).toBe(0);
    expect(most).toBe(4);
    expect(jobs.length).toBeGreaterThan(40);
  });

  it('bench/make_gguf.ts writes the same file on 2 worker threads as on this one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gguf-workers-'));
    try {
      const geometry = { ...TINY, layers: 2 };
      await makeErnieGguf(join(dir, 'one.gguf'), { geometry, workers: 1, seed: 9 });
      await makeErnieGguf(join(dir, 'two.gguf'), { geometry, workers: 2, seed: 9 });
      const one = readFileSync(join(dir, 'one.gguf')), two = readFileSync(join(dir, 'two.gguf'));
      expect(one.length).toBeGreaterThan(100_000);
      expect(Buffer.compare(one, two)).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('GGUF writer: streaming and errors', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gguf-writer-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('hands the sink chunks of at most chunkBytes after the header; fileSink writes the same file and leaves no .partial', async () => {
    const tokenizer = await tokenizerFrom('ernie45-moe-tiny-q4_0', SMALL.vocab);
    const spec = randomErnieGgufSpec({ geometry: SMALL, weightType: 'q8_0', tokenizer, chunkBytes: 1 << 16 });
    const sizes: number[] = [];
    const parts: Uint8Array[] = [];
    const counting: GgufSink = { write: async (b) => void (sizes.push(b.length), parts.push(b.slice())) };
    const layout = await writeGguf(counting, spec);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(layout.fileSize);
    expect(layout.fileSize).toBeGreaterThan(50 * (1 << 16));
    expect(sizes[0]).toBe(layout.header.length);
    expect(Math.max(...sizes.slice(1))).toBeLessThanOrEqual(1 << 16);
    const path = join(dir, 'small.gguf');
    await writeGguf(fileSink(path), randomErnieGgufSpec({ geometry: SMALL, weightType: 'q8_0', tokenizer }));
    expect(existsSync(`${path}.partial`)).toBe(false);
    const onDisk = readFileSync(path);
    let o = 0;
    for (const p of parts) {
      expect(Buffer.compare(onDisk.subarray(o, o + p.length), Buffer.from(p))).toBe(0);
      o += p.length;
    }
    expect(onDisk.length).toBe(o);
  });

  it('rejects bad geometry, a tokenizer of the wrong size, bad producers and metadata with typed errors; an abort stops it', async () => {
    const tokenizer = await tokenizerFrom('ernie45-moe-tiny-q4_0', 2048);
    const spec = (g: Partial<ErnieGeometry>, type: GgufWeightType = 'q4_0') => () => randomErnieGgufSpec({ geometry: { ...TINY, ...g }, weightType: type, tokenizer });
    expect(spec({}, 'q4_k')).toThrow(expect.objectContaining({ code: 'BAD_CONFIG', message: expect.stringContaining('token_embd.weight has rows of 128 values, not a multiple of the Q4_K block (256)') }));
    expect(spec({ topK: 17 })).toThrow(expect.objectContaining({ code: 'BAD_CONFIG', message: expect.stringContaining('geometry.topK 17') }));
    expect(spec({ kvHeads: 3 })).toThrow(expect.objectContaining({ code: 'BAD_CONFIG' }));
    expect(spec({ hidden: 0 })).toThrow(expect.objectContaining({ code: 'BAD_CONFIG', message: expect.stringContaining('geometry.hidden') }));
    expect(spec({ vocab: 4096 })).toThrow(expect.objectContaining({ code: 'BAD_REQUEST', message: expect.stringContaining('exactly vocab = 4096') }));
    expect(() => randomErnieGgufSpec({ geometry: TINY, weightType: 'q3_k' as GgufWeightType, tokenizer })).toThrow(expect.objectContaining({ code: 'BAD_REQUEST' }));

    const short: GgufSpec = { metadata: [], tensors: [{ name: 'x', dims: [32], type: 0, data: () => [new Uint8Array(64)] }] };
    await expect(writeGguf(memorySink(), short)).rejects.toMatchObject({ code: 'BAD_REQUEST', message: expect.stringContaining('"x" produced 64 bytes, expected 128') });
    expect(() => layoutGguf({ metadata: [['a', kv.u32(1)], ['a', kv.u32(2)]], tensors: [] })).toThrow(expect.objectContaining({ code: 'BAD_REQUEST' }));
    expect(() => layoutGguf({ metadata: [['a', kv.u32(-1)]], tensors: [] })).toThrow(expect.objectContaining({ message: expect.stringContaining('"a": -1 is not a valid u32') }));
    expect(() => layoutGguf({ metadata: [['general.alignment', kv.u32(48)]], tensors: [] })).toThrow(expect.objectContaining({ code: 'BAD_REQUEST' }));
    expect(() => layoutGguf({ metadata: [], tensors: [{ name: 'q', dims: [48], type: 2, data: () => [] }] })).toThrow(expect.objectContaining({ message: expect.stringContaining('not a whole number of Q4_0 blocks') }));

    const ac = new AbortController();
    const path = join(dir, 'aborted.gguf');
    const sink = fileSink(path);
    const big = randomErnieGgufSpec({ geometry: SMALL, weightType: 'f32', tokenizer, chunkBytes: 1 << 16 });
    const run = writeGguf(sink, big, { signal: ac.signal, onProgress: (w) => w > 1 << 20 && ac.abort() });
    await expect(run).rejects.toMatchObject({ code: 'ABORTED' });
    await sink.abort();
    expect(existsSync(path) || existsSync(`${path}.partial`)).toBe(false);
  });
});

describe('GGUF writer: the engine runs its files', () => {
  let engine: LoadedEngine | undefined;
  afterAll(() => engine?.dispose());

  it('loadEngine on a written Q4_0 file decodes the greedy tokens of the f64 reference forward on the same dequantized weights', async () => {
    const bytes = await writeToMemory(randomErnieGgufSpec({ geometry: SMALL, weightType: 'q4_0', tokenizer: await tokenizerFrom('ernie45-moe-tiny-q4_0', SMALL.vocab), seed: 5 }));
    const gguf = await GgufFile.open(fromArrayBuffer(bytes, 'small-q4_0.gguf'));
    const cfg = parseConfig(ernieConfigFromGguf(gguf));
    const w = lookupFn(await loadWeights(gguf, cfg));
    const prompt = [1129, 400, 77];
    const want: number[] = [];
    const seq = [...prompt];
    for (let s = 0; s < 6; s++) {
      const { logits } = referenceForward(cfg, w, seq);
      const row = logits.subarray(logits.length - cfg.vocabSize);
      let best = 0;
      for (let i = 1; i < row.length; i++) if (row[i]! > row[best]!) best = i;
      want.push(best);
      seq.push(best);
    }
    expect(new Set(want).size).toBeGreaterThan(1); // the random model does not just repeat one token
    engine = await loadEngine({ model: fromArrayBuffer(bytes, 'small-q4_0.gguf'), gpu: await nodeGpu(), kvCacheBytes: 1 << 22 });
    const r = (await engine.completions.create({ prompt, max_tokens: want.length, temperature: 0 })) as Completion;
    expect(r.usage.completion_tokens).toBe(want.length);
    // the text of the reference ids, decoded by the tokenizer the engine built from the file
    const tok = ErnieTokenizer.fromFiles(tokenizerFilesFromGguf(gguf));
    expect(r.choices[0]!.text).toBe(tok.decode(want, { skipSpecialTokens: true }));
  });
});
