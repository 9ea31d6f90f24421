// The tree a JSON Schema compiles to (json_schema.ts) and the recognizer (json_grammar.ts) walks:
// the node kinds, their rules, and the nodes every compile shares (ANY, NEVER, ANY_OBJECT).

import { compileRegex, complementRegex, RegexError, type Pattern } from './regex';

/** A schema object (or any JSON object) as parsed. */
export type Obj = Record<string, unknown>;

export interface StringRules { minLength: number; maxLength: number; patterns: Pattern[] }
export interface NumberRules {
  min: number; max: number; minExcl: boolean; maxExcl: boolean;
  /** Integer step (integers only), 0: none. */
  multipleOf: number;
  /** Most digits after the point (multipleOf 0.01: 2). */
  maxFrac: number;
  /** Not an integer (numbers only: `not: {type: "integer"}`). */
  fraction: boolean;
}
export interface PatternProp { re: Pattern; schema: SchemaNode; /** Its schema as written (to combine with others). */ raw?: unknown }

export type SchemaNode =
  | { kind: 'any' }
  | {
      kind: 'object';
      props: PropNode[];
      /** Schema of keys outside props and patterns; null: no such keys. */
      extra: SchemaNode | null;
      patterns: PatternProp[];
      /** Declared keys whose schema accepts nothing: never written, and refused as extra keys. */
      forbidden: string[];
      /** Declared properties in any order (else in schema order). */
      anyOrder: boolean;
      /** The schema of a key several patterns match (all of theirs), compiled when first asked; null: refused. */
      combine?: (matching: PatternProp[]) => SchemaNode | null;
      minProps: number;
      maxProps: number;
    }
  /** unique: uniqueItems (its items are scalars: strings keep their text, see uniqueItemsNode). */
  | { kind: 'array'; prefix: SchemaNode[]; items: SchemaNode | null; minItems: number; maxItems: number; unique?: boolean }
  /** keep: the text is remembered (an item of a unique array). */
  | { kind: 'string'; rules: StringRules | null; keep?: boolean }
  | { kind: 'number'; rules: NumberRules | null }
  | { kind: 'integer'; rules: NumberRules | null }
  | { kind: 'boolean' }
  | { kind: 'null' }
  /** JSON texts of the allowed values, as UTF-8. */
  | { kind: 'enum'; values: unknown[]; literals: Uint8Array[] }
  | { kind: 'union'; options: SchemaNode[] }
  /** A $ref, resolved once its target compiled (recursive schemas). */
  | { kind: 'ref'; ref: string; target: { node: SchemaNode | null } };

export interface PropNode {
  key: string;
  /** The key as a JSON string, quotes included, as UTF-8. */
  keyBytes: Uint8Array;
  schema: SchemaNode;
  required: boolean;
}

export class SchemaError extends Error {
  constructor(readonly path: string, message: string) {
    super(`${path}: ${message}`);
    this.name = 'SchemaError';
  }
}

/** A schema's pattern compiled (`negated`: its complement); what regex.ts cannot compile is a SchemaError at `path`. */
export function regex(src: string, path: string, negated = false): Pattern {
  try {
    return negated ? complementRegex(src) : compileRegex(src);
  } catch (e) {
    if (e instanceof RegexError) throw new SchemaError(path, `pattern ${JSON.stringify(src)}: ${e.message}`);
    throw e;
  }
}

/** Deepest nesting of schemas (through properties, items, anyOf, allOf, $ref...) the compiler follows. */
export const MAX_SCHEMA_DEPTH = 100;

/** Throws the SchemaError for a schema nested deeper than MAX_SCHEMA_DEPTH. */
export function checkSchemaDepth(depth: number, path: string): void {
  if (depth > MAX_SCHEMA_DEPTH) throw new SchemaError(path, `schema nested deeper than ${MAX_SCHEMA_DEPTH} levels`);
}

export const ANY: SchemaNode = { kind: 'any' };
/** Matches nothing: `false`, `{"not": {}}`. */
export const NEVER: SchemaNode = { kind: 'union', options: [] };
export const ANY_OBJECT: SchemaNode = { kind: 'object', props: [], extra: ANY, patterns: [], forbidden: [], anyOrder: false, minProps: 0, maxProps: Infinity };

export const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
