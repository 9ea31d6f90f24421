// Typed errors. Every error the library throws on purpose is an ErnieError with a stable
// `code` a program can switch on and a message a developer can act on.

export type ErrorCode =
  | 'BAD_CONFIG'          // config.json missing fields, unknown model_type, inconsistent sizes
  | 'BAD_FILE'            // a malformed, truncated or hostile file (safetensors, GGUF, manifest)
  | 'MISSING_TENSOR'      // a weight the config needs is not in the checkpoint
  | 'SHAPE_MISMATCH'      // a tensor whose shape disagrees with the config
  | 'UNSUPPORTED'         // a dtype, feature or option this build does not handle
  | 'FETCH_FAILED'        // HTTP error, or a server that ignores Range requests
  | 'GPU_UNAVAILABLE'     // no WebGPU adapter or device
  | 'GPU_LIMIT'           // a buffer larger than the device allows
  | 'DEVICE_LOST'         // the GPU device was lost mid-run
  | 'CONTEXT_OVERFLOW'    // prompt + generation longer than the KV cache
  | 'BAD_REQUEST'         // a malformed API request
  | 'BUDGET_TOO_SMALL'    // a memory budget (GPU expert cache) smaller than one step needs
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

export class ConfigError extends ErnieError {
  constructor(message: string) {
    super('BAD_CONFIG', message);
    this.name = 'ConfigError';
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

export class AbortError extends ErnieError {
  constructor(message = 'The operation was aborted') {
    super('ABORTED', message);
    this.name = 'AbortError';
  }
}

export function throwIfAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw new AbortError(typeof signal.reason === 'string' ? signal.reason : undefined);
}
