// Page side of the e2e harness (loaded by harness.html; the Node side is browser.ts).
// Installs window.__ernieHarness, which browser.ts drives through page.evaluate:
//  - adapter(): what navigator.gpu.requestAdapter() gives in this browser;
//  - run(modulePath, exportName, argJson): `await import(modulePath)`, call the export with the
//    decoded argument, and answer with the encoded result or the error (never throws).
// Every GPUDevice the page creates reports its uncaptured WebGPU errors (validation, out of
// memory) and unexpected device loss here, so a kernel that fails validation fails the run
// instead of silently returning zeros.
import { decode, encode } from './codec';

export interface AdapterReport {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  isFallbackAdapter: boolean | undefined;
  features: string[];
  limits: Record<string, number>;
}

export type RunAnswer =
  | { ok: true; value: unknown; gpuErrors: string[] }
  | { ok: false; error: { name: string; message: string; stack?: string; code?: string }; gpuErrors: string[] };

export interface HarnessApi {
  ready: true;
  adapter(): Promise<AdapterReport | { error: string }>;
  run(modulePath: string, exportName: string, argJson: string): Promise<string>;
}

declare global {
  interface Window {
    __ernieHarness?: HarnessApi;
  }
}

const gpuErrors: string[] = [];

if (typeof GPUAdapter !== 'undefined') {
  const requestDevice = GPUAdapter.prototype.requestDevice;
  GPUAdapter.prototype.requestDevice = async function (this: GPUAdapter, descriptor?: GPUDeviceDescriptor): Promise<GPUDevice> {
    const device = await requestDevice.call(this, descriptor);
    device.addEventListener('uncapturederror', (ev) => {
      const err = (ev as GPUUncapturedErrorEvent).error;
      const msg = `WebGPU uncaptured ${err.constructor.name}: ${err.message}`;
      gpuErrors.push(msg);
      console.error(msg);
    });
    void device.lost.then((info) => {
      if (info.reason === 'destroyed') return;
      const msg = `WebGPU device lost (${info.reason}): ${info.message}`;
      gpuErrors.push(msg);
      console.error(msg);
    });
    return device;
  };
}

const LIMITS = [
  'maxBufferSize', 'maxStorageBufferBindingSize', 'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup', 'maxComputeWorkgroupSizeX', 'maxComputeWorkgroupsPerDimension',
  'maxStorageBuffersPerShaderStage',
] as const;

async function adapter(): Promise<AdapterReport | { error: string }> {
  if (!window.isSecureContext) return { error: `not a secure context (${location.origin}): WebGPU is only exposed on https:// or http://127.0.0.1/localhost` };
  if (!navigator.gpu) return { error: 'navigator.gpu is undefined: WebGPU is disabled in this browser (flags?)' };
  const a = await navigator.gpu.requestAdapter();
  if (!a) return { error: 'navigator.gpu.requestAdapter() returned null: no WebGPU adapter (Vulkan/SwiftShader missing?)' };
  const info = a.info;
  const limits: Record<string, number> = {};
  for (const name of LIMITS) limits[name] = a.limits[name];
  return {
    vendor: info.vendor,
    architecture: info.architecture,
    device: info.device,
    description: info.description,
    isFallbackAdapter: (info as { isFallbackAdapter?: boolean }).isFallbackAdapter,
    features: [...a.features].sort(),
    limits,
  };
}

async function run(modulePath: string, exportName: string, argJson: string): Promise<string> {
  const first = gpuErrors.length;
  let answer: RunAnswer;
  try {
    const mod = (await import(/* @vite-ignore */ modulePath)) as Record<string, unknown>;
    const fn = mod[exportName];
    if (typeof fn !== 'function') {
      throw new Error(`${modulePath} has no exported function "${exportName}" (exports: ${Object.keys(mod).join(', ') || 'none'})`);
    }
    const value: unknown = await (fn as (arg: unknown) => unknown)(decode(argJson));
    answer = { ok: true, value, gpuErrors: gpuErrors.slice(first) };
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    const code = (err as { code?: unknown }).code;
    answer = {
      ok: false,
      error: { name: err.name, message: err.message, stack: err.stack, code: typeof code === 'string' ? code : undefined },
      gpuErrors: gpuErrors.slice(first),
    };
  }
  return encode(answer);
}

window.__ernieHarness = { ready: true, adapter, run };
