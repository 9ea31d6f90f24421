// The forward passes GpuLanguageModel samples from, behind one small interface: the text model
// (ErnieForward), which refuses media, and the VL model (ErnieVlForward), which runs a prompt's
// images through its vision tower and positions them in 3D, and says how images are prepared.
import { BadRequestError } from '../api/errors.js';
import { ErnieError, ImageError } from '../errors.js';
import type { ExpertScheduler } from '../experts/scheduler.js';
import { DEFAULT_MAX_IMAGE_PIXELS } from '../image/rgb.js';
import type { ErnieForward } from '../model/ernie45/forward.js';
import type { ErnieVlForward } from '../model/ernie45_vl/forward.js';
import { imageTokenCount, type PreprocessorConfig, preprocessImage, smartResize } from '../model/ernie45_vl/preprocess.js';
import type { PromptPart, VisionSpec } from './language_model.js';

export interface GpuForward {
  /** The text decoder underneath (its KV cache, experts, logits): the VL model's LM side too. */
  readonly decoder: ErnieForward;
  /** Tokens the KV cache holds at most. */
  readonly capacity: number;
  /** Rows of the logits (the embedding's vocabulary, padding included). */
  readonly vocabRows: number;
  /** Tokens now in the cache. */
  readonly length: number;
  readonly logitsBuffer: GPUBuffer;
  readonly experts: ExpertScheduler | null;
  readonly vision: VisionSpec | null;
  /** Append ids (a prompt with its media, or generated tokens when `prompt` is absent) and compute the last logits. */
  run(ids: readonly number[], signal: AbortSignal | undefined, prompt: PromptPart | undefined): Promise<void>;
  truncate(length: number): void;
}

export function textForward(f: ErnieForward): GpuForward {
  return {
    decoder: f,
    capacity: f.kv.capacity,
    vocabRows: f.cfg.vocabSize,
    get length() {
      return f.kv.length;
    },
    logitsBuffer: f.logitsBuffer,
    experts: f.w.experts,
    vision: null,
    async run(ids, signal, prompt) {
      if (prompt && prompt.media.length > 0) throw new BadRequestError('messages', 'this model has no vision tower: it cannot read images (load an ERNIE-4.5-VL model, or send text only)');
      await f.run(ids, { signal });
    },
    truncate: (n) => f.truncate(n),
  };
}

export interface VlForwardOptions {
  /** Images with more pixels than this (before resizing) are refused before decoding. Default 100 MP. */
  maxImagePixels?: number;
}

/** How the VL model wants images: HF's processor arithmetic (smart_resize within min/max pixels, patchify). */
export function vlVisionSpec(pre: PreprocessorConfig, placeholderId: number, opts: VlForwardOptions = {}): VisionSpec {
  const factor = pre.patchSize * pre.mergeSize;
  const size = (width: number, height: number, source: string) => {
    if (pre.doResize) return smartResize(height, width, factor, pre.minPixels, pre.maxPixels, source);
    if (height % factor !== 0 || width % factor !== 0) throw new ImageError(source, `${width}x${height} is not a multiple of ${factor} and do_resize is off`);
    return { height, width };
  };
  return {
    placeholderId,
    maxDecodePixels: opts.maxImagePixels ?? DEFAULT_MAX_IMAGE_PIXELS,
    tokensFor(width, height, source) {
      const s = size(width, height, source);
      return imageTokenCount({ t: 1, h: s.height / pre.patchSize, w: s.width / pre.patchSize }, pre.mergeSize);
    },
    prepare(image, source) {
      const p = preprocessImage(image, pre, source);
      return { pixelValues: p.pixelValues, grid: p.grid, tokens: imageTokenCount(p.grid, pre.mergeSize) };
    },
  };
}

export function vlForward(f: ErnieVlForward, pre: PreprocessorConfig, opts: VlForwardOptions = {}): GpuForward {
  const t = f.text;
  return {
    decoder: t,
    capacity: t.kv.capacity,
    vocabRows: t.cfg.vocabSize,
    get length() {
      return f.length;
    },
    logitsBuffer: f.logitsBuffer,
    experts: t.w.experts,
    vision: vlVisionSpec(pre, f.cfg.tokens.image, opts),
    async run(ids, signal, prompt) {
      if (!prompt) {
        await f.decode(ids, { signal });
        return;
      }
      for (const m of prompt.media) {
        if (ids[m.start] !== f.cfg.tokens.image || (m.start > 0 && ids[m.start - 1] === f.cfg.tokens.image)) {
          throw new ErnieError('BAD_REQUEST', `an image segment starts at token ${m.start}, which is not the first of a placeholder run`);
        }
      }
      await f.prefill(ids, prompt.media.map((m) => ({ pixelValues: m.pixelValues, grid: m.grid })), { signal });
    },
    truncate: (n) => f.truncate(n),
  };
}
