// Whether two compiled schemas can never accept the same value. oneOf ("exactly one option")
// is decoded as anyOf, which is only the same thing when its options exclude each other: the
// compiler asks this of every pair and refuses the rest. Conservative: "false" means "could
// not prove it", never "they overlap". implies() (below) is its counterpart for inclusion, as
// conservative: what the negation of "items" needs to drop "some item fails it".

import type { SchemaNode } from './json_schema_types';
import { canon, numberOk, validateJson, valueSchema } from './json_schema_validate';

type Kind = 'object' | 'array' | 'string' | 'number' | 'boolean' | 'null';
const ALL: readonly Kind[] = ['object', 'array', 'string', 'number', 'boolean', 'null'];

function kindOf(v: unknown): Kind {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  const t = typeof v;
  return t === 'object' ? 'object' : (t as Kind);
}

/** The JSON kinds a node accepts (integer counts as number). */
function kinds(n: SchemaNode, depth: number): Set<Kind> {
  switch (n.kind) {
    case 'any': return new Set(ALL);
    case 'ref': return n.target.node && depth < 16 ? kinds(n.target.node, depth + 1) : new Set(ALL);
    case 'union': {
      const out = new Set<Kind>();
      for (const o of n.options) for (const k of kinds(o, depth + 1)) out.add(k);
      return out;
    }
    case 'enum': return new Set(n.values.map(kindOf));
    case 'integer': return new Set(['number']);
    default: return new Set([n.kind]);
  }
}

const deref = (n: SchemaNode): SchemaNode => {
  for (let i = 0; n.kind === 'ref' && n.target.node && i < 16; i++) n = n.target.node;
  return n;
};

/** True when no value satisfies both `a` and `b`. */
export function disjoint(a: SchemaNode, b: SchemaNode, depth = 0): boolean {
  if (depth > 16) return false;
  a = deref(a);
  b = deref(b);
  if (a.kind === 'ref' || b.kind === 'ref') return false; // unresolved yet (a recursive schema)
  if (a.kind === 'union') return a.options.every((o) => disjoint(o, b, depth + 1));
  if (b.kind === 'union') return b.options.every((o) => disjoint(a, o, depth + 1));
  const ka = kinds(a, 0);
  const kb = kinds(b, 0);
  if (![...ka].some((k) => kb.has(k))) return true;
  if (a.kind === 'enum' && b.kind === 'enum') {
    const texts = new Set(a.values.map(canon));
    return !b.values.some((v) => texts.has(canon(v)));
  }
  if (a.kind === 'enum') return a.values.every((v) => validateJson(v, b) !== null);
  if (b.kind === 'enum') return b.values.every((v) => validateJson(v, a) !== null);
  if (a.kind === 'object' && b.kind === 'object') return requiredExcludes(a, b, depth) || requiredExcludes(b, a, depth);
  if (a.kind === 'array' && b.kind === 'array') return arraysExclude(a, b, depth);
  if ((a.kind === 'number' || a.kind === 'integer') && (b.kind === 'number' || b.kind === 'integer')) return numbersExclude(a, b);
  return false;
}

type ArrayNode = Extract<SchemaNode, { kind: 'array' }>;
type NumberNode = Extract<SchemaNode, { kind: 'number' | 'integer' }>;

/** Lengths that cannot agree, or an item both must have whose schemas exclude each other. */
function arraysExclude(a: ArrayNode, b: ArrayNode, depth: number): boolean {
  if (a.minItems > b.maxItems || b.minItems > a.maxItems) return true;
  const both = Math.min(a.minItems, b.minItems) > 0 ? Math.max(a.minItems, b.minItems) : 0;
  for (let i = 0; i < both; i++) {
    const x = a.prefix[i] ?? a.items, y = b.prefix[i] ?? b.items;
    if (x === null || y === null || disjoint(x, y, depth + 1)) return true;
  }
  return false;
}

/** Ranges that do not meet, or an integer against numbers with a fraction. */
function numbersExclude(a: NumberNode, b: NumberNode): boolean {
  if ((a.kind === 'integer' && b.rules?.fraction) || (b.kind === 'integer' && a.rules?.fraction)) return true;
  const ra = a.rules, rb = b.rules;
  if (!ra || !rb) return false;
  const below = (x: NonNullable<NumberNode['rules']>, y: NonNullable<NumberNode['rules']>) => x.max < y.min || (x.max === y.min && (x.maxExcl || y.minExcl));
  return below(ra, rb) || below(rb, ra);
}

type ObjectNode = Extract<SchemaNode, { kind: 'object' }>;

/** A key `a` requires that `b` forbids, or whose values in the two cannot agree. */
function requiredExcludes(a: ObjectNode, b: ObjectNode, depth: number): boolean {
  return a.props.some((p) => {
    if (!p.required) return false;
    const other = valueSchema(b, p.key);
    if (other !== null) return disjoint(p.schema, other, depth + 1);
    // null also means "several patternProperties match", which JSON Schema allows: only a
    // key no pattern matches, outside additionalProperties, is surely refused.
    return b.forbidden.includes(p.key) || (b.extra === null && !b.patterns.some((x) => x.re.test(p.key)));
  });
}

/**
 * True when every value `a` accepts, `b` accepts too (conservative like disjoint: "false" means
 * "could not prove it"): the same node, `b` any, `a` listed values `b` validates, a union
 * whose every option does, or a scalar type against the same type without rules.
 */
export function implies(a: SchemaNode, b: SchemaNode, depth = 0): boolean {
  if (depth > 16) return false;
  a = deref(a);
  b = deref(b);
  if (a === b || b.kind === 'any') return true;
  if (a.kind === 'ref' || b.kind === 'ref') return false; // unresolved yet (a recursive schema)
  if (a.kind === 'union') return a.options.every((o) => implies(o, b, depth + 1));
  if (a.kind === 'enum') return a.values.every((v) => validateJson(v, b) === null);
  if (b.kind === 'union') return b.options.some((o) => implies(a, o, depth + 1));
  switch (a.kind) {
    case 'boolean': case 'null': return b.kind === a.kind;
    case 'string': return b.kind === 'string' && b.rules === null;
    case 'integer': return (b.kind === 'integer' || b.kind === 'number') && b.rules === null;
    case 'number': {
      if (b.kind !== 'number' && b.kind !== 'integer') return false;
      if (b.kind === 'number' && b.rules === null) return true;
      // One number in any spelling (an enum's number, 'open'), against integers or a range.
      const r = a.rules;
      if (!r || r.min !== r.max || r.minExcl || r.maxExcl) return false;
      return b.kind === 'integer' ? Number.isInteger(r.min) && (b.rules === null || numberOk(r.min, b.rules)) : b.rules !== null && numberOk(r.min, b.rules);
    }
    default: return false;
  }
}
