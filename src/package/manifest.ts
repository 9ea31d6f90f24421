// manifest.json of an ernie-webgpu package: its types and a strict validator. FORMAT.md is the
// specification; every rule checked here is written there.
import { ConfigError, ErnieError, FileFormatError } from '../errors';
import type { ErnieConfig } from '../model/ernie45/config';
import { LAYOUTS, type LayoutId, type Scheme, isLayoutId, matrixDims, tensorBytes } from '../quant/layouts';
import { type ModelFamily, modelFamily } from './family';
import type { ExpectedTensor } from './tensors';

export const PACKAGE_MAGIC = 'ernie-webgpu-package';
export const PACKAGE_FORMAT_VERSION = 1;
export const MANIFEST_FILE = 'manifest.json';
/** Every tensor starts at a multiple of this many bytes in its shard (WebGPU's storage-buffer offset alignment). */
export const TENSOR_ALIGNMENT = 256;
/** Readers refuse larger manifests before reading them (a 64-expert, 28-layer model needs ~1.5 MB). */
export const MAX_MANIFEST_BYTES = 64 * 1024 * 1024;

export type FileRole = 'tokenizer' | 'chat_template' | 'generation_config' | 'other';
const FILE_ROLES: readonly FileRole[] = ['tokenizer', 'chat_template', 'generation_config', 'other'];

/** A non-weight file of the package (tokenizer, chat template, generation config). */
export interface ManifestFile {
  path: string;
  role: FileRole;
  bytes: number;
  sha256: string;
}

export interface ManifestShard {
  /** Path relative to the package folder. */
  file: string;
  kind: 'core' | 'expert';
  /** For expert shards: the decoder layer and routed expert it holds. */
  layer?: number;
  expert?: number;
  bytes: number;
  /** Lowercase hex SHA-256 of the whole file. */
  sha256: string;
}

export interface ManifestTensor {
  /** HF checkpoint name (model/ernie45/config.ts weightNames). */
  name: string;
  /** Row-major shape, outermost first ([out, in] for matrices). */
  shape: number[];
  scheme: Scheme;
  layout: LayoutId;
  /** The shard file holding it. */
  shard: string;
  /** Byte offset in the shard (a multiple of TENSOR_ALIGNMENT) and byte length. */
  offset: number;
  bytes: number;
}

export interface Manifest {
  magic: typeof PACKAGE_MAGIC;
  formatVersion: number;
  /** The model's HF config.json object. */
  config: Record<string, unknown>;
  files: ManifestFile[];
  shards: ManifestShard[];
  tensors: ManifestTensor[];
  /** Free-form information (converter options, source file); readers ignore it. */
  metadata?: Record<string, unknown>;
}

/** A validated manifest with its parsed config and indexes. */
export interface ValidManifest {
  manifest: Manifest;
  /** The language stack's config (for a VL package: its text side; `family.vl` has the rest). */
  config: ErnieConfig;
  /** The model family its config's model_type selects (tensor list, experts per layer). */
  family: ModelFamily;
  tensors: Map<string, ManifestTensor>;
  shards: Map<string, ManifestShard>;
  /** "layer/expert" -> shard */
  expertShards: Map<string, ManifestShard>;
  /** name -> what the config says about it */
  expected: Map<string, ExpectedTensor>;
}

const bad = (message: string, cause?: unknown) => new FileFormatError(MANIFEST_FILE, message, cause === undefined ? undefined : { cause });

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkKeys(obj: Json, what: string, required: readonly string[], optional: readonly string[] = []): void {
  for (const k of required) if (!Object.hasOwn(obj, k)) throw bad(`${what}: missing "${k}"`);
  for (const k of Object.keys(obj)) {
    if (!required.includes(k) && !optional.includes(k)) throw bad(`${what}: unknown field "${k}"`);
  }
}

function count(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw bad(`${what} must be a non-negative integer, got ${JSON.stringify(v)}`);
  return v;
}

function str(v: unknown, what: string): string {
  if (typeof v !== 'string' || v.length === 0) throw bad(`${what} must be a non-empty string, got ${JSON.stringify(v)}`);
  return v;
}

const SHA256 = /^[0-9a-f]{64}$/;
/** Relative paths of plain segments: no "..", no absolute paths, no backslashes or odd characters. */
const SAFE_PATH = /^(?!\/)(?:[A-Za-z0-9_][A-Za-z0-9._-]*)(?:\/[A-Za-z0-9_][A-Za-z0-9._-]*)*$/;

function path(v: unknown, what: string): string {
  const p = str(v, what);
  if (!SAFE_PATH.test(p) || p.split('/').includes('..') || p.length > 512) throw bad(`${what} ${JSON.stringify(p)} is not a plain relative path inside the package`);
  return p;
}

function sha(v: unknown, what: string): string {
  if (typeof v !== 'string' || !SHA256.test(v)) throw bad(`${what} must be 64 lowercase hex digits (SHA-256), got ${JSON.stringify(v)}`);
  return v;
}

const alignUp = (n: number) => Math.ceil(n / TENSOR_ALIGNMENT) * TENSOR_ALIGNMENT;

/**
 * The layout is the one FORMAT.md section 3 prescribes, so the manifest leaves no freedom in which
 * bytes a tensor reads: in each shard the tensors follow the canonical order, the first at 0 and
 * each at the next multiple of 256 after the previous, the last ending where the shard ends; core
 * shards hold consecutive runs of that order, in the order "shards" lists them. (Without this, an
 * edited manifest could swap two same-sized tensors and load different numbers.)
 */
function checkCanonicalLayout(expected: Map<string, ExpectedTensor>, shards: Map<string, ManifestShard>, byShard: Map<string, ManifestTensor[]>): void {
  const order = new Map([...expected.keys()].map((n, i) => [n, i]));
  for (const [file, list] of byShard) {
    let end = 0;
    for (const [i, t] of list.entries()) {
      const want = i === 0 ? 0 : alignUp(end);
      if (t.offset !== want) throw bad(`tensor "${t.name}" is at offset ${t.offset} in "${file}", but the layout puts it at ${want} (tensors are packed in order, each at the next multiple of ${TENSOR_ALIGNMENT})`);
      if (i > 0 && order.get(t.name)! < order.get(list[i - 1]!.name)!) throw bad(`tensors "${list[i - 1]!.name}" and "${t.name}" are out of order in "${file}"`);
      end = t.offset + t.bytes;
    }
    if (shards.get(file)!.bytes !== end) throw bad(`shard "${file}" is ${shards.get(file)!.bytes} bytes, but its tensors end at ${end}`);
  }
  let last = -1, lastName = '';
  for (const s of shards.values()) {
    if (s.kind !== 'core') continue;
    for (const t of byShard.get(s.file) ?? []) {
      const at = order.get(t.name)!;
      if (at < last) throw bad(`core tensor "${t.name}" in "${s.file}" comes before "${lastName}" in the canonical order, but its shard is listed after`);
      last = at;
      lastName = t.name;
    }
  }
  for (const s of shards.values()) if (!byShard.has(s.file)) throw bad(`shard "${s.file}" holds no tensor`);
}

/** Parses manifest.json's text. Throws FileFormatError (BAD_FILE) for malformed JSON. */
export function parseManifestText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw bad(`is not valid JSON (${err instanceof Error ? err.message : String(err)})`, err);
  }
}

/**
 * Validates a parsed manifest strictly against FORMAT.md and its own config. Malformed content is a
 * FileFormatError naming manifest.json; a tensor whose shape disagrees with the config is an
 * ErnieError 'SHAPE_MISMATCH', a tensor the config needs but the manifest lacks 'MISSING_TENSOR'.
 */
export function validateManifest(json: unknown): ValidManifest {
  if (!isObject(json)) throw bad('must be a JSON object');
  if (json.magic !== PACKAGE_MAGIC) {
    throw bad(`magic is ${JSON.stringify(json.magic)}, expected "${PACKAGE_MAGIC}": this is not an ernie-webgpu package manifest`);
  }
  if (json.formatVersion !== PACKAGE_FORMAT_VERSION) {
    throw bad(`format version ${JSON.stringify(json.formatVersion)} is not supported (this reader reads version ${PACKAGE_FORMAT_VERSION})`);
  }
  checkKeys(json, 'manifest', ['magic', 'formatVersion', 'config', 'files', 'shards', 'tensors'], ['metadata']);
  if (json.metadata !== undefined && !isObject(json.metadata)) throw bad('"metadata" must be an object');

  if (!isObject(json.config)) throw bad('"config" must be the model\'s config.json object');
  let family: ModelFamily;
  try {
    // Before anything is sized from it: the tensor list bounds the layers and experts the config may claim.
    family = modelFamily(json.config, { origin: { file: MANIFEST_FILE }, held: Array.isArray(json.tensors) ? json.tensors.length : undefined, checkpoint: 'its "tensors" list' });
  } catch (err) {
    if (err instanceof ConfigError) throw bad(`config: ${err.detail}`, err);
    throw err;
  }
  const config = family.text;

  // ---- files ----
  if (!Array.isArray(json.files)) throw bad('"files" must be an array');
  const used = new Set<string>([MANIFEST_FILE]);
  const files: ManifestFile[] = json.files.map((f, i) => {
    const what = `files[${i}]`;
    if (!isObject(f)) throw bad(`${what} must be an object`);
    checkKeys(f, what, ['path', 'role', 'bytes', 'sha256']);
    const p = path(f.path, `${what}.path`);
    if (used.has(p)) throw bad(`${what}: "${p}" is listed twice`);
    used.add(p);
    if (!FILE_ROLES.includes(f.role as FileRole)) throw bad(`${what}.role must be one of ${FILE_ROLES.join(', ')}, got ${JSON.stringify(f.role)}`);
    return { path: p, role: f.role as FileRole, bytes: count(f.bytes, `${what}.bytes`), sha256: sha(f.sha256, `${what}.sha256`) };
  });

  // ---- shards ----
  if (!Array.isArray(json.shards)) throw bad('"shards" must be an array');
  const shards = new Map<string, ManifestShard>();
  const expertShards = new Map<string, ManifestShard>();
  const moe = config.moe;
  const perLayer = family.expertsPerLayer;
  for (const [i, s] of json.shards.entries()) {
    const what = `shards[${i}]`;
    if (!isObject(s)) throw bad(`${what} must be an object`);
    const file = path(s.file, `${what}.file`);
    if (used.has(file)) throw bad(`${what}: "${file}" is listed twice`);
    used.add(file);
    const shard: ManifestShard = { file, kind: 'core', bytes: count(s.bytes, `${what}.bytes`), sha256: sha(s.sha256, `${what}.sha256`) };
    if (s.kind === 'core') checkKeys(s, `${what} ("${file}")`, ['file', 'kind', 'bytes', 'sha256']);
    else if (s.kind === 'expert') {
      checkKeys(s, `${what} ("${file}")`, ['file', 'kind', 'layer', 'expert', 'bytes', 'sha256']);
      const layer = count(s.layer, `${what}.layer`), expert = count(s.expert, `${what}.expert`);
      if (!moe || layer >= config.numLayers || !family.isExpertLayer(layer)) throw bad(`${what} ("${file}"): layer ${layer} is not an MoE layer of this model`);
      if (expert >= perLayer) throw bad(`${what} ("${file}"): expert ${expert} is out of range (the model has ${perLayer} per MoE layer)`);
      const key = `${layer}/${expert}`;
      if (expertShards.has(key)) throw bad(`${what} ("${file}"): layer ${layer} expert ${expert} already has shard "${expertShards.get(key)!.file}"`);
      Object.assign(shard, { kind: 'expert', layer, expert });
      expertShards.set(key, shard);
    } else throw bad(`${what}.kind must be "core" or "expert", got ${JSON.stringify(s.kind)}`);
    shards.set(file, shard);
  }

  // ---- tensors ----
  if (!Array.isArray(json.tensors)) throw bad('"tensors" must be an array');
  const expected = new Map(family.tensors().map((t) => [t.name, t]));
  const tensors = new Map<string, ManifestTensor>();
  const byShard = new Map<string, ManifestTensor[]>();
  for (const [i, t] of json.tensors.entries()) {
    if (!isObject(t)) throw bad(`tensors[${i}] must be an object`);
    const name = str(t.name, `tensors[${i}].name`);
    const what = `tensor "${name}"`;
    checkKeys(t, what, ['name', 'shape', 'scheme', 'layout', 'shard', 'offset', 'bytes']);
    if (tensors.has(name)) throw bad(`${what} is listed twice`);
    const exp = expected.get(name);
    if (!exp) throw bad(`${what} is not a tensor of this model (config: ${family.kind === 'vl' ? 'ERNIE-4.5-VL, ' : ''}${config.numLayers} layers, ${moe ? `${perLayer} experts per MoE layer` : 'dense'})`);
    if (!Array.isArray(t.shape) || t.shape.length === 0 || t.shape.length > 2 || !t.shape.every((d) => Number.isSafeInteger(d) && (d as number) > 0)) {
      throw bad(`${what}: shape ${JSON.stringify(t.shape)} must be 1 or 2 positive integers`);
    }
    const shape = t.shape as number[];
    if (shape.join() !== exp.shape.join()) {
      throw new ErnieError('SHAPE_MISMATCH', `${MANIFEST_FILE}: ${what} has shape [${shape.join(', ')}], but its config implies [${exp.shape.join(', ')}]`);
    }
    if (!isLayoutId(t.layout)) throw bad(`${what}: unknown layout ${JSON.stringify(t.layout)} (known: ${Object.keys(LAYOUTS).join(', ')})`);
    const layout = t.layout;
    if (t.scheme !== LAYOUTS[layout].scheme) throw bad(`${what}: scheme ${JSON.stringify(t.scheme)} does not match layout "${layout}" (a ${LAYOUTS[layout].scheme} layout)`);
    const [rows, cols] = matrixDims(shape);
    if (LAYOUTS[layout].blockValues === 256 && cols % 256 !== 0) throw bad(`${what}: layout "${layout}" needs rows that are a multiple of 256 values, not ${cols}`);
    const bytes = count(t.bytes, `${what}.bytes`);
    if (bytes !== tensorBytes(layout, rows, cols)) {
      throw bad(`${what}: ${bytes} bytes, but [${shape.join(', ')}] in ${layout} takes ${tensorBytes(layout, rows, cols)}`);
    }
    const shardFile = str(t.shard, `${what}.shard`);
    const shard = shards.get(shardFile);
    if (!shard) throw bad(`${what}: shard "${shardFile}" is not in "shards"`);
    const offset = count(t.offset, `${what}.offset`);
    if (offset % TENSOR_ALIGNMENT !== 0) throw bad(`${what}: offset ${offset} in "${shardFile}" is not a multiple of ${TENSOR_ALIGNMENT}`);
    if (offset + bytes > shard.bytes) {
      throw bad(`${what}: bytes ${offset}..${offset + bytes} run past the end of shard "${shardFile}" (${shard.bytes} bytes)`);
    }
    if (exp.role === 'expert') {
      if (shard.kind !== 'expert' || shard.layer !== exp.layer || shard.expert !== exp.expert) {
        throw bad(`${what} must be in the shard of layer ${exp.layer} expert ${exp.expert}, not in "${shardFile}"`);
      }
    } else if (shard.kind !== 'core') throw bad(`${what} is a core tensor but "${shardFile}" is an expert shard`);
    const entry: ManifestTensor = { name, shape: [...shape], scheme: t.scheme as Scheme, layout, shard: shardFile, offset, bytes };
    tensors.set(name, entry);
    let list = byShard.get(shardFile);
    if (!list) byShard.set(shardFile, (list = []));
    list.push(entry);
  }
  for (const exp of expected.values()) {
    if (!tensors.has(exp.name)) throw new ErnieError('MISSING_TENSOR', `${MANIFEST_FILE}: no tensor "${exp.name}" [${exp.shape.join(', ')}], which the config needs`);
  }
  if (moe) {
    for (let l = 0; l < config.numLayers; l++) {
      if (!family.isExpertLayer(l)) continue;
      for (let e = 0; e < perLayer; e++) if (!expertShards.has(`${l}/${e}`)) throw bad(`no shard for layer ${l} expert ${e}`);
    }
  }
  for (const [file, list] of byShard) {
    list.sort((a, b) => a.offset - b.offset);
    for (let i = 1; i < list.length; i++) {
      const a = list[i - 1]!, b = list[i]!;
      if (b.offset < a.offset + a.bytes) throw bad(`tensors "${a.name}" and "${b.name}" overlap in "${file}"`);
    }
  }
  checkCanonicalLayout(expected, shards, byShard);
  const manifest: Manifest = {
    magic: PACKAGE_MAGIC,
    formatVersion: PACKAGE_FORMAT_VERSION,
    config: json.config,
    files,
    shards: [...shards.values()],
    tensors: [...tensors.values()],
    ...(json.metadata !== undefined ? { metadata: json.metadata as Json } : {}),
  };
  return { manifest, config, family, tensors, shards, expertShards, expected };
}
