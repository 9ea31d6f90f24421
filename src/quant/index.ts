// Weight quantization: the package's block layouts (CPU quantizers and reference decoders).
export {
  LAYOUTS,
  SCHEMES,
  IQ4NL_VALUES,
  bitsPerWeight,
  decodeIQ4NL,
  decodeQ2G32,
  dequantizeRows,
  isLayoutId,
  isScheme,
  layoutFor,
  matrixDims,
  quantize,
  resolveLayout,
  rowBytes,
  tensorBytes,
  type LayoutId,
  type LayoutInfo,
  type QuantizeOptions,
  type Scheme,
} from './layouts';
export { f16BitsToNumber, f32ToF16Bits, roundF16 } from './f16';
export { EFFORT, type FitEffort } from './fit';
