// GpuContext: the one object kernels record into.
//  - pipelines are compiled once and cached under a readable key ("matmul:f16");
//  - each dispatch's scalars go into one uniform arena, uploaded with a single writeBuffer per submit;
//  - dispatches share one compute pass until a copy or a submit ends it;
//  - bind groups are cached under the buffers they bind (the uniform slot is a dynamic offset
//    into the arena), so a decode step that binds the same buffers as the last one creates none;
//  - readback() is the only place the CPU waits for the GPU; its staging buffers are pooled.
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
/** Cached bind groups kept (least recently used dropped first). */
const BIND_GROUP_CACHE = 4096;
/** Readback staging buffers up to this size are kept for reuse, at most STAGING_POOL of them. */
const STAGING_MAX_POOLED = 1 << 20;
const STAGING_POOL = 4;

/** A pipeline's bind group layout: binding 0 the uniform struct, then storage buffers. */
interface PipelineLayout {
  layout: GPUBindGroupLayout;
  bindings: number;
}

export class GpuContext {
  readonly gpu: GPU;
  readonly device: GPUDevice;
  readonly features: GpuFeatures;
  readonly adapterInfo: AcquiredDevice['adapterInfo'];
  private readonly pipelines = new Map<string, GPUComputePipeline>();
  private readonly layouts = new WeakMap<GPUComputePipeline, PipelineLayout>();
  private readonly bindGroups = new Map<string, GPUBindGroup>();
  private readonly ids = new WeakMap<object, number>();
  private nextId = 1;
  private readonly staging: GPUBuffer[] = [];
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private arena: GPUBuffer;
  private arenaCpu = new Uint8Array(ARENA_BYTES);
  private arenaUsed = 0;
  private lost: GPUDeviceLostInfo | null = null;
  /** Dispatches recorded since creation; tests and benchmarks read it. */
  dispatchCount = 0;
  /** Bind groups created since creation (a cache miss each). */
  bindGroupCount = 0;
  /** Readbacks (CPU waits) since creation. */
  readbackCount = 0;
  /** queue.submit calls since creation. */
  submitCount = 0;
  /**
   * Timestamp writes for the next compute pass this context begins (then cleared): benchmarks
   * time a kernel with the `timestamp-query` feature by setting it before the dispatch.
   */
  nextPassTimestamps: GPUComputePassTimestampWrites | null = null;

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
      const code = build();
      const module = this.device.createShaderModule({ label: key, code });
      const entries = layoutEntries(key, code);
      const layout = this.device.createBindGroupLayout({ label: key, entries });
      p = this.device.createComputePipeline({
        label: key,
        layout: this.device.createPipelineLayout({ label: key, bindGroupLayouts: [layout] }),
        compute: { module, entryPoint: 'main', constants },
      });
      this.layouts.set(p, { layout, bindings: entries.length });
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
    const bindGroup = this.bindGroup(pipeline, params.byteLength, bindings);
    const pass = this.computePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup, [offset]);
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
      this.submitCount++;
      this.encoder = null;
    }
  }

  /** True while dispatches or copies are recorded but not yet submitted. */
  get pending(): boolean {
    return this.encoder !== null;
  }

  /**
   * Submit pending work and wait until the GPU has finished everything submitted so far:
   * what a timer must await before it reads the clock (a recorded or submitted dispatch has
   * not run yet). Not a readback: nothing is copied to the CPU.
   */
  async settle(): Promise<void> {
    this.checkAlive();
    this.submit();
    await this.device.queue.onSubmittedWorkDone();
    this.checkAlive();
  }

  /** Submit pending work, then copy `size` bytes of `buffer` back to the CPU. */
  async readback(buffer: GPUBuffer, offset = 0, size = buffer.size - offset): Promise<ArrayBuffer> {
    const bytes = Math.ceil(size / 4) * 4;
    const staging = this.takeStaging(bytes);
    this.copy(buffer, offset, staging, 0, bytes);
    this.submit();
    this.readbackCount++;
    try {
      await staging.mapAsync(GPUMapMode.READ, 0, bytes);
    } catch (e) {
      staging.destroy();
      this.checkAlive();
      throw e;
    }
    const out = staging.getMappedRange(0, bytes).slice(0, size);
    staging.unmap();
    this.returnStaging(staging);
    return out;
  }

  async readF32(buffer: GPUBuffer, offset = 0, count?: number): Promise<Float32Array> {
    return new Float32Array(await this.readback(buffer, offset, count === undefined ? undefined : count * 4));
  }

  async readU32(buffer: GPUBuffer, offset = 0, count?: number): Promise<Uint32Array> {
    return new Uint32Array(await this.readback(buffer, offset, count === undefined ? undefined : count * 4));
  }

  destroy(): void {
    for (const b of this.staging.splice(0)) b.destroy();
    this.bindGroups.clear();
    this.arena.destroy();
    this.device.destroy();
  }

  /** The bind group of `bindings` for `pipeline`, made once per distinct set of buffer ranges. */
  private bindGroup(pipeline: GPUComputePipeline, paramBytes: number, bindings: Binding[]): GPUBindGroup {
    const info = this.layouts.get(pipeline);
    if (!info) throw new Error(`dispatch: pipeline ${pipeline.label} was not made by this GpuContext's pipeline()`);
    if (bindings.length + 1 !== info.bindings) {
      throw new Error(`dispatch ${pipeline.label}: the shader declares ${info.bindings - 1} storage bindings, got ${bindings.length}`);
    }
    let key = `${this.idOf(pipeline)}:${paramBytes}`;
    for (const b of bindings) {
      key += 'buffer' in b ? `|${this.idOf(b.buffer)}@${b.offset ?? 0}+${b.size ?? ''}` : `|${this.idOf(b)}`;
    }
    let group = this.bindGroups.get(key);
    if (group) {
      // most recently used last: eviction takes the first key
      this.bindGroups.delete(key);
      this.bindGroups.set(key, group);
      return group;
    }
    const entries: GPUBindGroupEntry[] = [{ binding: 0, resource: { buffer: this.arena, offset: 0, size: paramBytes } }];
    bindings.forEach((b, i) => {
      entries.push({ binding: i + 1, resource: 'buffer' in b ? { buffer: b.buffer, offset: b.offset ?? 0, size: b.size } : { buffer: b } });
    });
    group = this.device.createBindGroup({ label: pipeline.label, layout: info.layout, entries });
    this.bindGroupCount++;
    if (this.bindGroups.size >= BIND_GROUP_CACHE) this.bindGroups.delete(this.bindGroups.keys().next().value!);
    this.bindGroups.set(key, group);
    return group;
  }

  /** A number per GPU object, for cache keys (a destroyed buffer's number is never reused). */
  private idOf(o: object): number {
    let id = this.ids.get(o);
    if (id === undefined) this.ids.set(o, (id = this.nextId++));
    return id;
  }

  private takeStaging(bytes: number): GPUBuffer {
    let best = -1;
    this.staging.forEach((b, i) => {
      if (b.size >= bytes && (best < 0 || b.size < this.staging[best]!.size)) best = i;
    });
    if (best >= 0) return this.staging.splice(best, 1)[0]!;
    this.checkAlive();
    // pooled sizes are powers of two (>= 256 bytes) so one buffer serves many reads
    const size = bytes <= STAGING_MAX_POOLED ? Math.max(256, 2 ** Math.ceil(Math.log2(bytes))) : bytes;
    return this.device.createBuffer({ label: 'readback', size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  }

  private returnStaging(b: GPUBuffer): void {
    if (b.size <= STAGING_MAX_POOLED && this.staging.length < STAGING_POOL) this.staging.push(b);
    else b.destroy();
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
    if (!this.pass) {
      const timestampWrites = this.nextPassTimestamps;
      this.nextPassTimestamps = null;
      this.pass = this.commandEncoder().beginComputePass(timestampWrites ? { timestampWrites } : undefined);
    }
    return this.pass;
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

/**
 * The bind group layout a shader declares in group 0: binding 0 `var<uniform>` (read at a dynamic
 * offset into the arena), bindings 1.. `var<storage, read>` or `var<storage, read_write>`.
 */
export function layoutEntries(label: string, wgsl: string): GPUBindGroupLayoutEntry[] {
  const code = wgsl.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
  const found = new Map<number, GPUBindGroupLayoutEntry>();
  const re = /@group\(\s*0\s*\)\s*@binding\(\s*(\d+)\s*\)\s*var\s*<\s*(uniform|storage)\s*(?:,\s*(read_write|read)\s*)?>/g;
  for (const m of code.matchAll(re)) {
    const binding = Number(m[1]);
    const buffer: GPUBufferBindingLayout =
      m[2] === 'uniform' ? { type: 'uniform', hasDynamicOffset: true } : { type: m[3] === 'read_write' ? 'storage' : 'read-only-storage' };
    found.set(binding, { binding, visibility: GPUShaderStage.COMPUTE, buffer });
  }
  const entries = [...found.values()].sort((a, b) => a.binding - b.binding);
  entries.forEach((e, i) => {
    if (e.binding !== i) throw new Error(`${label}: bindings must be numbered 0, 1, 2, ... without gaps (found @binding(${e.binding}) at position ${i})`);
  });
  if (entries[0]?.buffer?.type !== 'uniform') throw new Error(`${label}: @binding(0) must be the var<uniform> Params struct`);
  return entries;
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
