// The JSON-schema subset the constrained decoder can guarantee, compiled to a small tree the
// grammar (json_grammar.ts) walks:
//   type: object (properties / required / additionalProperties), array (items), string, number,
//   integer, boolean, null, or a list of types; enum; const; nullable; anyOf whose options
//   can be told apart by their first character. Annotations (title, description, default,
//   examples, $schema, $comment...) are ignored.
// Anything that constrains values in a way the grammar does not enforce (minLength, pattern,
// minimum, $ref...) is refused with a SchemaError naming the path, never silently dropped:
// the decoder promises that its output validates.
// Objects are generated with their properties in the order the schema lists them; optional
// ones may be skipped; extra keys are never generated.

export type SchemaNode =
  | { kind: 'any' }
  | { kind: 'object'; props: PropNode[] | null; values: SchemaNode }
  | { kind: 'array'; items: SchemaNode }
  | { kind: 'string' }
  | { kind: 'number' }
  | { kind: 'integer' }
  | { kind: 'boolean' }
  | { kind: 'null' }
  /** JSON texts of the allowed values, as UTF-8. */
  | { kind: 'enum'; values: unknown[]; literals: Uint8Array[] }
  | { kind: 'union'; options: SchemaNode[] };

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

export const ANY: SchemaNode = { kind: 'any' };
export const ANY_OBJECT: SchemaNode = { kind: 'object', props: null, values: ANY };

const ANNOTATIONS = new Set([
  'title', 'description', 'default', 'examples', '$schema', '$id', '$comment', 'deprecated', 'readOnly', 'writeOnly',
  'strict',
]);
const KNOWN = new Set(['type', 'properties', 'required', 'additionalProperties', 'items', 'enum', 'const', 'nullable', 'anyOf']);
const TYPES = ['object', 'array', 'string', 'number', 'integer', 'boolean', 'null'] as const;
type TypeName = (typeof TYPES)[number];

const utf8 = new TextEncoder();

/** Compiles a JSON schema (the subset above). Throws SchemaError. */
export function compileJsonSchema(schema: unknown, path = 'schema'): SchemaNode {
  if (schema === true) return ANY;
  if (schema === false) throw new SchemaError(path, '`false` accepts nothing');
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) {
    throw new SchemaError(path, `must be an object, got ${describe(schema)}`);
  }
  const s = schema as Record<string, unknown>;
  for (const k of Object.keys(s)) {
    if (!KNOWN.has(k) && !ANNOTATIONS.has(k)) {
      throw new SchemaError(path, `keyword "${k}" is not supported by the constrained decoder (supported: ${[...KNOWN].join(', ')})`);
    }
  }
  let node: SchemaNode;
  if (s.anyOf !== undefined) {
    if (!Array.isArray(s.anyOf) || s.anyOf.length === 0) throw new SchemaError(`${path}.anyOf`, 'must be a non-empty list of schemas');
    for (const k of ['type', 'enum', 'const', 'properties', 'items']) {
      if (s[k] !== undefined) throw new SchemaError(path, `"anyOf" cannot be combined with "${k}" here; move it into each option`);
    }
    node = union(s.anyOf.map((o, i) => compileJsonSchema(o, `${path}.anyOf[${i}]`)), path);
  } else if (s.const !== undefined || s.enum !== undefined) {
    let values: unknown[];
    if (s.const !== undefined) {
      if (s.enum !== undefined) throw new SchemaError(path, 'give "enum" or "const", not both');
      values = [s.const];
    } else {
      if (!Array.isArray(s.enum) || s.enum.length === 0) throw new SchemaError(`${path}.enum`, 'must be a non-empty list');
      values = s.enum;
    }
    const types = s.type === undefined ? null : typeList(s.type, path);
    const seen = new Set<string>();
    const kept: unknown[] = [];
    values.forEach((v, i) => {
      if (types && !types.some((t) => matchesType(v, t))) {
        throw new SchemaError(`${path}.enum[${i}]`, `${JSON.stringify(v)} is not of type ${types.join(' | ')}`);
      }
      const text = JSON.stringify(v);
      if (text === undefined) throw new SchemaError(`${path}.enum[${i}]`, 'is not a JSON value');
      if (!seen.has(text)) {
        seen.add(text);
        kept.push(v);
      }
    });
    node = { kind: 'enum', values: kept, literals: kept.map((v) => utf8.encode(JSON.stringify(v))) };
  } else if (s.type !== undefined) {
    const types = typeList(s.type, path);
    node = union(types.map((t) => typed(t, s, path)), path);
  } else if (s.properties !== undefined || s.required !== undefined || s.additionalProperties !== undefined) {
    node = typed('object', s, path);
  } else if (s.items !== undefined) {
    node = typed('array', s, path);
  } else {
    node = ANY;
  }
  if (s.nullable === true) node = union([node, { kind: 'null' }], path);
  else if (s.nullable !== undefined && s.nullable !== false) throw new SchemaError(`${path}.nullable`, 'must be a boolean');
  return node;
}

function typeList(t: unknown, path: string): TypeName[] {
  const list = Array.isArray(t) ? t : [t];
  if (list.length === 0) throw new SchemaError(`${path}.type`, 'must not be an empty list');
  for (const x of list) {
    if (!TYPES.includes(x as TypeName)) throw new SchemaError(`${path}.type`, `unknown type ${JSON.stringify(x)} (expected one of ${TYPES.join(', ')})`);
  }
  return [...new Set(list as TypeName[])];
}

function typed(t: TypeName, s: Record<string, unknown>, path: string): SchemaNode {
  const only = (keys: string[]) => {
    for (const k of ['properties', 'required', 'additionalProperties', 'items']) {
      if (s[k] !== undefined && !keys.includes(k)) throw new SchemaError(path, `"${k}" does not apply to type "${t}"`);
    }
  };
  switch (t) {
    case 'object': {
      only(['properties', 'required', 'additionalProperties']);
      return compileObject(s, path);
    }
    case 'array':
      only(['items']);
      if (Array.isArray(s.items)) throw new SchemaError(`${path}.items`, 'tuple form (a list of schemas) is not supported; give one schema');
      return { kind: 'array', items: s.items === undefined ? ANY : compileJsonSchema(s.items, `${path}.items`) };
    default:
      only([]);
      return { kind: t };
  }
}

function compileObject(s: Record<string, unknown>, path: string): SchemaNode {
  const ap = s.additionalProperties;
  if (ap !== undefined && typeof ap !== 'boolean' && (typeof ap !== 'object' || ap === null || Array.isArray(ap))) {
    throw new SchemaError(`${path}.additionalProperties`, 'must be a boolean or a schema');
  }
  let required: string[] = [];
  if (s.required !== undefined) {
    if (!Array.isArray(s.required) || !s.required.every((r) => typeof r === 'string')) {
      throw new SchemaError(`${path}.required`, 'must be a list of property names');
    }
    required = s.required as string[];
  }
  if (s.properties === undefined) {
    if (required.length > 0) throw new SchemaError(`${path}.required`, `names "${required[0]}", but the schema has no "properties"`);
    const values = ap === undefined || ap === true ? ANY : compileJsonSchema(ap, `${path}.additionalProperties`);
    if (ap === false) return { kind: 'object', props: [], values: ANY };
    return { kind: 'object', props: null, values };
  }
  if (typeof s.properties !== 'object' || s.properties === null || Array.isArray(s.properties)) {
    throw new SchemaError(`${path}.properties`, 'must be an object mapping names to schemas');
  }
  const props: PropNode[] = Object.entries(s.properties as Record<string, unknown>).map(([key, sub]) => ({
    key,
    keyBytes: utf8.encode(JSON.stringify(key)),
    schema: compileJsonSchema(sub, `${path}.properties.${key}`),
    required: required.includes(key),
  }));
  for (const r of required) {
    if (!props.some((p) => p.key === r)) throw new SchemaError(`${path}.required`, `names "${r}", which is not in "properties"`);
  }
  if (ap !== undefined && ap !== false) compileJsonSchema(ap, `${path}.additionalProperties`); // checked, never generated
  return { kind: 'object', props, values: ANY };
}

/** First characters a value of this node can start with. */
export function firstBytes(n: SchemaNode): Set<number> {
  const c = (s: string) => new Set([...s].map((ch) => ch.charCodeAt(0)));
  switch (n.kind) {
    case 'any': return c('{["-0123456789tfn');
    case 'object': return c('{');
    case 'array': return c('[');
    case 'string': return c('"');
    case 'number': case 'integer': return c('-0123456789');
    case 'boolean': return c('tf');
    case 'null': return c('n');
    case 'enum': return new Set(n.literals.map((l) => l[0]!));
    case 'union': return new Set(n.options.flatMap((o) => [...firstBytes(o)]));
  }
}

function union(options: SchemaNode[], path: string): SchemaNode {
  const flat = options.flatMap((o) => (o.kind === 'union' ? o.options : [o]));
  if (flat.some((o) => o.kind === 'any')) return ANY;
  // number covers integer; enums merge.
  let list = flat.some((o) => o.kind === 'number') ? flat.filter((o) => o.kind !== 'integer') : flat;
  const enums = list.filter((o): o is Extract<SchemaNode, { kind: 'enum' }> => o.kind === 'enum');
  if (enums.length > 1) {
    const values: unknown[] = [];
    const seen = new Set<string>();
    for (const e of enums) for (const v of e.values) if (!seen.has(JSON.stringify(v))) { seen.add(JSON.stringify(v)); values.push(v); }
    list = [...list.filter((o) => o.kind !== 'enum'), { kind: 'enum', values, literals: values.map((v) => utf8.encode(JSON.stringify(v))) }];
  }
  const dedup: SchemaNode[] = [];
  for (const o of list) {
    if (o.kind !== 'object' && o.kind !== 'array' && o.kind !== 'enum' && dedup.some((d) => d.kind === o.kind)) continue;
    dedup.push(o);
  }
  if (dedup.length === 1) return dedup[0]!;
  const seen = new Map<number, string>();
  for (const o of dedup) {
    for (const b of firstBytes(o)) {
      const prev = seen.get(b);
      if (prev !== undefined) {
        throw new SchemaError(path, `options "${prev}" and "${o.kind}" can both start with ${JSON.stringify(String.fromCharCode(b))}; the decoder needs options it can tell apart from the first character`);
      }
      seen.set(b, o.kind);
    }
  }
  return { kind: 'union', options: dedup };
}

function matchesType(v: unknown, t: TypeName): boolean {
  switch (t) {
    case 'object': return typeof v === 'object' && v !== null && !Array.isArray(v);
    case 'array': return Array.isArray(v);
    case 'string': return typeof v === 'string';
    case 'number': return typeof v === 'number' && Number.isFinite(v);
    case 'integer': return Number.isInteger(v);
    case 'boolean': return typeof v === 'boolean';
    case 'null': return v === null;
  }
}

function describe(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'a list' : typeof v;
}

/** Checks a parsed value against a compiled schema; returns the first problem, or null. */
export function validateJson(value: unknown, node: SchemaNode, path = '$'): string | null {
  switch (node.kind) {
    case 'any': return null;
    case 'string': case 'number': case 'integer': case 'boolean': case 'null':
      return matchesType(value, node.kind) ? null : `${path}: expected ${node.kind}, got ${JSON.stringify(value)}`;
    case 'enum': {
      const text = JSON.stringify(value);
      return node.values.some((v) => JSON.stringify(v) === text) ? null : `${path}: ${text} is not one of ${JSON.stringify(node.values)}`;
    }
    case 'union': {
      const errors = node.options.map((o) => validateJson(value, o, path));
      return errors.includes(null) ? null : errors[0]!;
    }
    case 'array': {
      if (!Array.isArray(value)) return `${path}: expected an array`;
      for (let i = 0; i < value.length; i++) {
        const e = validateJson(value[i], node.items, `${path}[${i}]`);
        if (e) return e;
      }
      return null;
    }
    case 'object': {
      if (!matchesType(value, 'object')) return `${path}: expected an object`;
      const o = value as Record<string, unknown>;
      if (node.props === null) {
        for (const [k, v] of Object.entries(o)) {
          const e = validateJson(v, node.values, `${path}.${k}`);
          if (e) return e;
        }
        return null;
      }
      for (const p of node.props) {
        if (!(p.key in o)) {
          if (p.required) return `${path}: missing required property "${p.key}"`;
          continue;
        }
        const e = validateJson(o[p.key], p.schema, `${path}.${p.key}`);
        if (e) return e;
      }
      for (const k of Object.keys(o)) if (!node.props.some((p) => p.key === k)) return `${path}: unexpected property "${k}"`;
      return null;
    }
  }
}
