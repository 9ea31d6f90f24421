// An ERNIE 4.5 MoE model with random weights, at any geometry, as llama.cpp's `ernie4_5-moe`
// GGUF: the metadata keys (with their value types), tensor names, dims and per-tensor types that
// llama.cpp's converter writes (test/fixtures/gguf are such files; a test compares them). The
// weights are made block by block (quant/random_blocks.ts) while the file is written, one expert
// or a few MB of rows at a time, so a 21B-A3B-geometry file never sits in memory.
//
// Tensor types: norms, the router (ffn_gate_inp) and exp_probs_b are F32 as llama.cpp keeps them;
// every other matrix (token_embd included) has the chosen type. Tied embeddings (no output.weight),
// as in ERNIE-4.5-21B-A3B.
import { ErnieError } from '../errors';
import { GgmlType, ggmlTypeInfo } from '../quant/ggml_blocks';
import { Rng, randomBlocks, seedOf } from '../quant/random_blocks';
import { type GgufSpec, type GgufTensorSpec, type GgufTypedValue, kv } from './gguf_writer';

/** The shape of an ERNIE 4.5 MoE text model (HF config names in the comments). */
export interface ErnieGeometry {
  /** hidden_size */
  hidden: number;
  /** num_hidden_layers */
  layers: number;
  /** num_attention_heads */
  heads: number;
  /** num_key_value_heads */
  kvHeads: number;
  /** head_dim; default hidden / heads */
  headDim?: number;
  /** intermediate_size: the dense layers' FFN width */
  intermediate: number;
  /** moe_num_experts (0: a dense model, every layer dense) */
  experts: number;
  /** moe_k */
  topK: number;
  /** moe_intermediate_size */
  expertWidth: number;
  /** moe_num_shared_experts (one MLP of sharedExperts * expertWidth) */
  sharedExperts: number;
  /** moe_layer_start_index: layers before it are dense */
  denseLeadLayers: number;
  /** vocab_size: token_embd rows (the tokenizer must have as many tokens) */
  vocab: number;
  contextLength?: number;
  ropeTheta?: number;
  rmsEps?: number;
}

/** ERNIE-4.5-21B-A3B (ERNIE45.md §1.1). Use `{ ...ERNIE_21B_A3B, layers: 4 }` for a reduced-depth file. */
export const ERNIE_21B_A3B: Readonly<ErnieGeometry> = {
  hidden: 2560, layers: 28, heads: 20, kvHeads: 4, headDim: 128, intermediate: 12288,
  experts: 64, topK: 6, expertWidth: 1536, sharedExperts: 2, denseLeadLayers: 1, vocab: 103424,
  contextLength: 131072, ropeTheta: 500000, rmsEps: 1e-5,
};

/** Weight types the writer makes (the matrices; norms and routers stay F32). */
export type GgufWeightType = 'q4_0' | 'q4_k' | 'q8_0' | 'f16' | 'f32';
const WEIGHT_TYPES: Record<GgufWeightType, { ggml: number; fileType: number }> = {
  // general.file_type is llama.cpp's llama_ftype: MOSTLY_Q4_0 = 2, MOSTLY_Q4_K_S = 14, MOSTLY_Q8_0 = 7, MOSTLY_F16 = 1, ALL_F32 = 0
  q4_0: { ggml: GgmlType.Q4_0, fileType: 2 },
  q4_k: { ggml: GgmlType.Q4_K, fileType: 14 },
  q8_0: { ggml: GgmlType.Q8_0, fileType: 7 },
  f16: { ggml: GgmlType.F16, fileType: 1 },
  f32: { ggml: GgmlType.F32, fileType: 0 },
};

export interface RandomErnieGgufOptions {
  geometry: ErnieGeometry;
  weightType: GgufWeightType;
  /** tokenizer.* entries with exactly geometry.vocab tokens (text/gguf_tokenizer.ts ggufTokenizerEntries). */
  tokenizer: ReadonlyArray<readonly [string, GgufTypedValue]>;
  /** Same seed, same bytes. Default 1. */
  seed?: number;
  /** general.name; default "ernie45-moe-random". */
  name?: string;
  /** Bytes of weights made per chunk (default 8 MiB): bounds the writer's memory. */
  chunkBytes?: number;
  /**
   * Makes one chunk's bytes (default: randomRows, here). A maker that hands the job to a worker
   * thread, with `inFlight` > 1, makes a big file on several cores; the bytes are the same.
   */
  makeRows?: (job: RandomRowsJob) => Uint8Array | Promise<Uint8Array>;
  /** Chunks of one tensor asked of makeRows ahead of the one being written (default 1). */
  inFlight?: number;
}

/** One chunk of a tensor's random rows: all randomRows needs, so it can run anywhere (a worker). */
export interface RandomRowsJob {
  name: string;
  type: number;
  cols: number;
  /** The first row and how many. */
  row: number;
  rows: number;
  sd: number;
  mean: number;
  seed: number;
}

const ARCH = 'ernie4_5-moe';
/** Rms each attention / FFN block adds to the residual stream (see the weight scales below). */
const OUT = 4;

/** The file, ready for writeGguf(): metadata, then tensors in llama.cpp's order, data made on demand. */
export function randomErnieGgufSpec(opts: RandomErnieGgufOptions): GgufSpec {
  const g = checkGeometry(opts.geometry);
  const wt = WEIGHT_TYPES[opts.weightType];
  if (!wt) throw new ErnieError('BAD_REQUEST', `GGUF writer: weight type ${JSON.stringify(opts.weightType)} is not one of ${Object.keys(WEIGHT_TYPES).join(', ')}`);
  const tokens = opts.tokenizer.find(([k]) => k === 'tokenizer.ggml.tokens')?.[1];
  if (!tokens || tokens.type !== 'array' || tokens.value.length !== g.vocab) {
    throw new ErnieError('BAD_REQUEST', `GGUF writer: tokenizer.ggml.tokens has ${tokens?.type === 'array' ? tokens.value.length : 'no'} tokens; llama.cpp requires exactly vocab = ${g.vocab} (token_embd.weight rows)`);
  }
  const seed = opts.seed ?? 1;
  const chunkBytes = opts.chunkBytes ?? 8 * 2 ** 20;
  const make = { rows: opts.makeRows ?? randomRows, inFlight: Math.max(1, Math.floor(opts.inFlight ?? 1)) };
  const a = (k: string) => `${ARCH}.${k}`;
  const moe = g.experts > 0;
  const metadata: [string, GgufTypedValue][] = [
    ['general.architecture', kv.str(ARCH)],
    ['general.name', kv.str(opts.name ?? 'ernie45-moe-random')],
    ['general.file_type', kv.u32(wt.fileType)],
    // llama.cpp writes the quantization version for quantized files only
    ...(wt.ggml === GgmlType.F16 || wt.ggml === GgmlType.F32 ? [] : [['general.quantization_version', kv.u32(2)] as [string, GgufTypedValue]]),
    ['general.alignment', kv.u32(32)],
    [a('block_count'), kv.u32(g.layers)],
    [a('context_length'), kv.u32(g.contextLength)],
    [a('embedding_length'), kv.u32(g.hidden)],
    [a('feed_forward_length'), kv.u32(g.intermediate)],
    [a('attention.head_count'), kv.u32(g.heads)],
    [a('attention.head_count_kv'), kv.u32(g.kvHeads)],
    [a('attention.key_length'), kv.u32(g.headDim)],
    [a('attention.value_length'), kv.u32(g.headDim)],
    [a('rope.dimension_count'), kv.u32(g.headDim)],
    [a('rope.freq_base'), kv.f32(g.ropeTheta)],
    [a('attention.layer_norm_rms_epsilon'), kv.f32(g.rmsEps)],
    ...(moe
      ? ([
          [a('expert_count'), kv.u32(g.experts)],
          [a('expert_used_count'), kv.u32(g.topK)],
          [a('interleave_moe_layer_step'), kv.u32(1)],
          [a('leading_dense_block_count'), kv.u32(g.denseLeadLayers)],
          [a('expert_feed_forward_length'), kv.u32(g.expertWidth)],
          [a('expert_shared_count'), kv.u32(g.sharedExperts)],
          [a('expert_shared_feed_forward_length'), kv.u32(g.sharedExperts * g.expertWidth)],
        ] as [string, GgufTypedValue][])
      : []),
    ...opts.tokenizer.map(([k, v]) => [k, v] as [string, GgufTypedValue]),
  ];

  const tensors: GgufTensorSpec[] = [];
  // sd: token_embd gives logits of sd ~4 (tied head, normalised h); projections into a layer keep
  // activations ~unit; each block adds ~OUT (rms per value) to the residual, so the layers, not
  // the input embedding, decide the next token (with a tied head and small layer outputs every
  // token would predict itself).
  const matrix = (name: string, inDim: number, outDim: number, sd: number, experts = 0) => {
    const dims = experts > 0 ? [inDim, outDim, experts] : [inDim, outDim];
    tensors.push({ name, dims, type: wt.ggml, data: () => chunks({ name, type: wt.ggml, cols: inDim, rows: outDim * Math.max(1, experts), sd, mean: 0, seed }, chunkBytes, make) });
  };
  const f32 = (name: string, dims: number[], sd: number, mean: number) => {
    tensors.push({ name, dims, type: GgmlType.F32, data: () => chunks({ name, type: GgmlType.F32, cols: dims[0]!, rows: dims.slice(1).reduce((x, y) => x * y, 1), sd, mean, seed }, chunkBytes, make) });
  };
  const norm = (name: string) => f32(name, [g.hidden], 0.03, 1);
  const q = g.heads * g.headDim, kvw = g.kvHeads * g.headDim;
  matrix('token_embd.weight', g.hidden, g.vocab, 4 / Math.sqrt(g.hidden));
  norm('output_norm.weight');
  for (let l = 0; l < g.layers; l++) {
    const p = `blk.${l}.`;
    norm(`${p}attn_norm.weight`);
    matrix(`${p}attn_q.weight`, g.hidden, q, 1 / Math.sqrt(g.hidden));
    matrix(`${p}attn_k.weight`, g.hidden, kvw, 1 / Math.sqrt(g.hidden));
    matrix(`${p}attn_v.weight`, g.hidden, kvw, 1 / Math.sqrt(g.hidden));
    matrix(`${p}attn_output.weight`, q, g.hidden, (2 * OUT) / Math.sqrt(q));
    norm(`${p}ffn_norm.weight`);
    if (!moe || l < g.denseLeadLayers) {
      matrix(`${p}ffn_gate.weight`, g.hidden, g.intermediate, 1 / Math.sqrt(g.hidden));
      matrix(`${p}ffn_up.weight`, g.hidden, g.intermediate, 1 / Math.sqrt(g.hidden));
      matrix(`${p}ffn_down.weight`, g.intermediate, g.hidden, (2 * OUT) / Math.sqrt(g.intermediate));
      continue;
    }
    // router logits of sd ~2 so the top-k choice is clear; the selection bias is small
    f32(`${p}ffn_gate_inp.weight`, [g.hidden, g.experts], 2 / Math.sqrt(g.hidden), 0);
    f32(`${p}exp_probs_b.bias`, [g.experts], 0.01, 0);
    matrix(`${p}ffn_gate_exps.weight`, g.hidden, g.expertWidth, 1 / Math.sqrt(g.hidden), g.experts);
    matrix(`${p}ffn_up_exps.weight`, g.hidden, g.expertWidth, 1 / Math.sqrt(g.hidden), g.experts);
    matrix(`${p}ffn_down_exps.weight`, g.expertWidth, g.hidden, (2 * OUT * Math.sqrt(g.topK)) / Math.sqrt(g.expertWidth), g.experts);
    if (g.sharedExperts > 0) {
      const w = g.sharedExperts * g.expertWidth;
      matrix(`${p}ffn_gate_shexp.weight`, g.hidden, w, 1 / Math.sqrt(g.hidden));
      matrix(`${p}ffn_up_shexp.weight`, g.hidden, w, 1 / Math.sqrt(g.hidden));
      matrix(`${p}ffn_down_shexp.weight`, w, g.hidden, (2 * OUT) / Math.sqrt(w));
    }
  }
  checkRowTypes(tensors);
  return { metadata, tensors };
}

/**
 * A tensor's `rows` rows of `cols` values, a few MB at a time, up to `make.inFlight` chunks asked
 * for ahead. Each row has its own seeded stream, so the bytes depend neither on the chunk size
 * nor on where a chunk is made.
 */
async function* chunks(t: Omit<RandomRowsJob, 'row'>, chunkBytes: number, make: { rows: (job: RandomRowsJob) => Uint8Array | Promise<Uint8Array>; inFlight: number }): AsyncGenerator<Uint8Array> {
  const info = ggmlTypeInfo(t.type)!;
  const rowBytes = (t.cols / info.blockSize) * info.typeSize;
  const step = Math.max(1, Math.floor(chunkBytes / rowBytes));
  const pending: Promise<Uint8Array>[] = [];
  let next = 0;
  const ask = () => {
    const job = { ...t, row: next, rows: Math.min(step, t.rows - next) };
    next += job.rows;
    pending.push(Promise.resolve(make.rows(job)));
  };
  while (next < t.rows || pending.length > 0) {
    while (next < t.rows && pending.length < make.inFlight) ask();
    yield await pending.shift()!;
  }
}

/** The bytes of rows [job.row, job.row + job.rows) of the tensor `job.name`. */
export function randomRows(job: RandomRowsJob): Uint8Array {
  const info = ggmlTypeInfo(job.type)!;
  const rowBytes = (job.cols / info.blockSize) * info.typeSize;
  const base = seedOf(job.name, job.seed);
  const out = new Uint8Array(job.rows * rowBytes);
  for (let i = 0; i < job.rows; i++) {
    const r = job.row + i;
    out.set(randomBlocks(job.type, job.cols, job.sd, new Rng((base + Math.imul(r + 1, 0x9e3779b1)) | 0), job.mean), i * rowBytes);
  }
  return out;
}

type FullGeometry = Required<ErnieGeometry>;

function checkGeometry(g: ErnieGeometry): FullGeometry {
  const full: FullGeometry = { contextLength: 4096, ropeTheta: 500000, rmsEps: 1e-5, headDim: g.heads > 0 ? g.hidden / g.heads : NaN, ...g };
  const positive = ['hidden', 'layers', 'heads', 'kvHeads', 'headDim', 'intermediate', 'vocab', 'contextLength'] as const;
  for (const k of positive) {
    if (!Number.isSafeInteger(full[k]) || full[k] <= 0) throw new ErnieError('BAD_CONFIG', `GGUF writer: geometry.${k} must be a positive integer, got ${full[k]}`);
  }
  for (const k of ['experts', 'topK', 'expertWidth', 'sharedExperts', 'denseLeadLayers'] as const) {
    if (!Number.isSafeInteger(full[k]) || full[k] < 0) throw new ErnieError('BAD_CONFIG', `GGUF writer: geometry.${k} must be an integer >= 0, got ${full[k]}`);
  }
  if (full.heads % full.kvHeads !== 0) throw new ErnieError('BAD_CONFIG', `GGUF writer: geometry.heads ${full.heads} is not a multiple of kvHeads ${full.kvHeads}`);
  if (full.experts > 0) {
    if (full.topK < 1 || full.topK > full.experts) throw new ErnieError('BAD_CONFIG', `GGUF writer: geometry.topK ${full.topK} must be 1..experts (${full.experts})`);
    if (full.expertWidth < 1) throw new ErnieError('BAD_CONFIG', 'GGUF writer: geometry.expertWidth must be >= 1 with experts');
    if (full.denseLeadLayers > full.layers) throw new ErnieError('BAD_CONFIG', `GGUF writer: geometry.denseLeadLayers ${full.denseLeadLayers} exceeds layers ${full.layers}`);
  }
  if (!(full.ropeTheta > 0) || !(full.rmsEps > 0)) throw new ErnieError('BAD_CONFIG', 'GGUF writer: geometry.ropeTheta and rmsEps must be > 0');
  return full;
}

function checkRowTypes(tensors: GgufTensorSpec[]): void {
  for (const t of tensors) {
    const info = ggmlTypeInfo(t.type)!;
    if (t.dims[0]! % info.blockSize !== 0) {
      throw new ErnieError('BAD_CONFIG', `GGUF writer: ${t.name} has rows of ${t.dims[0]} values, not a multiple of the ${info.name} block (${info.blockSize}); pick a geometry whose hidden/intermediate/expert widths are multiples of ${info.blockSize}, or another weight type`);
    }
  }
}
