// Typed errors. Every error the library throws on purpose is an ErnieError with a stable
// `code` a program can switch on and a message a developer can act on.

export type ErrorCode =
  | 'BAD_CONFIG'          // config.json missing fields, unknown model_type, inconsistent sizes
  | 'BAD_FILE'            // a malformed, truncated or hostile file (safetensors, GGUF, manifest)
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
  | 'ABORTED';            // an AbortSignal fired

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
 * A model configuration value out of range or inconsistent. `file` is where it was read from
 * (config.json, a GGUF file, manifest.json) and `field` how that file spells it; the message
 * starts with both, and `detail` is the message without the file.
 */
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

export class AbortError extends ErnieError {
  constructor(message = 'The operation was aborted') {
    super('ABORTED', message);
    this.name = 'AbortError';
  }
}

export function throwIfAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw new AbortError(typeof signal.reason === 'string' ? signal.reason : undefined);
}
