// ERNIE 4.5's routed experts as an ExpertSource (src/experts/source.ts): from any WeightSource
// (HF safetensors, GGUF: tensor by tensor) or from a package (one verified shard per expert).
// One expert set each; `SetOptions` picks another set of a layer's experts (ERNIE-4.5-VL's vision
// experts: the tensors and shards numbered from `firstExpert`, of their own intermediate size).
import { ErnieError, FileFormatError } from '../../errors.js';
import type { ExpertBytes, ExpertFormat, ExpertSource } from '../../experts/source.js';
import type { ErniePackage } from '../../package/reader.js';
import { type ErnieConfig, isMoeLayer, weightNames } from './config.js';
import { firstNonFiniteF16, firstNonFiniteF32, storedDtype, type WeightSource } from './weight_source.js';

function moeLayers(cfg: ErnieConfig): number[] {
  return [...Array(cfg.numLayers).keys()].filter((l) => isMoeLayer(cfg, l));
}

/** Which of a layer's experts a source serves: the set's tensors are experts firstExpert.. of the checkpoint. */
export interface SetOptions {
  /** Checkpoint / package index of the set's expert 0 (default 0). */
  firstExpert?: number;
  /** The set's intermediate size (default: the config's expert intermediate size). */
  intermediateSize?: number;
  /** How errors name the set's experts (default "experts"; e.g. "vision experts"). */
  label?: string;
}

function resolveSet(cfg: ErnieConfig, o: SetOptions): Required<SetOptions> {
  return { firstExpert: o.firstExpert ?? 0, intermediateSize: o.intermediateSize ?? cfg.moe!.expertIntermediateSize, label: o.label ?? 'experts' };
}

function formatOf(cfg: ErnieConfig, src: WeightSource, layer: number, o: Required<SetOptions>): ExpertFormat {
  const n = weightNames.layer(layer), I = o.intermediateSize, H = cfg.hiddenSize, e0 = o.firstExpert;
  const gate = storedDtype(src, n.expertGate(e0)), up = storedDtype(src, n.expertUp(e0)), down = storedDtype(src, n.expertDown(e0));
  if (gate !== up) throw new ErnieError('UNSUPPORTED', `${n.expertGate(e0)} (${gate}) and ${n.expertUp(e0)} (${up}) use different formats; gate and up are stacked into one matrix`);
  for (let e = e0 + 1; e < e0 + cfg.moe!.numExperts; e++) {
    for (const [name, want] of [[n.expertGate(e), gate], [n.expertUp(e), up], [n.expertDown(e), down]] as const) {
      if (storedDtype(src, name) !== want) throw new ErnieError('UNSUPPORTED', `${name} is ${storedDtype(src, name)}, but layer ${layer}'s other ${o.label} are ${want}: a layer's ${o.label} must share one format`);
    }
  }
  return { gateUp: { dtype: gate, rows: 2 * I, cols: H }, down: { dtype: down, rows: H, cols: I } };
}

/** A NaN or infinity in an expert would turn every logit into NaN: refuse it, naming the tensor (as loadWeights does). */
function finite(src: WeightSource, name: string, bytes: Uint8Array, dtype: string): Uint8Array {
  const bad = dtype === 'f32' ? firstNonFiniteF32(new Float32Array(bytes.byteOffset % 4 ? bytes.slice().buffer : bytes.buffer, bytes.byteOffset % 4 ? 0 : bytes.byteOffset, bytes.byteLength >> 2)) : dtype === 'f16' ? firstNonFiniteF16(bytes) : -1;
  if (bad >= 0) throw new FileFormatError(src.info(name).file ?? 'the checkpoint', `tensor "${name}" holds a NaN or infinite value (element ${bad}); the file is damaged`);
  return bytes;
}

function bytesOf(a: ArrayBufferView): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.byteLength + b.byteLength);
  out.set(a);
  out.set(b, a.byteLength);
  return out;
}

/** Experts read tensor by tensor from a WeightSource, in the format loadWeights would store them. */
export function weightSourceExperts(cfg: ErnieConfig, src: WeightSource, set: SetOptions = {}): ExpertSource {
  const o = resolveSet(cfg, set);
  const layers = moeLayers(cfg);
  const formats = new Map(layers.map((l) => [l, formatOf(cfg, src, l, o)]));
  const read = async (name: string, dtype: string, signal?: AbortSignal) => finite(src, name, dtype === 'f32' ? bytesOf(await src.readF32(name, signal)) : await src.readRaw(name, signal), dtype);
  return {
    layers,
    experts: cfg.moe?.numExperts ?? 0,
    topK: cfg.moe?.topK ?? 0,
    format: (l) => formats.get(l)!,
    async read(layer, expert, signal): Promise<ExpertBytes> {
      const n = weightNames.layer(layer), f = formats.get(layer)!, e = o.firstExpert + expert;
      const [gate, up, down] = await Promise.all([read(n.expertGate(e), f.gateUp.dtype, signal), read(n.expertUp(e), f.gateUp.dtype, signal), read(n.expertDown(e), f.down.dtype, signal)]);
      return { gateUp: concat(gate, up), down };
    },
  };
}

/**
 * Experts of a package: each read fetches the expert's shard whole and checks its SHA-256
 * (ErniePackage.readExpertShard), so only verified bytes reach the caches. Tensors stored f32
 * or f16 go up as they are; quantized ones in their block layout.
 */
export function packageExperts(cfg: ErnieConfig, pkg: ErniePackage, src: WeightSource, set: SetOptions = {}): ExpertSource {
  const base = weightSourceExperts(cfg, src, set);
  const first = set.firstExpert ?? 0;
  return {
    ...base,
    async read(layer, e, signal): Promise<ExpertBytes> {
      const expert = first + e;
      const s = await pkg.readExpertShard(layer, expert, signal);
      const part = (t: { offset: number; bytes: number }) => s.bytes.subarray(t.offset, t.offset + t.bytes);
      const f = base.format(layer);
      if (f.gateUp.dtype === 'f32' && s.gate.layout !== 'f32') return base.read(layer, e, signal);
      const n = weightNames.layer(layer);
      return {
        gateUp: concat(finite(src, n.expertGate(expert), part(s.gate), f.gateUp.dtype), finite(src, n.expertUp(expert), part(s.up), f.gateUp.dtype)),
        down: finite(src, n.expertDown(expert), part(s.down), f.down.dtype),
      };
    },
  };
}
