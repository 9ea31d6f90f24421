// Checks a parsed JSON value against a compiled schema (SchemaNode), the way a validator reads
// the schema: the reference the recognizer's output is tested against, and what the compiler
// uses to filter enum values and the oneOf checks (json_schema_disjoint.ts) use to test values.

import { isObj, type NumberRules, type SchemaNode } from './json_schema_types';
import type { TypeName } from './json_schema_keywords';

/** A canonical JSON text (object keys sorted), for comparing values. */
export function canon(v: unknown): string {
  if (Array.isArray(v)) return '[' + v.map(canon).join(',') + ']';
  if (isObj(v)) return '{' + Object.keys(v).sort().map((k) => JSON.stringify(k) + ':' + canon(v[k])).join(',') + '}';
  return JSON.stringify(v);
}

function matchesType(v: unknown, t: TypeName): boolean {
  switch (t) {
    case 'object': return isObj(v);
    case 'array': return Array.isArray(v);
    case 'string': return typeof v === 'string';
    case 'number': return typeof v === 'number' && Number.isFinite(v);
    case 'integer': return Number.isInteger(v);
    case 'boolean': return typeof v === 'boolean';
    case 'null': return v === null;
  }
}

/** Digits after the point of a double's shortest decimal form (0.07: 2, 1.5e-7: 8). */
function fractionDigits(x: number): number {
  const [m, e] = String(Math.abs(x)).split('e');
  return Math.max(0, (m!.split('.')[1] ?? '').length - Number(e ?? 0));
}

/** Whether a number satisfies numeric rules. */
export function numberOk(x: number, r: NumberRules): boolean {
  if (r.fraction && Number.isInteger(x)) return false;
  if (r.minExcl ? !(x > r.min) : !(x >= r.min)) return false;
  if (r.maxExcl ? !(x < r.max) : !(x <= r.max)) return false;
  if (r.maxFrac !== Infinity && fractionDigits(x) > r.maxFrac) return false;
  return r.multipleOf === 0 || x % r.multipleOf === 0;
}

/** Checks a parsed value against a compiled schema; returns the first problem, or null. */
export function validateJson(value: unknown, node: SchemaNode, path = '$', depth = 0): string | null {
  if (depth > 200) return `${path}: nested too deep`;
  switch (node.kind) {
    case 'any': return null;
    case 'ref': return node.target.node ? validateJson(value, node.target.node, path, depth + 1) : null;
    case 'boolean': case 'null':
      return matchesType(value, node.kind) ? null : `${path}: expected ${node.kind}, got ${JSON.stringify(value)}`;
    case 'number': case 'integer':
      if (!matchesType(value, node.kind)) return `${path}: expected ${node.kind}, got ${JSON.stringify(value)}`;
      return node.rules && !numberOk(value as number, node.rules) ? `${path}: ${value} is out of range` : null;
    case 'string': {
      if (typeof value !== 'string') return `${path}: expected string, got ${JSON.stringify(value)}`;
      const r = node.rules;
      if (!r) return null;
      const n = [...value].length;
      if (n < r.minLength || n > r.maxLength) return `${path}: length ${n} outside [${r.minLength}, ${r.maxLength}]`;
      for (const re of r.patterns) if (!re.test(value)) return `${path}: ${JSON.stringify(value)} does not match /${re.source}/`;
      return null;
    }
    case 'enum': {
      const text = canon(value);
      return node.values.some((v) => canon(v) === text) ? null : `${path}: ${JSON.stringify(value)} is not one of ${JSON.stringify(node.values)}`;
    }
    case 'union': {
      if (node.options.length === 0) return `${path}: no value is allowed here`;
      const errors = node.options.map((o) => validateJson(value, o, path, depth + 1));
      return errors.includes(null) ? null : errors[0]!;
    }
    case 'array': {
      if (!Array.isArray(value)) return `${path}: expected an array`;
      if (value.length < node.minItems || value.length > node.maxItems) return `${path}: ${value.length} items outside [${node.minItems}, ${node.maxItems}]`;
      for (let i = 0; i < value.length; i++) {
        const s = i < node.prefix.length ? node.prefix[i]! : node.items;
        if (!s) return `${path}: too many items`;
        const e = validateJson(value[i], s, `${path}[${i}]`, depth + 1);
        if (e) return e;
      }
      if (node.unique && new Set(value.map(canon)).size < value.length) return `${path}: items are not unique`;
      return null;
    }
    case 'object': {
      if (!isObj(value)) return `${path}: expected an object`;
      const keys = Object.keys(value);
      if (keys.length < node.minProps || keys.length > node.maxProps) return `${path}: ${keys.length} properties outside [${node.minProps}, ${node.maxProps}]`;
      for (const p of node.props) if (p.required && !Object.hasOwn(value, p.key)) return `${path}: missing required property "${p.key}"`;
      for (const k of keys) {
        const s = valueSchema(node, k);
        if (!s) return `${path}: unexpected property "${k}"`;
        const e = validateJson(value[k], s, `${path}.${k}`, depth + 1);
        if (e) return e;
      }
      return null;
    }
  }
}

/** The schema of key `k`'s value in an object node, or null when the key is not allowed. */
export function valueSchema(o: Extract<SchemaNode, { kind: 'object' }>, k: string): SchemaNode | null {
  const p = o.props.find((x) => x.key === k);
  if (p) return p.schema;
  if (o.forbidden.includes(k)) return null;
  const m = o.patterns.filter((x) => x.re.test(k));
  if (m.length === 1) return m[0]!.schema;
  if (m.length > 1) return o.combine?.(m) ?? null; // several patterns: all of theirs (refused when they cannot be combined)
  return o.extra;
}
