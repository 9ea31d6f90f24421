// Seeded mutations of every fixture format (issue 20's acceptance): a few hundred mutants each of
// the safetensors checkpoint (header and data), the GGUF file (metadata, tensor infos, data), a
// converted package (manifest and shards), config.json and the tokenizer files. Every outcome must
// be a typed ErnieError (naming a file of the mutant where the error is about a file) or a model
// that runs to finite logits; a mutated package must fail or give exactly the fixture's logits.
// Never NaN, a generic JS error, an out-of-memory or a hang.
//
// Everything runs in this process: the parsers bound every size against the file before they
// allocate, which is what keeps memory in check; the heap is measured at the end. A model that
// loads is run once per distinct set of weights (mutants that change nothing the model reads,
// such as whitespace or metadata, reuse the verdict); every data mutant runs, other distinct
// loads run up to KEYED_RUNS per format and are held to the load checks after that, so the GPU
// work stays small.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ErnieError } from '../../src/errors';
import { fromArrayBuffer } from '../../src/formats/sources';
import { GgufFile } from '../../src/formats/gguf';
import { loadErnie, openFolderWeights, type OpenedModel } from '../../src/model/ernie45/load';
import { loadWeights } from '../../src/model/ernie45/weights';
import { ErnieForward } from '../../src/model/ernie45/forward';
import { openGgufWeights } from '../../src/model/ernie45/gguf_source';
import type { ErnieConfig } from '../../src/model/ernie45/config';
import type { WeightSource } from '../../src/model/ernie45/weights';
import { loadTokenizer } from '../../src/engine/load';
import { ChatTemplate } from '../../src/text/chat_template';
import { convertModel } from '../../src/convert/convert';
import { memoryPackage } from '../../src/package/writer';
import { MANIFEST_FILE } from '../../src/package/manifest';
import { expectedTensors } from '../../src/package/tensors';
import { nodeFolder } from '../../src/formats/node_source';
import type { GpuContext } from '../../src/gpu/context';
import { gpuContext } from '../helpers/gpu';
import { GGUF_TINY, TINY_DIR, TOKENIZER_DIR, joinSafetensors, memFolder, read, splitSafetensors, tinyConfig, tinyFolderFiles } from './helpers';
import { type Rand, int, mutateBytes, mutateJson, pick, seeded } from './mutate';

const SEED = 20;
const PROMPT = [5];
/** Codes whose message must name a file of the mutant. */
const ABOUT_A_FILE = new Set(['BAD_FILE', 'INTEGRITY', 'BAD_CONFIG', 'MISSING_TENSOR', 'MISSING_FILE', 'SHAPE_MISMATCH', 'UNSUPPORTED', 'TEMPLATE_LIMIT', 'FETCH_FAILED']);
/** Longest any one mutant may take (a hang shows up here, or as the test timeout). */
const MAX_MUTANT_MS = 15_000;

let ctx: GpuContext;
/** Buffers created while a mutant runs, destroyed after it (the library has no model dispose yet). */
let made: GPUBuffer[] = [];
const counts: Record<string, Record<string, number>> = {};
const verdicts = new Map<string, Float32Array>();
let forwards = 0;
let forwardMs = 0;
let loadMs = 0;
const heapBefore = process.memoryUsage().heapUsed;
let slowest = { ms: 0, what: '' };

beforeAll(async () => {
  ctx = await gpuContext();
  const create = ctx.createBuffer.bind(ctx);
  ctx.createBuffer = (...args: Parameters<GpuContext['createBuffer']>) => {
    const b = create(...args);
    made.push(b);
    return b;
  };
});

afterAll(() => {
  const lines = Object.entries(counts).map(([f, c]) => `${f}: ${Object.entries(c).map(([k, n]) => `${k} ${n}`).join(', ')}`);
  const heap = (process.memoryUsage().heapUsed - heapBefore) / 2 ** 20;
  console.log(`fuzz outcomes (seed ${SEED}):\n  ${lines.join('\n  ')}\n  ${forwards} loads + forward runs (${(forwardMs / 1000).toFixed(1)} s, ${(loadMs / 1000).toFixed(1)} s of it loading); slowest mutant ${slowest.ms.toFixed(0)} ms (${slowest.what}); heap +${heap.toFixed(0)} MiB`);
});

/**
 * Runs one mutant and records its outcome; returns a problem to report, or null. `run` returns
 * the outcome name of a model that loaded ('finite' or 'exact').
 */
async function judge(format: string, what: string, files: string[], run: () => Promise<string>): Promise<string | null> {
  const t0 = performance.now();
  let outcome: string;
  let problem: string | null = null;
  try {
    outcome = await run();
  } catch (e) {
    if (!(e instanceof ErnieError)) {
      outcome = 'UNTYPED';
      problem = `untyped ${(e as Error)?.constructor?.name}: ${(e as Error)?.message ?? String(e)}`;
    } else {
      outcome = e.code;
      if (ABOUT_A_FILE.has(e.code) && !files.some((f) => e.message.includes(f))) problem = `${e.code} names none of ${files.join(', ')}: ${e.message}`;
    }
  } finally {
    made.forEach((b) => b.destroy());
    made = [];
  }
  if (outcome.startsWith('!')) {
    problem = outcome.slice(1);
    outcome = 'WRONG';
  }
  const ms = performance.now() - t0;
  if (ms > slowest.ms) slowest = { ms, what: `${format}: ${what}` };
  if (ms > MAX_MUTANT_MS) problem = `took ${ms.toFixed(0)} ms`;
  (counts[format] ??= {})[outcome] = (counts[format]![outcome] ?? 0) + 1;
  return problem && `${format} [${what}]: ${problem}`;
}

/** Logits of PROMPT for loaded weights; the library must have thrown NonFiniteError rather than return NaN. */
async function logitsOf(config: ErnieConfig, weights: WeightSource): Promise<Float32Array> {
  const t0 = performance.now();
  const w = await loadWeights(ctx, config, weights);
  loadMs += performance.now() - t0;
  const forward = new ErnieForward(ctx, config, w, { kvCacheBytes: 1 << 18, maxBatch: PROMPT.length });
  forwards++;
  const { logits } = await forward.run(PROMPT, { allLogits: true });
  forwardMs += performance.now() - t0;
  return logits!;
}

/**
 * Model runs per format for mutants that change what the model reads without damaging its data
 * (a config number, a tensor entry); past it such mutants are held to the load checks only
 * (shapes, NaN scan, upload). Data mutants always run: they are what can make NaN.
 */
const KEYED_RUNS = 8;
const keyedRuns: Record<string, number> = {};

/**
 * 'finite' (from a cached verdict when `key`, what the model reads, was seen before), '!...' when
 * the logits are not finite, or 'loaded (run budget spent)'. `key` null: a data mutant, always run.
 */
async function finiteOutcome(format: string, key: string | null, config: ErnieConfig, weights: WeightSource): Promise<string> {
  let logits = key === null ? undefined : verdicts.get(key);
  if (!logits) {
    if (key !== null && (keyedRuns[format] ?? 0) >= KEYED_RUNS) {
      await loadWeights(ctx, config, weights);
      return 'loaded (run budget spent)';
    }
    if (key !== null) keyedRuns[format] = (keyedRuns[format] ?? 0) + 1;
    logits = await logitsOf(config, weights);
    if (key !== null) verdicts.set(key, logits);
  }
  const bad = logits.findIndex((x) => !Number.isFinite(x));
  return bad < 0 ? 'finite' : `!logit ${bad} is ${logits[bad]}`;
}

/** The config as the forward pass uses it (token ids and the context limit do not change the logits). */
function forwardConfig(config: ErnieConfig): string {
  const { bosTokenId: _b, eosTokenIds: _e, maxPositions: _m, ...rest } = config;
  return JSON.stringify(rest);
}

/** What the model reads from an opened checkpoint: its config and every tensor's place and type. */
function readsKey(config: ErnieConfig, weights: WeightSource): string {
  const names = expectedTensors(config).map((t) => t.name).filter((n) => weights.has(n));
  return JSON.stringify([forwardConfig(config), names.map((n) => [n, weights.info(n)])]);
}

async function fuzz(format: string, n: number, mutant: (r: Rand, i: number) => { what: string; files: string[]; run: () => Promise<string> }) {
  const r = seeded(SEED + format.length * 1000 + format.charCodeAt(0));
  const problems: string[] = [];
  for (let i = 0; i < n; i++) {
    const m = mutant(r, i);
    const p = await judge(format, m.what, m.files, m.run);
    if (p) problems.push(p);
  }
  expect(problems.slice(0, 12), `${problems.length} of ${n} mutants misbehaved`).toEqual([]);
  // the mutants must reach past the first check: some load, some fail in different ways
  expect(Object.keys(counts[format]!).length, JSON.stringify(counts[format])).toBeGreaterThan(1);
}

describe('seeded mutations', () => {
  test('safetensors header and data', async () => {
    const base = tinyFolderFiles();
    const st = base.get('model.safetensors')!;
    const { header, data } = splitSafetensors(st);
    const headerEnd = st.length - data.length;
    const files = ['model.safetensors', 'config.json'];
    await fuzz('safetensors', 200, (r, i) => {
      let bytes: Uint8Array, what: string, dataMutant = false;
      // 40% raw header bytes, 57.5% structural header edits, 2.5% data bytes (each of those runs the model)
      if (i % 40 < 16) ({ bytes, what } = mutateBytes(r, st, 0, headerEnd));
      else if (i % 40 < 39) {
        const m = mutateJson(r, header, (p) => p.length >= 2 && p[1] !== undefined);
        bytes = joinSafetensors(JSON.stringify(m.value), data);
        what = `header ${m.what}`;
      } else {
        // data: random bytes, or the exponent byte of a float (toward huge values, inf or NaN)
        bytes = st.slice();
        const at = headerEnd + 4 * int(r, 0, data.length / 4) + (r() < 0.5 ? 3 : int(r, 0, 4));
        bytes[at] = r() < 0.5 ? int(r, 0, 256) : 0x7f | (bytes[at]! & 0x80);
        what = `data byte ${at} = ${bytes[at]}`;
        dataMutant = true;
      }
      const folder = memFolder(new Map([...base, ['model.safetensors', bytes]]));
      return {
        what, files, run: async () => {
          const opened = await openFolderWeights(folder);
          return finiteOutcome('safetensors', dataMutant ? null : readsKey(opened.config, opened.weights), opened.config, opened.weights);
        },
      };
    });
  });

  test('GGUF metadata, tensor infos and data', async () => {
    const gguf = read(GGUF_TINY);
    const g = await GgufFile.open(fromArrayBuffer(gguf, 'tiny.gguf'));
    const infoStart = Buffer.from(gguf).indexOf('token_embd.weight', 4096) - 8; // the first tensor info
    const regions: [number, number][] = [[0, 1200], [infoStart, g.dataOffset], [g.dataOffset, gguf.length]];
    await fuzz('gguf', 200, (r, i) => {
      // 30% metadata, 67.5% tensor infos, 2.5% data
      const region = i % 40 < 12 ? regions[0]! : i % 40 < 39 ? regions[1]! : regions[2]!;
      const { bytes, what } = mutateBytes(r, gguf, ...region);
      return {
        what, files: ['tiny.gguf'], run: async () => {
          const src = fromArrayBuffer(bytes, 'tiny.gguf');
          const { config, weights } = await openGgufWeights(src);
          const file = await GgufFile.open(src);
          const key = region === regions[2] ? null : JSON.stringify([forwardConfig(config), [...file.tensors.values()]]);
          return finiteOutcome('gguf', key, config, weights);
        },
      };
    });
  });

  describe('a converted package', () => {
    let pkg: Map<string, Uint8Array>;
    let exact: Float32Array;
    let baseConfig: string;
    beforeAll(async () => {
      const mem = memoryPackage();
      await convertModel({ input: { kind: 'hf', folder: nodeFolder(TINY_DIR) }, experts: 'q4', core: 'q4', out: mem.writer, maxShardBytes: 128 * 1024, effort: 'fast' });
      pkg = mem.files;
      const opened = await openFolderWeights(memFolder(pkg));
      baseConfig = JSON.stringify(opened.config);
      exact = await logitsOf(opened.config, opened.weights);
      made.forEach((b) => b.destroy());
      made = [];
    });

    test('manifest and shards: a typed error or exactly the fixture output', async () => {
      const manifest = JSON.parse(new TextDecoder().decode(pkg.get(MANIFEST_FILE)));
      const others = [...pkg.keys()].filter((f) => f !== MANIFEST_FILE);
      const files = [...pkg.keys()];
      await fuzz('package', 200, (r, i) => {
        const files2 = new Map(pkg);
        let what: string, shardMutant = false;
        if (i % 10 < 5) {
          // the manifest's tensor and shard entries more often than its config
          const m = mutateJson(r, manifest, (p) => r() < 0.3 || p[0] === 'tensors' || p[0] === 'shards');
          files2.set(MANIFEST_FILE, new TextEncoder().encode(JSON.stringify(m.value)));
          what = `manifest ${m.what}`;
        } else if (i % 10 < 6) {
          const m = mutateBytes(r, pkg.get(MANIFEST_FILE)!);
          files2.set(MANIFEST_FILE, m.bytes);
          what = `manifest bytes: ${m.what}`;
        } else {
          const file = pick(r, others);
          const m = mutateBytes(r, pkg.get(file)!);
          files2.set(file, m.bytes);
          what = `${file}: ${m.what}`;
          shardMutant = true;
        }
        return {
          what, files, run: async () => {
            const opened: OpenedModel = await openFolderWeights(memFolder(files2));
            const key = shardMutant ? null : readsKey(opened.config, opened.weights);
            let logits = key === null ? undefined : verdicts.get(`pkg ${key}`);
            if (!logits) {
              logits = await logitsOf(opened.config, opened.weights);
              if (key !== null) verdicts.set(`pkg ${key}`, logits);
            }
            if (JSON.stringify(opened.config) !== baseConfig) {
              // the manifest is the package's root of trust (no hash covers it): an edited config
              // number (rms_norm_eps, rope_theta) is a different model, held to finite logits
              return logits.every(Number.isFinite) ? 'finite (config edited)' : '!non-finite logits';
            }
            return Buffer.compare(Buffer.from(logits.buffer, logits.byteOffset, logits.byteLength), Buffer.from(exact.buffer, exact.byteOffset, exact.byteLength)) === 0
              ? 'exact'
              : '!loaded with different logits';
          },
        };
      });
    });
  });

  test('config.json', async () => {
    const cfg = tinyConfig();
    const text = new TextEncoder().encode(JSON.stringify(cfg, null, 2));
    const base = tinyFolderFiles();
    await fuzz('config', 200, (r, i) => {
      let bytes: Uint8Array, what: string;
      if (i % 10 < 8) {
        const m = mutateJson(r, cfg);
        bytes = new TextEncoder().encode(JSON.stringify(m.value));
        what = m.what;
      } else ({ bytes, what } = mutateBytes(r, text));
      const folder = memFolder(new Map([...base, ['config.json', bytes]]));
      return {
        what, files: ['config.json', 'model.safetensors'], run: async () => {
          const opened = await openFolderWeights(folder);
          return finiteOutcome('config', forwardConfig(opened.config), opened.config, opened.weights);
        },
      };
    });
  });

  test('tokenizer files', async () => {
    const json = read(`${TOKENIZER_DIR}/hf/tokenizer.json`);
    const config = read(`${TOKENIZER_DIR}/hf/tokenizer_config.json`);
    const model = read(`${TOKENIZER_DIR}/tokenizer.model`);
    const parsed = { json: JSON.parse(new TextDecoder().decode(json)), config: JSON.parse(new TextDecoder().decode(config)) };
    const enc = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
    await fuzz('tokenizer', 200, (r, i) => {
      const files = new Map<string, Uint8Array>([['tokenizer_config.json', config]]);
      let what: string;
      const kind = i % 10;
      if (kind < 4) {
        const m = mutateJson(r, parsed.json);
        files.set('tokenizer.json', enc(m.value));
        what = `tokenizer.json ${m.what}`;
      } else if (kind < 5) {
        const m = mutateBytes(r, json);
        files.set('tokenizer.json', m.bytes);
        what = `tokenizer.json bytes: ${m.what}`;
      } else if (kind < 7) {
        const m = mutateJson(r, parsed.config);
        files.set('tokenizer_config.json', enc(m.value)).set(kind === 5 ? 'tokenizer.json' : 'tokenizer.model', kind === 5 ? json : model);
        what = `tokenizer_config.json ${m.what}`;
      } else {
        const m = mutateBytes(r, model);
        files.set('tokenizer.model', m.bytes);
        what = `tokenizer.model: ${m.what}`;
      }
      return {
        what, files: ['tokenizer.json', 'tokenizer_config.json', 'tokenizer.model'], run: async () => {
          const { tokenizer, config: tc } = await loadTokenizer(memFolder(files));
          const ids = tokenizer.encode('Hello, world! 你好 <|end_of_sentence|>');
          tokenizer.decode(ids);
          new ChatTemplate(tc).render({ messages: [{ role: 'user', content: 'Hi' }] });
          return 'loaded';
        },
      };
    });
  });

  test('memory stayed bounded', () => {
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(1024 * 2 ** 20);
  });
});

// the fixtures themselves, through the same paths (the baseline every verdict above is measured against)
test('the unmutated fixtures load to finite logits', async () => {
  const opened = await openFolderWeights(memFolder(tinyFolderFiles()));
  const { forward } = await loadErnie(ctx, opened, { kvCacheBytes: 1 << 18 });
  const { logits } = await forward.run(PROMPT, { allLogits: true });
  expect(logits!.every(Number.isFinite)).toBe(true);
  made.forEach((b) => b.destroy());
  made = [];
});
