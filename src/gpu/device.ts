// Getting a GPUDevice: ask for the most the adapter offers (bigger bindings, f16 if present),
// but run within WebGPU's defaults where that is all there is.
import { GpuError } from '../errors.js';

export interface GpuFeatures {
  /** WGSL `enable f16;` available. Every kernel has an f32 path; f16 is only an optimisation. */
  shaderF16: boolean;
  subgroups: boolean;
  /** Largest subgroup size the adapter may use (for dispatch sizing); 0 when unknown. */
  subgroupMaxSize: number;
  timestampQuery: boolean;
}

export interface AcquiredDevice {
  /** Held so the GPU instance outlives the device (Dawn in Node needs this). */
  gpu: GPU;
  device: GPUDevice;
  adapterInfo: { vendor: string; architecture: string; description: string };
  features: GpuFeatures;
}

const OPTIONAL_FEATURES: GPUFeatureName[] = ['shader-f16', 'subgroups' as GPUFeatureName, 'timestamp-query'];

const LIMITS_TO_RAISE = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxStorageBuffersPerShaderStage',
] as const;

export async function acquireDevice(gpu: GPU | undefined = globalThis.navigator?.gpu, opts: { powerPreference?: GPUPowerPreference } = {}): Promise<AcquiredDevice> {
  if (!gpu) {
    throw new GpuError('GPU_UNAVAILABLE', 'WebGPU is not available: use a browser with WebGPU (Chrome/Edge 113+, Safari 26+) or, in Node, pass the `webgpu` package GPU (see nodeGpu()).');
  }
  const adapter = await gpu.requestAdapter({ powerPreference: opts.powerPreference ?? 'high-performance' });
  if (!adapter) throw new GpuError('GPU_UNAVAILABLE', 'navigator.gpu.requestAdapter() returned null: no usable GPU adapter (is hardware acceleration disabled?)');
  const requiredFeatures = OPTIONAL_FEATURES.filter((f) => adapter.features.has(f));
  const requiredLimits: Record<string, number> = {};
  for (const name of LIMITS_TO_RAISE) requiredLimits[name] = adapter.limits[name];
  const device = await adapter.requestDevice({ requiredFeatures, requiredLimits });
  const info = adapter.info ?? { vendor: '', architecture: '', description: '' };
  return {
    gpu,
    device,
    adapterInfo: { vendor: info.vendor, architecture: info.architecture, description: info.description },
    features: {
      shaderF16: device.features.has('shader-f16'),
      subgroups: device.features.has('subgroups' as GPUFeatureName),
      subgroupMaxSize: (info as { subgroupMaxSize?: number }).subgroupMaxSize ?? 0,
      timestampQuery: device.features.has('timestamp-query'),
    },
  };
}
