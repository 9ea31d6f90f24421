// ERNIE-4.5-VL image preprocessing, as HF's image processor computes it (ERNIE45.md §3.8):
// smart_resize to multiples of patch*merge within [min_pixels, max_pixels], bicubic resize of
// the 8-bit image, rescale + normalise fused in f32 exactly as the torchvision path does,
// then patchify in 2x2 merge-window order into pixel_values [patches, C * tp * p * p].
import { ConfigError, ImageError } from '../../errors.js';
import type { RgbImage } from '../../image/rgb.js';
import { resizeBicubic } from '../../image/resize.js';

export interface PreprocessorConfig {
  patchSize: number;
  mergeSize: number;
  temporalPatchSize: number;
  /** Pixel budget after resizing (size.shortest_edge / size.longest_edge, or min_pixels / max_pixels). */
  minPixels: number;
  maxPixels: number;
  doResize: boolean;
  doRescale: boolean;
  rescaleFactor: number;
  doNormalize: boolean;
  imageMean: [number, number, number];
  imageStd: [number, number, number];
}

export const CLIP_MEAN: [number, number, number] = [0.48145466, 0.4578275, 0.40821073];
export const CLIP_STD: [number, number, number] = [0.26862954, 0.26130258, 0.27577711];

type Json = Record<string, unknown>;

function field(cfg: Json, key: string, fallback: number, integer = false): number {
  const v = cfg[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || (integer && (!Number.isInteger(v) || v <= 0))) {
    throw new ConfigError(`preprocessor_config.json: "${key}" must be a ${integer ? 'positive integer' : 'number'}, got ${JSON.stringify(v)}`);
  }
  return v;
}

function triple(cfg: Json, key: string, fallback: [number, number, number]): [number, number, number] {
  const v = cfg[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v === 'number') return [v, v, v];
  if (!Array.isArray(v) || v.length !== 3 || !v.every((x) => typeof x === 'number' && Number.isFinite(x))) {
    throw new ConfigError(`preprocessor_config.json: "${key}" must be 3 numbers, got ${JSON.stringify(v)}`);
  }
  return v as [number, number, number];
}

/** Parse HF's preprocessor_config.json; absent fields take the ERNIE-4.5-VL processor's defaults. */
export function parsePreprocessorConfig(raw: unknown = {}): PreprocessorConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ConfigError('preprocessor_config.json must be a JSON object');
  const cfg = raw as Json;
  const size = (typeof cfg.size === 'object' && cfg.size !== null ? cfg.size : {}) as Json;
  const resample = cfg.resample ?? 3;
  if (resample !== 3) throw new ConfigError(`preprocessor_config.json: resample ${JSON.stringify(resample)} is not supported (only 3, bicubic)`);
  const minPixels = field(size, 'shortest_edge', field(cfg, 'min_pixels', 56 * 56, true), true);
  const maxPixels = field(size, 'longest_edge', field(cfg, 'max_pixels', 28 * 28 * 6177, true), true);
  if (minPixels > maxPixels) throw new ConfigError(`preprocessor_config.json: min pixels ${minPixels} exceed max pixels ${maxPixels}`);
  const std = triple(cfg, 'image_std', CLIP_STD);
  if (std.some((s) => s === 0)) throw new ConfigError('preprocessor_config.json: "image_std" must not contain 0');
  return {
    patchSize: field(cfg, 'patch_size', 14, true),
    mergeSize: field(cfg, 'merge_size', 2, true),
    temporalPatchSize: field(cfg, 'temporal_patch_size', 1, true),
    minPixels,
    maxPixels,
    doResize: cfg.do_resize !== false,
    doRescale: cfg.do_rescale !== false,
    rescaleFactor: field(cfg, 'rescale_factor', 1 / 255),
    doNormalize: cfg.do_normalize !== false,
    imageMean: triple(cfg, 'image_mean', CLIP_MEAN),
    imageStd: std,
  };
}

/** Python's round(): halves go to the even neighbour. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x - Math.trunc(x)) === 0.5 ? 2 * Math.round(x / 2) : r;
}

/** Largest width / height ratio the processor accepts (HF raises above it). */
export const MAX_ASPECT_RATIO = 200;

/** Target size: multiples of `factor`, aspect kept, pixel count within [minPixels, maxPixels]. */
export function smartResize(height: number, width: number, factor: number, minPixels: number, maxPixels: number, source = 'image'): { height: number; width: number } {
  if (!(height > 0 && width > 0)) throw new ImageError(source, `size ${width}x${height} is empty`);
  const ratio = Math.max(height, width) / Math.min(height, width);
  if (ratio > MAX_ASPECT_RATIO) throw new ImageError(source, `${width}x${height} has an aspect ratio of ${ratio.toFixed(1)}, over the ${MAX_ASPECT_RATIO} the model's processor accepts`);
  let h = roundHalfEven(height / factor) * factor;
  let w = roundHalfEven(width / factor) * factor;
  if (h * w > maxPixels) {
    const beta = Math.sqrt((height * width) / maxPixels);
    h = Math.max(factor, Math.floor(height / beta / factor) * factor);
    w = Math.max(factor, Math.floor(width / beta / factor) * factor);
  } else if (h * w < minPixels) {
    const beta = Math.sqrt(minPixels / (height * width));
    h = Math.ceil((height * beta) / factor) * factor;
    w = Math.ceil((width * beta) / factor) * factor;
  }
  return { height: h, width: w };
}

/** One image's patches: grid in patches (t, h, w), rows in merge-window order. */
export interface ImagePatches {
  /** [grid.t * grid.h * grid.w, 3 * temporalPatchSize * patch * patch] f32 */
  pixelValues: Float32Array;
  grid: { t: number; h: number; w: number };
  /** The resized image's size in pixels. */
  height: number;
  width: number;
}

/** Placeholder tokens an image of this grid becomes in the prompt (one per merged window). */
export function imageTokenCount(grid: { t: number; h: number; w: number }, mergeSize: number): number {
  return (grid.t * grid.h * grid.w) / (mergeSize * mergeSize);
}

/** The f32 per-channel affine map HF applies to 0..255 values: (x - m) / s, or x * r. */
function channelMaps(cfg: PreprocessorConfig): Array<(x: number) => number> {
  const f = Math.fround;
  return [0, 1, 2].map((c) => {
    if (cfg.doNormalize) {
      // torchvision path: mean and std (f32) scaled by 1 / rescale_factor in f32, then sub and div in f32
      const k = cfg.doRescale ? f(1 / cfg.rescaleFactor) : 1;
      const m = f(f(cfg.imageMean[c]) * k), s = f(f(cfg.imageStd[c]) * k);
      return (x: number) => f((x - m) / s);
    }
    if (cfg.doRescale) {
      const r = f(cfg.rescaleFactor);
      return (x: number) => f(x * r);
    }
    return (x: number) => x;
  });
}

/** RGB image -> pixel_values and grid_thw, as HF's processor gives them for one still image. */
export function preprocessImage(image: RgbImage, cfg: PreprocessorConfig, source = 'image'): ImagePatches {
  const p = cfg.patchSize, m = cfg.mergeSize, tp = cfg.temporalPatchSize, factor = p * m;
  let { width: W, height: H } = image;
  let data = image.data;
  if (data.length !== W * H * 3) throw new ImageError(source, `pixel buffer holds ${data.length} bytes, expected ${W}x${H}x3`);
  if (cfg.doResize) {
    const size = smartResize(H, W, factor, cfg.minPixels, cfg.maxPixels, source);
    if (size.height !== H || size.width !== W) data = resizeBicubic(data, W, H, 3, size.width, size.height);
    ({ height: H, width: W } = size);
  } else if (H % factor !== 0 || W % factor !== 0) {
    throw new ImageError(source, `${W}x${H} is not a multiple of ${factor} and do_resize is off`);
  }
  const gh = H / p, gw = W / p;
  const maps = channelMaps(cfg);
  const dim = 3 * tp * p * p;
  const out = new Float32Array(gh * gw * dim);
  let row = 0;
  for (let wy = 0; wy < gh / m; wy++)
    for (let wx = 0; wx < gw / m; wx++)
      for (let sy = 0; sy < m; sy++)
        for (let sx = 0; sx < m; sx++, row++) {
          const py = (wy * m + sy) * p, px = (wx * m + sx) * p;
          // vector order (C, tp, p, p): a still image repeats its patch tp times
          for (let c = 0; c < 3; c++)
            for (let t = 0; t < tp; t++)
              for (let y = 0; y < p; y++)
                for (let x = 0; x < p; x++) {
                  out[row * dim + ((c * tp + t) * p + y) * p + x] = maps[c](data[((py + y) * W + px + x) * 3 + c]);
                }
        }
  return { pixelValues: out, grid: { t: 1, h: gh, w: gw }, height: H, width: W };
}
