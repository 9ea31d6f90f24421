// Typed errors. Every error the library throws on purpose is an ErnieError with a stable
// `code` a program can switch on and a message a developer can act on.

export type ErrorCode =
  | 'BAD_CONFIG'          // config.json missing fields, unknown model_type, inconsistent sizes
  | 'BAD_FILE'            // a malformed, truncated or hostile file (safetensors, GGUF, manifest)
  | 'BAD_IMAGE'           // an image that cannot be decoded, or whose size or shape is out of bounds
  | 'MISSING_TENSOR'      // a weight the config needs is not in the checkpoint
  | 'MISSING_FILE'        // a file the model needs (tokenizer, config) is not in its folder
  | 'SHAPE_MISMATCH'      // a tensor whose shape disagrees with the config
  | 'UNSUPPORTED'         // a dtype, feature or option this build does not handle
  | 'FETCH_FAILED'        // HTTP error, or a server that ignores Range requests
  | 'GPU_UNAVAILABLE'     // no WebGPU adapter or device
  | 'GPU_LIMIT'           // a buffer larger than the device allows
  | 'DEVICE_LOST'         // the GPU device was lost mid-run
  | 'CONTEXT_OVERFLOW'    // prompt + generation longer than the KV cache
  | 'NON_FINITE'          // the model computed NaN or infinite logits
  | 'TEMPLATE_LIMIT'      // a chat template ran past its rendering budget (steps, time, output size)
  | 'BAD_REQUEST'         // a malformed API request
  | 'BUDGET_TOO_SMALL'    // a memory budget (GPU expert cache) smaller than one step needs
  | 'ABORTED'             // an AbortSignal fired
  | 'QUOTA_EXCEEDED'      // the model store has no room for a download (QuotaError)
  | 'INTEGRITY';          // a file's bytes do not match the SHA-256 its manifest lists (IntegrityError)

export class ErnieError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ErnieError';
    this.code = code;
  }
}

/** A malformed or hostile file. `file` names it so the user knows which download to redo. */
export class FileFormatError extends ErnieError {
  readonly file: string;
  constructor(file: string, message: string, options?: { cause?: unknown }) {
    super('BAD_FILE', `${file}: ${message}`, options);
    this.name = 'FileFormatError';
    this.file = file;
  }
}

/**
 * A folder has no such file: HTTP 404/410, a soft-404 (an HTML page where a model file was
 * expected), ENOENT, or not among the files the user picked. A distinct class so loaders can tell
 * "no such optional file" from real failures. Code is FETCH_FAILED for URLs, BAD_FILE for local files.
 */
export class FileNotFoundError extends ErnieError {
  readonly file: string;
  constructor(code: 'BAD_FILE' | 'FETCH_FAILED', file: string, message: string, options?: { cause?: unknown }) {
    super(code, `${file}: ${message}`, options);
    this.name = 'FileNotFoundError';
    this.file = file;
  }
}

/** Why an HTTP request failed (see src/formats/http.ts). */
export type HttpFailure =
  | 'status'   // the server answered with an error status (`status` holds it)
  | 'network'  // no answer: connection refused or reset, DNS, TLS
  | 'cors'     // the browser refused to show a cross-origin answer (missing CORS headers)
  | 'stall'    // no headers or no body bytes within the stall timeout
  | 'range'    // the server ignored or mangled a Range request
  | 'protocol'; // an answer that cannot be right (wrong length, wrong Content-Range)

/** An HTTP request that failed for good (after retries where retrying made sense). Code FETCH_FAILED. */
export class HttpError extends ErnieError {
  readonly url: string;
  readonly file: string;
  readonly failure: HttpFailure;
  /** HTTP status, 0 when there was no answer. */
  readonly status: number;
  /** Whether trying again later may succeed (5xx, 429, network errors, stalls). */
  readonly retryable: boolean;
  /** The error answer's headers (e.g. Content-Range of a 416), when there was an answer. */
  readonly headers?: Headers;
  constructor(
    init: { url: string; file: string; failure: HttpFailure; status?: number; retryable?: boolean; headers?: Headers },
    message: string,
    options?: { cause?: unknown },
  ) {
    super('FETCH_FAILED', `${init.file}: ${message}`, options);
    this.name = 'HttpError';
    this.url = init.url;
    this.file = init.file;
    this.failure = init.failure;
    this.status = init.status ?? 0;
    this.retryable = init.retryable ?? false;
    if (init.headers) this.headers = init.headers;
  }
}

/**
 * A model configuration value out of range or inconsistent. `file` is where it was read from
 * (config.json, a GGUF file, manifest.json) and `field` how that file spells it; the message
 * starts with both, and `detail` is the message without the file.
 */
/** An image that is not PNG/JPEG, is truncated, or whose size is out of bounds. `source` names it. */
export class ImageError extends ErnieError {
  readonly source: string;
  constructor(source: string, message: string, options?: { cause?: unknown }) {
    super('BAD_IMAGE', `${source}: ${message}`, options);
    this.name = 'ImageError';
    this.source = source;
  }
}

export class ConfigError extends ErnieError {
  readonly file: string | undefined;
  readonly field: string | undefined;
  readonly detail: string;
  constructor(message: string, where: { file?: string; field?: string; cause?: unknown } = {}) {
    const field = where.field === undefined ? '' : `"${where.field}" `;
    super('BAD_CONFIG', where.file === undefined ? `${field}${message}` : `${where.file}: ${field}${message}`, { cause: where.cause });
    this.name = 'ConfigError';
    this.file = where.file;
    this.field = where.field;
    this.detail = `${field}${message}`;
  }
}

/** A file the model needs is absent from its folder (a tokenizer file, config.json). */
export class MissingFileError extends ErnieError {
  readonly file: string;
  constructor(file: string, message: string, options?: { cause?: unknown }) {
    super('MISSING_FILE', `${file}: ${message}`, options);
    this.name = 'MissingFileError';
    this.file = file;
  }
}

/** The model computed NaN or infinite logits; `position` is the number of tokens before them. */
export class NonFiniteError extends ErnieError {
  constructor(readonly position: number, message: string) {
    super('NON_FINITE', message);
    this.name = 'NonFiniteError';
  }
}

/** No WebGPU (GPU_UNAVAILABLE), a size beyond what this device allows (GPU_LIMIT), a lost device. */
export class GpuError extends ErnieError {
  constructor(code: 'GPU_UNAVAILABLE' | 'GPU_LIMIT' | 'DEVICE_LOST', message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'GpuError';
  }
}

/**
 * The GPU device is gone (driver reset, GPU process crash, tab in the background too long, or
 * device.destroy()). Everything on it is lost: the model must be loaded again. A WorkerEngine does
 * that on its next request; an Engine in the page must be created anew.
 */
export class DeviceLostError extends GpuError {
  /** GPUDeviceLostInfo.reason: 'destroyed' or 'unknown'. */
  readonly reason: string;
  constructor(reason: string, message: string, options?: { cause?: unknown }) {
    super('DEVICE_LOST', message, options);
    this.name = 'DeviceLostError';
    this.reason = reason;
  }
}

/** A memory budget (expertCache.gpuBytes) too small for one step: `needBytes` is the least that works. */
export class BudgetError extends ErnieError {
  readonly needBytes: number;
  constructor(message: string, needBytes: number) {
    super('BUDGET_TOO_SMALL', message);
    this.name = 'BudgetError';
    this.needBytes = needBytes;
  }
}

/** What a request had produced when it was aborted (AbortError.partial). */
export interface PartialOutput {
  /** Chat: the reply's content so far; completions: the text so far (echo included). */
  text: string;
  /** Chat: the thinking so far, when the model thought; else null. */
  reasoning_content: string | null;
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
}

/**
 * An AbortSignal fired (name 'AbortError', as the web platform's). `partial` holds the output
 * so far when the request had started generating; absent when it was aborted before.
 */
export class AbortError extends ErnieError {
  readonly partial?: PartialOutput;
  constructor(message = 'The operation was aborted', partial?: PartialOutput) {
    super('ABORTED', message);
    this.name = 'AbortError';
    if (partial) this.partial = partial;
  }
}

/** The AbortError for a fired signal; says "timed out" for AbortSignal.timeout(). */
export function abortErrorOf(signal: AbortSignal): AbortError {
  const r: unknown = signal.reason;
  if (typeof r === 'string') return new AbortError(r);
  if (r instanceof Error && r.name === 'TimeoutError') return new AbortError(`The operation timed out (AbortSignal): ${r.message}`);
  return new AbortError();
}

export function throwIfAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw abortErrorOf(signal);
}

/** A file whose SHA-256 differs from its manifest's: downloaded corrupt, or corrupted in storage. */
export class IntegrityError extends ErnieError {
  readonly file: string;
  constructor(file: string, message: string, options?: { cause?: unknown }) {
    super('INTEGRITY', `${file}: ${message}`, options);
    this.name = 'IntegrityError';
    this.file = file;
  }
}

/** A model that could be deleted to make room, as QuotaError lists it. */
export interface DeletableModel {
  id: string;
  bytes: number;
  lastUsed: number;
}

/**
 * Not enough storage for a download: before the first byte (nothing was written) or when the
 * browser refused a write midway (only the partial file was dropped). Sizes in bytes.
 */
export class QuotaError extends ErnieError {
  readonly needed: number;
  readonly available: number;
  /** Other stored models, least recently used first, with the bytes deleting each would free. */
  readonly deletable: DeletableModel[];
  constructor(message: string, info: { needed: number; available: number; deletable: DeletableModel[] }, options?: { cause?: unknown }) {
    super('QUOTA_EXCEEDED', message, options);
    this.name = 'QuotaError';
    this.needed = info.needed;
    this.available = info.available;
    this.deletable = info.deletable;
  }
}
