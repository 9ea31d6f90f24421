// Typed errors across the page <-> worker boundary. comlink sends a thrown Error as its name,
// message and stack only, so a BadRequestError from the worker would arrive as a plain Error with
// no `code` or `param`. This replaces comlink's "throw" transfer handler with one that sends an
// ErnieError's own fields (code, param, file, promptTokens, reason, ...) and a short form of its
// cause, and on the receiving side rebuilds an instance of the same class, so `instanceof` and
// `e.code` work in the page as they do in the worker.
//
// The wire form keeps comlink's own shape ({ isError: true, value: { message, name, stack, ... } }),
// so a receiver without this handler still gets an Error carrying the fields.
import * as Comlink from 'comlink';
import { AbortError, BudgetError, ConfigError, DeviceLostError, ErnieError, FileFormatError, FileNotFoundError, GpuError, HttpError, ImageError, IntegrityError, MissingFileError, NonFiniteError, QuotaError } from '../errors.js';
import { BadRequestError, ContextOverflowError } from '../api/errors.js';

type ErrorClass = abstract new (...args: never[]) => Error;

/** Classes rebuilt by name on the receiving side; a subclass not listed arrives as its nearest listed ancestor. */
const classes = new Map<string, ErrorClass>();

/** Make `cls` (an ErnieError subclass, `name` set to the class name) arrive as itself across the worker boundary. */
export function registerErrorClass(cls: ErrorClass): void {
  classes.set(cls.name, cls);
}

for (const cls of [ErnieError, FileFormatError, ConfigError, MissingFileError, NonFiniteError, HttpError, AbortError, GpuError, DeviceLostError, ImageError, BadRequestError, ContextOverflowError, FileNotFoundError, IntegrityError, QuotaError, BudgetError]) {
  registerErrorClass(cls);
}

interface WireError {
  message: string;
  name: string;
  stack?: string;
  /** The registered class to rebuild; absent for errors that are not ErnieErrors. */
  ernieClass?: string;
  fields?: Record<string, WireValue>;
  cause?: WireError | WireValue;
}
type WireValue = string | number | boolean | null | WireValue[] | { [key: string]: WireValue };

/** JSON-like data (AbortError.partial too); anything else is dropped. */
function plain(v: unknown, depth = 0): WireValue | undefined {
  if (v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
  if (depth > 4) return undefined;
  if (Array.isArray(v)) {
    const items = v.map((x) => plain(x, depth + 1));
    return items.every((x) => x !== undefined) ? (items as WireValue[]) : undefined;
  }
  if (typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
    const out: { [key: string]: WireValue } = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      const p = plain(x, depth + 1);
      if (p !== undefined) out[k] = p;
    }
    return out;
  }
  return undefined;
}

function registeredAncestor(e: Error): string | undefined {
  for (let proto = Object.getPrototypeOf(e); proto && proto !== Error.prototype; proto = Object.getPrototypeOf(proto)) {
    const name = (proto.constructor as { name?: string })?.name;
    if (name && classes.get(name) === proto.constructor) return name;
  }
  return undefined;
}

const OWN_KEYS = new Set(['message', 'name', 'stack', 'cause']);

function toWire(e: Error, depth = 0): WireError {
  const wire: WireError = { message: e.message, name: e.name, stack: e.stack };
  if (e instanceof ErnieError) {
    wire.ernieClass = registeredAncestor(e);
    wire.fields = {};
    for (const [k, v] of Object.entries(e)) {
      const p = plain(v);
      if (p !== undefined && !OWN_KEYS.has(k)) wire.fields[k] = p;
    }
  }
  const cause = (e as { cause?: unknown }).cause;
  if (cause instanceof Error) wire.cause = depth < 4 ? toWire(cause, depth + 1) : { message: cause.message, name: cause.name };
  else if (cause !== undefined) wire.cause = plain(cause) ?? String(cause);
  return wire;
}

function fromWire(wire: WireError): Error {
  const cls = wire.ernieClass ? classes.get(wire.ernieClass) : undefined;
  const e: Error = cls ? Object.create(cls.prototype) : new Error(wire.message);
  const define = (key: string, value: unknown) => Object.defineProperty(e, key, { value, writable: true, configurable: true, enumerable: false });
  define('message', wire.message);
  define('name', wire.name);
  if (wire.stack !== undefined) define('stack', wire.stack);
  if (wire.cause !== undefined) {
    const c = wire.cause;
    define('cause', c !== null && typeof c === 'object' && !Array.isArray(c) ? fromWire(c as WireError) : c);
  }
  Object.assign(e, wire.fields);
  return e;
}

let installed = false;

/** Install the handler in this realm (page or worker); both sides need it. Idempotent. */
export function installErrorTransfer(): void {
  if (installed) return;
  installed = true;
  const base = Comlink.transferHandlers.get('throw')!;
  Comlink.transferHandlers.set('throw', {
    canHandle: base.canHandle,
    serialize(thrown: unknown) {
      const value = (thrown as { value: unknown }).value;
      if (!(value instanceof Error)) return base.serialize(thrown);
      const wire = toWire(value);
      return [{ isError: true, value: { ...wire.fields, ...wire } }, []];
    },
    deserialize(serialized: unknown) {
      const s = serialized as { isError?: boolean; value?: WireError };
      if (s.isError && s.value) throw fromWire(s.value);
      return base.deserialize(serialized);
    },
  });
}
