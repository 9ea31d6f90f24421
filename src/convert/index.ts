// Checkpoint (HF safetensors or GGUF) -> ernie-webgpu package conversion.
export {
  convertModel,
  type ConvertAction, type ConvertInput, type ConvertOptions, type ConvertProgress, type ConvertReport, type ConvertedTensor,
} from './convert';
