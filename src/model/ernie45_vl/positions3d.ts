// Where each prompt token sits for the VL language model (ERNIE45.md §3.6-3.7), computed on the
// host from the ids and the images' grids:
//   - 3D RoPE positions (t, h, w): text tokens (image start/end markers included) count up with
//     t = h = w; an image block starting at s has t = s, h = s + row, w = s + col over its merged
//     grid in row-major order; the text after it resumes at s + max(rows, cols);
//   - the routing modality: placeholders and start/end markers go to the vision experts;
//   - the ViT's own (row, col) of every patch, in the processor's merge-window order.
import { ErnieError } from '../../errors.js';
import type { VlTokenIds } from './config.js';

export interface Grid {
  t: number;
  h: number;
  w: number;
}

export interface PromptLayout {
  /** [3, T]: t positions, then h, then w. */
  t: Int32Array;
  h: Int32Array;
  w: Int32Array;
  /** 1 where the token is routed to the vision experts. */
  vision: Uint8Array;
  /** Decode position of the token after the prompt minus the prompt length: pos = cache_len + ropeDelta. */
  ropeDelta: number;
  /** For each image in order, the index of its first placeholder token. */
  imageStarts: number[];
}

/** Placeholder tokens of one image grid (patches merged by mergeSize x mergeSize). */
export function mergedTokens(grid: Grid, mergeSize: number): number {
  return (grid.t * grid.h * grid.w) / (mergeSize * mergeSize);
}

/**
 * Lay out a prompt whose first token sits at position startPos (0, or the position after the
 * cached tokens when a turn is appended): each maximal run of image placeholders is one image
 * and takes the next grid.
 * A run whose length does not match its grid, or a count of runs other than grids.length, is a
 * BAD_REQUEST error (the ids were built for other images).
 */
export function promptLayout(ids: ArrayLike<number>, tokens: VlTokenIds, grids: Grid[], mergeSize: number, startPos = 0): PromptLayout {
  const T = ids.length;
  const t = new Int32Array(T), h = new Int32Array(T), w = new Int32Array(T), vision = new Uint8Array(T);
  const imageStarts: number[] = [];
  const visionIds = new Set([tokens.image, tokens.imageStart, tokens.imageEnd, tokens.video, tokens.videoStart, tokens.videoEnd]);
  let pos = startPos, max = startPos - 1, i = 0;
  while (i < T) {
    vision[i] = visionIds.has(ids[i]) ? 1 : 0;
    if (ids[i] === tokens.video) throw new ErnieError('UNSUPPORTED', `token ${i}: video placeholders are not supported yet`);
    if (ids[i] !== tokens.image) {
      t[i] = h[i] = w[i] = pos;
      max = Math.max(max, pos++);
      i++;
      continue;
    }
    let end = i;
    while (end < T && ids[end] === tokens.image) end++;
    const k = imageStarts.length;
    if (k >= grids.length) throw new ErnieError('BAD_REQUEST', `the ids hold more image placeholder runs than the ${grids.length} image(s) given (run ${k + 1} starts at token ${i})`);
    const g = grids[k];
    const rows = g.h / mergeSize, cols = g.w / mergeSize, n = mergedTokens(g, mergeSize);
    if (g.t !== 1) throw new ErnieError('UNSUPPORTED', `image ${k + 1}: grid t = ${g.t}; only still images (t = 1) are supported`);
    if (end - i !== n) throw new ErnieError('BAD_REQUEST', `image ${k + 1} (grid ${g.h}x${g.w} patches) needs ${n} placeholder tokens, the ids hold ${end - i} at tokens ${i}..${end - 1}`);
    imageStarts.push(i);
    for (let r = 0; r < rows; r++)
      for (let c = 0; c < cols; c++) {
        const j = i + r * cols + c;
        t[j] = pos; h[j] = pos + r; w[j] = pos + c;
        vision[j] = 1;
      }
    max = Math.max(max, pos + rows - 1, pos + cols - 1);
    pos += Math.max(rows, cols);
    i = end;
  }
  if (imageStarts.length !== grids.length) throw new ErnieError('BAD_REQUEST', `${grids.length} image(s) given but the ids hold ${imageStarts.length} placeholder run(s)`);
  return { t, h, w, vision, ropeDelta: max + 1 - T, imageStarts };
}

/** (row, col) of every ViT patch of the grids, in the processor's 2x2-window order, frame by frame. */
export function patchPositions(grids: Grid[], mergeSize: number): { row: Int32Array; col: Int32Array } {
  const total = grids.reduce((s, g) => s + g.t * g.h * g.w, 0);
  const row = new Int32Array(total), col = new Int32Array(total);
  let k = 0;
  for (const g of grids)
    for (let f = 0; f < g.t; f++)
      for (let wy = 0; wy < g.h / mergeSize; wy++)
        for (let wx = 0; wx < g.w / mergeSize; wx++)
          for (let sy = 0; sy < mergeSize; sy++)
            for (let sx = 0; sx < mergeSize; sx++, k++) {
              row[k] = wy * mergeSize + sy;
              col[k] = wx * mergeSize + sx;
            }
  return { row, col };
}

/** Start offset of each ViT attention segment (one per frame) and the total: [s0, s1, ..., total]. */
export function visionSegments(grids: Grid[]): number[] {
  const out = [0];
  for (const g of grids) for (let f = 0; f < g.t; f++) out.push(out[out.length - 1] + g.h * g.w);
  return out;
}
