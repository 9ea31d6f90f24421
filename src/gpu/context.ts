// GpuContext: the one object kernels record into.
//  - pipelines are compiled once and cached under a readable key ("matmul:f16");
//  - each dispatch's scalars go into one uniform arena, uploaded with a single writeBuffer per submit;
//  - dispatches share one compute pass until a copy or a submit ends it;
//  - readback() is the only place the CPU waits for the GPU.
import { DeviceLostError, GpuError } from '../errors.js';
import type { AcquiredDevice, GpuFeatures } from './device.js';

export interface BufferSlice {
  buffer: GPUBuffer;
  /** bytes; must be a multiple of the device's minStorageBufferOffsetAlignment (256) */
  offset?: number;
  size?: number;
}
export type Binding = GPUBuffer | BufferSlice;

/** Uniform slots are 256-byte aligned (WebGPU's minUniformBufferOffsetAlignment). */
const UNIFORM_ALIGN = 256;
const ARENA_BYTES = 1 << 20;

export class GpuContext {
  readonly gpu: GPU;
  readonly device: GPUDevice;
  readonly features: GpuFeatures;
  readonly adapterInfo: AcquiredDevice['adapterInfo'];
  private readonly pipelines = new Map<string, GPUComputePipeline>();
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private arena: GPUBuffer;
  private arenaCpu = new Uint8Array(ARENA_BYTES);
  private arenaUsed = 0;
  private lost: GPUDeviceLostInfo | null = null;
  /** Dispatches recorded since creation; tests and benchmarks read it. */
  dispatchCount = 0;

  constructor(acquired: AcquiredDevice) {
    this.gpu = acquired.gpu;
    this.device = acquired.device;
    this.features = acquired.features;
    this.adapterInfo = acquired.adapterInfo;
    this.arena = this.device.createBuffer({ label: 'uniform arena', size: ARENA_BYTES, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
    this.device.lost.then((info) => {
      this.lost = info;
    });
  }

  get limits(): GPUSupportedLimits {
    return this.device.limits;
  }

  /** Compile (once) the pipeline for `key`; `build` returns the WGSL source. */
  pipeline(key: string, build: () => string, constants?: Record<string, number>): GPUComputePipeline {
    let p = this.pipelines.get(key);
    if (!p) {
      const module = this.device.createShaderModule({ label: key, code: build() });
      p = this.device.createComputePipeline({ label: key, layout: 'auto', compute: { module, entryPoint: 'main', constants } });
      this.pipelines.set(key, p);
    }
    return p;
  }

  createBuffer(label: string, size: number, usage: number = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST): GPUBuffer {
    this.checkAlive();
    const max = Math.min(this.limits.maxBufferSize, (usage & GPUBufferUsage.STORAGE) ? this.limits.maxStorageBufferBindingSize : Infinity);
    if (size > max) {
      throw new GpuError('GPU_LIMIT', `${label}: buffer of ${size} bytes exceeds this device's limit of ${max} bytes (maxStorageBufferBindingSize). Use a quantized model package or a smaller context.`);
    }
    // Sizes round up to 16 bytes so vec4 reads at the tail stay in bounds.
    return this.device.createBuffer({ label, size: Math.max(16, Math.ceil(size / 16) * 16), usage });
  }

  /** Upload `data` into a new storage buffer. */
  upload(label: string, data: ArrayBufferView): GPUBuffer {
    const buf = this.createBuffer(label, data.byteLength);
    this.write(buf, data);
    return buf;
  }

  write(buffer: GPUBuffer, data: ArrayBufferView, offset = 0): void {
    // writeBuffer wants a multiple of 4 bytes.
    const bytes = new Uint8Array(data.buffer as ArrayBuffer, data.byteOffset, data.byteLength);
    if (bytes.byteLength % 4 === 0) this.device.queue.writeBuffer(buffer, offset, bytes);
    else {
      const padded = new Uint8Array(Math.ceil(bytes.byteLength / 4) * 4);
      padded.set(bytes);
      this.device.queue.writeBuffer(buffer, offset, padded);
    }
  }

  /**
   * Record one dispatch. `params` is the shader's uniform struct (binding 0), packed by the
   * kernel's host code; `bindings` are the storage buffers at bindings 1..n.
   */
  dispatch(pipeline: GPUComputePipeline, params: ArrayBuffer, bindings: Binding[], workgroups: [number, number?, number?]): void {
    this.checkAlive();
    const offset = this.pushParams(params);
    const entries: GPUBindGroupEntry[] = [{ binding: 0, resource: { buffer: this.arena, offset, size: params.byteLength } }];
    bindings.forEach((b, i) => {
      entries.push({ binding: i + 1, resource: 'buffer' in b ? { buffer: b.buffer, offset: b.offset ?? 0, size: b.size } : { buffer: b } });
    });
    const bindGroup = this.device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries });
    const pass = this.computePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    const [x, y = 1, z = 1] = workgroups;
    const maxDim = this.limits.maxComputeWorkgroupsPerDimension;
    if (x > maxDim || y > maxDim || z > maxDim) throw new GpuError('GPU_LIMIT', `dispatch ${x}x${y}x${z} exceeds maxComputeWorkgroupsPerDimension ${maxDim} (${pipeline.label})`);
    if (x > 0 && y > 0 && z > 0) pass.dispatchWorkgroups(x, y, z);
    this.dispatchCount++;
  }

  copy(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, size: number): void {
    this.endPass();
    this.commandEncoder().copyBufferToBuffer(src, srcOffset, dst, dstOffset, size);
  }

  /** Submit everything recorded so far. */
  submit(): void {
    this.endPass();
    if (this.arenaUsed > 0) {
      this.device.queue.writeBuffer(this.arena, 0, this.arenaCpu, 0, this.arenaUsed);
      this.arenaUsed = 0;
    }
    if (this.encoder) {
      this.device.queue.submit([this.encoder.finish()]);
      this.encoder = null;
    }
  }

  /** Submit pending work, then copy `size` bytes of `buffer` back to the CPU. */
  async readback(buffer: GPUBuffer, offset = 0, size = buffer.size - offset): Promise<ArrayBuffer> {
    const staging = this.device.createBuffer({ label: 'readback', size: Math.ceil(size / 4) * 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    this.copy(buffer, offset, staging, 0, Math.ceil(size / 4) * 4);
    this.submit();
    try {
      await staging.mapAsync(GPUMapMode.READ);
    } catch (e) {
      this.checkAlive();
      throw e;
    }
    const out = staging.getMappedRange().slice(0, size);
    staging.unmap();
    staging.destroy();
    return out;
  }

  async readF32(buffer: GPUBuffer, offset = 0, count?: number): Promise<Float32Array> {
    return new Float32Array(await this.readback(buffer, offset, count === undefined ? undefined : count * 4));
  }

  async readU32(buffer: GPUBuffer, offset = 0, count?: number): Promise<Uint32Array> {
    return new Uint32Array(await this.readback(buffer, offset, count === undefined ? undefined : count * 4));
  }

  destroy(): void {
    this.arena.destroy();
    this.device.destroy();
  }

  private pushParams(params: ArrayBuffer): number {
    if (this.arenaUsed + params.byteLength > ARENA_BYTES) this.submit();
    const offset = this.arenaUsed;
    this.arenaCpu.set(new Uint8Array(params), offset);
    this.arenaUsed = Math.ceil((offset + params.byteLength) / UNIFORM_ALIGN) * UNIFORM_ALIGN;
    return offset;
  }

  private commandEncoder(): GPUCommandEncoder {
    return (this.encoder ??= this.device.createCommandEncoder());
  }

  private computePass(): GPUComputePassEncoder {
    return (this.pass ??= this.commandEncoder().beginComputePass());
  }

  private endPass(): void {
    if (this.pass) {
      this.pass.end();
      this.pass = null;
    }
  }

  private checkAlive(): void {
    if (this.lost) {
      throw new DeviceLostError(this.lost.reason, `The GPU device was lost (${this.lost.reason}: ${this.lost.message || 'no message'}): load the model again (a WorkerEngine does so on its next request; in the page, create a new engine).`);
    }
  }
}

/** Packs a shader's uniform struct: u32/i32/f32 fields in declaration order, 4 bytes each. */
export class Params {
  private view: DataView;
  private offset = 0;
  constructor(fields: number) {
    // Uniform structs are 16-byte aligned in size.
    this.view = new DataView(new ArrayBuffer(Math.max(16, Math.ceil((fields * 4) / 16) * 16)));
  }
  u32(v: number): this {
    this.view.setUint32(this.offset, v, true);
    this.offset += 4;
    return this;
  }
  f32(v: number): this {
    this.view.setFloat32(this.offset, v, true);
    this.offset += 4;
    return this;
  }
  get buffer(): ArrayBuffer {
    return this.view.buffer as ArrayBuffer;
  }
}

/** Split a 1-D workgroup count over x and y so neither passes 65535. Shaders rebuild the index. */
export function grid1d(count: number, maxPerDim = 65535): [number, number] {
  if (count <= maxPerDim) return [count, 1];
  const y = Math.ceil(count / maxPerDim);
  return [Math.ceil(count / y), y];
}
