// The ernie-webgpu package format (FORMAT.md): manifest, reader and writers.
export {
  MANIFEST_FILE, PACKAGE_FORMAT_VERSION, PACKAGE_MAGIC, TENSOR_ALIGNMENT,
  type FileRole, type Manifest, type ManifestFile, type ManifestShard, type ManifestTensor,
  parseManifestText, validateManifest,
} from './manifest';
export { ErniePackage, openPackage, type ExpertShard, type RawTensor } from './reader';
export { memoryPackage, type MemoryPackage, type PackageWriter } from './writer';
export { expectedTensors, type ExpectedTensor, type TensorRole } from './tensors';
export { sha256Hex } from './hash';
