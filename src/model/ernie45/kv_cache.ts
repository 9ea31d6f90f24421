// The KV cache: per layer, keys (after RoPE) and values for every cached position,
// [capacity, kvHeads, headDim] f32. Its capacity comes from a memory budget.
import { GpuError } from '../../errors.js';
import type { GpuContext } from '../../gpu/context.js';
import type { ErnieConfig } from './config.js';

export const DEFAULT_KV_CACHE_BYTES = 256 * 1024 * 1024;

export class KvCache {
  readonly capacity: number;
  readonly keys: GPUBuffer[] = [];
  readonly values: GPUBuffer[] = [];
  /** Positions 0..length-1 hold valid keys/values. */
  length = 0;

  constructor(ctx: GpuContext, cfg: ErnieConfig, budgetBytes = DEFAULT_KV_CACHE_BYTES) {
    const rowBytes = cfg.numKvHeads * cfg.headDim * 4;
    const perToken = 2 * cfg.numLayers * rowBytes;
    const byBudget = Math.floor(budgetBytes / perToken);
    const byBinding = Math.floor(ctx.limits.maxStorageBufferBindingSize / rowBytes);
    this.capacity = Math.min(cfg.maxPositions, byBudget, byBinding);
    if (this.capacity < 1) {
      throw new GpuError('GPU_LIMIT', `KV cache budget of ${budgetBytes} bytes holds no token (${perToken} bytes per token); raise kvCacheBytes`);
    }
    for (let l = 0; l < cfg.numLayers; l++) {
      this.keys.push(ctx.createBuffer(`k cache ${l}`, this.capacity * rowBytes));
      this.values.push(ctx.createBuffer(`v cache ${l}`, this.capacity * rowBytes));
    }
  }

  destroy(): void {
    for (const b of [...this.keys, ...this.values]) b.destroy();
  }
}
