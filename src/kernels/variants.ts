// Which kernel variant runs each op on this adapter. The key is read from the device's
// features and limits and the adapter's identity (GpuContext.features / limits / adapterInfo):
//  - software rasterisers (SwiftShader, llvmpipe, WARP) run the barrier-free kernels: a
//    workgroupBarrier there costs ~100x a GPU's, and their "threads" are SIMD lanes of a CPU;
//  - GPUs run prefill matrix-matrix tiled in workgroup memory (when the limits allow 12 KiB of
//    workgroup memory and 128 invocations) and decode matrix-vector with subgroup reductions
//    (when `subgroups` is offered with a known size <= 64).
// Every choice can be forced (tests run each variant on SwiftShader against the same CPU
// references; benchmarks compare them): forceVariants(ctx, {...}) or, in Node, the
// ERNIE_KERNELS environment variable, e.g. ERNIE_KERNELS=prefill=workgroup_tiled,decode=single.
import { ErnieError } from '../errors.js';
import type { GpuContext } from '../gpu/context.js';

/** Decode (matrix-vector, <= 8 tokens): one thread per row(s), or one subgroup per row(s). */
export type DecodeVariant = 'single' | 'subgroup';
/** Prefill (matrix-matrix): barrier-free register blocks, or tiles in workgroup memory. */
export type PrefillVariant = 'blocked' | 'workgroup_tiled';

export interface KernelVariants {
  /** f32/f16 matvec, quantized matvec and the grouped expert matmul's lanes */
  decode: DecodeVariant;
  /** f32/f16 and quantized matrix-matrix (dense layers; tokens > 8) */
  prefill: PrefillVariant;
}

export const DECODE_VARIANTS: readonly DecodeVariant[] = ['single', 'subgroup'];
export const PREFILL_VARIANTS: readonly PrefillVariant[] = ['blocked', 'workgroup_tiled'];

/** What the choice reads: a GpuContext has all of it. */
export interface AdapterKey {
  features: { subgroups: boolean; subgroupMaxSize: number; shaderF16: boolean };
  limits: Pick<GPUSupportedLimits, 'maxComputeWorkgroupStorageSize' | 'maxComputeInvocationsPerWorkgroup'>;
  adapterInfo: { vendor: string; architecture: string; description: string };
}

/** Workgroup memory the tiled kernels declare (shaders/*_wg_tiled.wgsl). */
export const TILED_WORKGROUP_BYTES = 12288;

/** True for CPU implementations of WebGPU (SwiftShader, llvmpipe, Microsoft Basic Render / WARP). */
export function isSoftwareAdapter(info: AdapterKey['adapterInfo']): boolean {
  const s = `${info.vendor} ${info.architecture} ${info.description}`.toLowerCase();
  return /swiftshader|llvmpipe|lavapipe|softpipe|basic render|warp/.test(s);
}

/** Whether the subgroup lanes can run here (the shaders size workgroups for subgroups <= 64). */
export function subgroupsUsable(k: AdapterKey): boolean {
  return k.features.subgroups && k.features.subgroupMaxSize > 0 && k.features.subgroupMaxSize <= 64;
}

export function tiledUsable(k: AdapterKey): boolean {
  return k.limits.maxComputeWorkgroupStorageSize >= TILED_WORKGROUP_BYTES && k.limits.maxComputeInvocationsPerWorkgroup >= 128;
}

/** The variants for an adapter (before anything is forced). */
export function chooseVariants(k: AdapterKey): KernelVariants {
  const software = isSoftwareAdapter(k.adapterInfo);
  return {
    // subgroup lanes were already the default wherever offered (SwiftShader too: 4 lanes)
    decode: subgroupsUsable(k) ? 'subgroup' : 'single',
    prefill: !software && tiledUsable(k) ? 'workgroup_tiled' : 'blocked',
  };
}

/** Parses "prefill=workgroup_tiled,decode=single" (the ERNIE_KERNELS syntax). */
export function parseVariants(spec: string, source = 'ERNIE_KERNELS'): Partial<KernelVariants> {
  const out: Partial<KernelVariants> = {};
  for (const part of spec.split(',').map((s) => s.trim()).filter(Boolean)) {
    const [op, v] = part.split('=').map((s) => s.trim());
    if (op === 'decode' && (DECODE_VARIANTS as readonly string[]).includes(v!)) out.decode = v as DecodeVariant;
    else if (op === 'prefill' && (PREFILL_VARIANTS as readonly string[]).includes(v!)) out.prefill = v as PrefillVariant;
    else {
      throw new ErnieError('BAD_REQUEST', `${source}: "${part}" is not a kernel choice; use decode=${DECODE_VARIANTS.join('|')} and/or prefill=${PREFILL_VARIANTS.join('|')}, comma-separated`);
    }
  }
  return out;
}

const chosen = new WeakMap<GpuContext, KernelVariants>();

function envForced(): Partial<KernelVariants> {
  const spec = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.ERNIE_KERNELS;
  return spec ? parseVariants(spec) : {};
}

/** The variants this context runs: chosen from the adapter once, with ERNIE_KERNELS applied. */
export function variantsOf(ctx: GpuContext): KernelVariants {
  let v = chosen.get(ctx);
  if (!v) {
    v = { ...chooseVariants(ctx), ...envForced() };
    check(ctx, v);
    chosen.set(ctx, v);
  }
  return v;
}

/** Force some variants on this context (tests, benchmarks); returns the previous choice. */
export function forceVariants(ctx: GpuContext, v: Partial<KernelVariants>): KernelVariants {
  const before = variantsOf(ctx);
  const next = { ...before, ...v };
  check(ctx, next);
  chosen.set(ctx, next);
  return before;
}

function check(k: AdapterKey, v: KernelVariants): void {
  if (v.decode === 'subgroup' && !subgroupsUsable(k)) {
    throw new ErnieError('UNSUPPORTED', 'kernel variant decode=subgroup needs the `subgroups` feature with a subgroup size <= 64, which this adapter does not offer');
  }
  if (v.prefill === 'workgroup_tiled' && !tiledUsable(k)) {
    throw new ErnieError('UNSUPPORTED', `kernel variant prefill=workgroup_tiled needs ${TILED_WORKGROUP_BYTES} bytes of workgroup memory and 128 invocations per workgroup; this device allows ${k.limits.maxComputeWorkgroupStorageSize} and ${k.limits.maxComputeInvocationsPerWorkgroup}`);
  }
}
