// allOf: the subschemas merged into one schema with the same meaning, keyword by keyword.
// Where a merge would change the meaning (two different patterns, two option lists whose
// product is too large...), a SchemaError names allOf and the keyword.

import { SchemaError, isObj, checkSchemaDepth, regex, type Obj } from './json_schema_types';
import { canon } from './json_schema_validate';
import { NOT_PATTERNS, PATTERNS } from './json_schema_keywords';
import { lower, type LowerContext } from './json_schema_not';

/** What a merge yields for parts no value satisfies together (the compiler reads it as nothing). */
const NOTHING: Obj = { not: {} };

const MIN_KEYS = ['minLength', 'minItems', 'minProperties', 'minimum'];
const MAX_KEYS = ['maxLength', 'maxItems', 'maxProperties', 'maximum'];
/** Largest anyOf a merge may produce by distributing option lists over each other. */
const MAX_PRODUCT = 128;

/** `base` (the schema's own keywords next to allOf) merged with each part. */
export function mergeAll(parts: unknown[], path: string, ctx: LowerContext, depth: number, base: Obj = {}): Obj {
  const low = lower(base, path, ctx, depth);
  if (low === false) return NOTHING;
  let acc: Obj = low === true ? {} : low;
  if (acc !== base) acc = deref(acc, path, ctx, depth);
  parts.forEach((p, i) => {
    acc = merge(acc, deref(p, `${path}[${i}]`, ctx, depth), `${path}[${i}]`, ctx, depth);
  });
  return acc;
}

/** A schema with its top-level $ref replaced by the target (merged with its siblings). */
function deref(s: unknown, path: string, ctx: LowerContext, depth: number): Obj {
  checkSchemaDepth(depth, path);
  if (s === true) return {};
  if (s === false) return NOTHING;
  if (!isObj(s)) throw new SchemaError(path, 'must be a schema object');
  let out = s;
  if (typeof s.$ref === 'string') {
    const { $ref, ...rest } = s;
    const target = deref(ctx.resolve($ref as string, path), `${path}<${$ref}>`, ctx, depth + 1);
    out = merge(target, ctx.refAlone ? {} : rest, path, ctx, depth + 1);
  }
  // not, if/then/else, dependencies as allOf / anyOf, merged like the rest.
  const low = lower(out, path, ctx, depth);
  if (low === false) return NOTHING;
  out = low === true ? {} : low;
  if (Array.isArray(out.allOf)) {
    const { allOf, ...rest } = out;
    out = mergeAll(allOf as unknown[], `${path}.allOf`, ctx, depth + 1, rest);
  }
  return out;
}

function merge(a: Obj, b: Obj, path: string, ctx: LowerContext, depth: number): Obj {
  const out: Obj = { ...a };
  const both = (x: unknown, y: unknown) => ({ allOf: [x, y] });
  for (const [k, v] of Object.entries(b)) {
    if (!(k in out)) {
      out[k] = v;
      continue;
    }
    const u = out[k];
    if (canon(u) === canon(v)) continue;
    if (MIN_KEYS.includes(k) && typeof u === 'number' && typeof v === 'number') out[k] = Math.max(u, v);
    else if (MAX_KEYS.includes(k) && typeof u === 'number' && typeof v === 'number') out[k] = Math.min(u, v);
    else if (k === 'type') {
      const ta = new Set(Array.isArray(u) ? u : [u]);
      const tb = new Set(Array.isArray(v) ? v : [v]);
      const t = [...ta].filter((x) => tb.has(x) || (x === 'integer' && tb.has('number')));
      for (const x of tb) if (x === 'integer' && ta.has('number') && !t.includes('integer')) t.push('integer');
      if (t.length === 0) return NOTHING; // no type in common: no value satisfies both
      out[k] = t;
    } else if ((k === 'required' || k === PATTERNS || k === NOT_PATTERNS) && Array.isArray(u) && Array.isArray(v)) out[k] = [...new Set([...u, ...v])];
    else if (k === 'pattern') out[PATTERNS] = [...((out[PATTERNS] as string[] | undefined) ?? []), v]; // both must match
    else if (k === 'not') out[k] = { anyOf: [u, v] }; // neither: not (either)
    else if (k === 'const') return NOTHING; // two different values
    else if (k === 'enum' && Array.isArray(u) && Array.isArray(v)) {
      const keep = new Set(v.map(canon));
      out[k] = u.filter((x) => keep.has(canon(x)));
      if ((out[k] as unknown[]).length === 0) return NOTHING; // no value in both lists
    } else if ((k === 'properties' || k === 'patternProperties' || k === '$defs' || k === 'definitions') && isObj(u) && isObj(v)) {
      const m: Obj = { ...u };
      for (const [name, s] of Object.entries(v)) m[name] = name in m && k !== '$defs' && k !== 'definitions' ? both(m[name], s) : s;
      out[k] = m;
    } else if ((k === 'items' && !Array.isArray(u) && !Array.isArray(v)) || k === 'additionalProperties' || k === 'additionalItems') {
      out[k] = u === false || v === false ? false : both(u, v);
    } else if (k === 'anyOf' || k === 'oneOf') {
      const ua = u as unknown[], va = v as unknown[];
      if (!Array.isArray(ua) || !Array.isArray(va)) throw new SchemaError(`${path}.${k}`, 'must be a list of schemas');
      if (ua.length * va.length > MAX_PRODUCT) throw new SchemaError(`${path}.${k}`, `allOf parts both have "${k}" with too many options to combine`);
      out[k] = ua.flatMap((x) => va.map((y) => both(x, y)));
    } else if (k === 'exclusiveMinimum' || k === 'exclusiveMaximum') {
      if (typeof u !== 'number' || typeof v !== 'number') throw new SchemaError(`${path}.${k}`, `allOf parts give different "${k}"`);
      out[k] = k === 'exclusiveMinimum' ? Math.max(u, v) : Math.min(u, v);
    } else if (k === 'title' || k === 'description' || k === 'default' || k === 'examples' || k === '$comment' || k === '$id' || k === '$schema') {
      continue; // annotations: the first one stays
    } else {
      throw new SchemaError(`${path}.${k}`, `allOf parts give different "${k}", which cannot be merged`);
    }
  }
  // additionalProperties of one part also covers the other part's properties it does not declare.
  restrictExtras(out, a, b);
  restrictExtras(out, b, a);
  return out;
}

function restrictExtras(out: Obj, owner: Obj, other: Obj): void {
  const ap = owner.additionalProperties;
  if (ap === undefined || ap === true) return;
  const own = isObj(owner.properties) ? owner.properties : {};
  const pats = isObj(owner.patternProperties) ? Object.keys(owner.patternProperties) : [];
  // The other part's patterns would let keys the owner's additionalProperties covers skip it.
  if (isObj(other.patternProperties) && Object.keys(other.patternProperties).some((p) => !pats.includes(p))) {
    throw new SchemaError('allOf', 'additionalProperties of one allOf part next to patternProperties of another is not supported');
  }
  const matches = pats.map((p) => regex(p, 'allOf.patternProperties'));
  const props = isObj(out.properties) ? { ...out.properties } : {};
  const names = [...Object.keys(isObj(other.properties) ? other.properties : {}), ...(Array.isArray(other.required) ? (other.required as string[]) : [])];
  for (const name of new Set(names)) {
    if (name in own) continue;
    if (matches.some((re) => re.test(name))) continue; // the owner's pattern applies to it (merged), not its additionalProperties
    if (ap === false) {
      delete props[name]; // required too: no object is valid (the compiler sees a required key nothing accepts)
    } else props[name] = name in props ? { allOf: [props[name], ap] } : ap;
  }
  if (Object.keys(props).length > 0 || isObj(out.properties)) out.properties = props;
}
