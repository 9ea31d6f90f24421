// The JSON Schema vocabulary the compiler (json_schema.ts) knows, in one place.

/** Keywords compiled directly. */
export const CORE = new Set([
  '$ref', '$defs', 'definitions', 'type', 'enum', 'const', 'nullable', 'allOf', 'anyOf', 'oneOf',
  'properties', 'required', 'additionalProperties', 'patternProperties', 'minProperties', 'maxProperties',
  'items', 'prefixItems', 'additionalItems', 'minItems', 'maxItems',
  'minLength', 'maxLength', 'pattern', 'format',
  'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'multipleOf',
]);
/** Keywords rewritten into others first (json_schema_not.ts). */
export const LOWERED = new Set(['not', 'if', 'then', 'else', 'dependencies', 'dependentRequired', 'dependentSchemas', 'propertyNames']);
/** JSON Schema keywords that constrain values in ways the decoder does not enforce. */
export const UNSUPPORTED = new Set([
  'contains', 'minContains', 'maxContains', 'unevaluatedProperties', 'unevaluatedItems',
  '$dynamicRef', '$recursiveRef', 'uniqueItems', 'contentSchema',
]);
/**
 * Internal keywords the rewrites produce (never in a user's schema: they start with a NUL):
 * lists of patterns a string must all match / must all not match.
 */
export const PATTERNS = '\u0000patterns';
export const NOT_PATTERNS = '\u0000notPatterns';
/** Internal keyword: a number that is not an integer (what `not: {type: "integer"}` leaves of numbers). */
export const FRACTION = '\u0000fraction';

/** Whether a keyword constrains values (the others are annotations, $defs, or unknown words). */
export const constrains = (k: string): boolean =>
  (CORE.has(k) && k !== '$defs' && k !== 'definitions') || LOWERED.has(k) || UNSUPPORTED.has(k) || k === PATTERNS || k === NOT_PATTERNS || k === FRACTION;

/** The formats JSON Schema (2020-12) defines; a format outside this list is an annotation. */
export const STANDARD_FORMATS = new Set([
  'date-time', 'date', 'time', 'duration', 'email', 'idn-email', 'hostname', 'idn-hostname', 'ipv4', 'ipv6',
  'uri', 'uri-reference', 'iri', 'iri-reference', 'uuid', 'uri-template', 'json-pointer', 'relative-json-pointer', 'regex',
]);
export const TYPES = ['object', 'array', 'string', 'number', 'integer', 'boolean', 'null'] as const;
export type TypeName = (typeof TYPES)[number];
