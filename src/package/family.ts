// Which model family a package (or a checkpoint being converted) holds, chosen by its config's
// model_type: the text models (`ernie4_5`, `ernie4_5_moe`, parsed by parseConfig) or ERNIE-4.5-VL
// (`ernie4_5_vl_moe`, either config spelling, parsed by parseVlConfig). The family gives the tensor
// list the manifest is checked against and the converter plans from, and the routed experts per
// MoE layer (VL: the text experts, then the vision experts, each in its own shard).
import { type ConfigOrigin, type ErnieConfig, isMoeLayer, parseConfig } from '../model/ernie45/config';
import { type ErnieVlConfig, parseVlConfig } from '../model/ernie45_vl/config';
import { expectedVlTensors } from '../model/ernie45_vl/tensors';
import { type ExpectedTensor, checkTensorBudget, expectedTensors, expertShardName } from './tensors';

export const VL_MODEL_TYPE = 'ernie4_5_vl_moe';

export interface ModelFamily {
  kind: 'text' | 'vl';
  /** The language stack (for VL: its text side; `moe` describes the text experts). */
  text: ErnieConfig;
  /** VL models only. */
  vl?: ErnieVlConfig;
  /** Every tensor, in the package's canonical order. */
  tensors(): ExpectedTensor[];
  /** Routed experts a MoE layer holds in the package (VL: text + vision). */
  expertsPerLayer: number;
  isExpertLayer(layer: number): boolean;
  /** The file name the converter gives the shard of one routed expert. */
  expertShardName(layer: number, expert: number): string;
}

/** True when a config object declares the VL model type. */
export function isVlConfig(raw: unknown): boolean {
  return typeof raw === 'object' && raw !== null && (raw as { model_type?: unknown }).model_type === VL_MODEL_TYPE;
}

/**
 * The family of `raw` (a config.json object). `held`, when given, is how many tensors the file at
 * hand lists: a config claiming far more is refused (ConfigError) before any list is built.
 */
export function modelFamily(raw: unknown, opts: { origin?: ConfigOrigin; held?: number; checkpoint?: string } = {}): ModelFamily {
  const file = opts.origin?.file ?? 'config.json';
  const budget = (cfg: ErnieConfig) => {
    if (opts.held !== undefined) checkTensorBudget(cfg, opts.held, { file, checkpoint: opts.checkpoint ?? 'the checkpoint' });
  };
  if (isVlConfig(raw)) {
    const vl = parseVlConfig(raw);
    budget(vl.text);
    const E = vl.text.moe!.numExperts + vl.visionExperts.numExperts;
    return {
      kind: 'vl', text: vl.text, vl,
      tensors: () => expectedVlTensors(vl),
      expertsPerLayer: E,
      isExpertLayer: (l) => isMoeLayer(vl.text, l),
      expertShardName: (l, e) => expertShardName(vl.text, l, e, E),
    };
  }
  const text = parseConfig(raw, opts.origin);
  budget(text);
  return {
    kind: 'text', text,
    tensors: () => expectedTensors(text),
    expertsPerLayer: text.moe?.numExperts ?? 0,
    isExpertLayer: (l) => isMoeLayer(text, l),
    expertShardName: (l, e) => expertShardName(text, l, e),
  };
}
