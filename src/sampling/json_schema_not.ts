// Keywords rewritten into the ones the compiler enforces (json_schema.ts), with the same meaning:
//   not            the schema of the values the subschema refuses (negate(), below);
//   if/then/else   anyOf [allOf [if, then], allOf [not if, else]];
//   dependentRequired {a: [b]}, dependentSchemas {a: S}, draft-4 dependencies (either form):
//                  anyOf [an object without a, an object with a (and b / matching S)];
//   propertyNames  a pattern the keys must match (a pattern, enum, const, length or format, or
//                  an anyOf of them): declared keys that fail it forbidden, other keys allowed
//                  through patternProperties {that pattern: additionalProperties}.
// negate() follows De Morgan: a schema is the allOf of its keywords, so its negation is the
// anyOf of each keyword's negation, and a keyword only constrains values of its own type (not
// minLength 3 is "a string shorter than 3"). A keyword whose negation has no exact form in the
// supported vocabulary (multipleOf, items as one schema, propertyNames, ...) is a SchemaError
// naming it and its path, never an approximation.

import { SchemaError, isObj, checkSchemaDepth, regex, type SchemaNode, type Obj } from './json_schema_types';
import { constrains, FRACTION, NOT_PATTERNS, PATTERNS, STANDARD_FORMATS, TYPES } from './json_schema_keywords';
import { FORMATS } from './json_formats';
import { literalsSource } from './regex';

/** What is known of the values a negation is used on (it is then exact only together with that). */
export interface Within {
  /** A closed object's keys: "a key outside s's properties" is one of these. */
  keys?: readonly string[];
  /** What is known of the value at a key of these objects (those that have it). */
  value?(key: string): Within;
  /** Keys every object has: "a key outside s's properties" is there when one of these is outside them. */
  required?: readonly string[];
  /** Every item's schema (an array node): "an item that fails S" is any item when S excludes it, none when S includes it. */
  items?: SchemaNode;
}

export interface LowerContext {
  /** Whether no value satisfies both the compiled node and the schema (compiled on the way). */
  excludes?(node: SchemaNode, schema: unknown, path: string, depth: number): boolean;
  /** Whether every value of the compiled node satisfies the schema (compiled on the way). */
  includes?(node: SchemaNode, schema: unknown, path: string, depth: number): boolean;
  resolve(ref: string, path: string): unknown;
  /** Drafts 3 to 7: a $ref replaces its siblings. */
  refAlone: boolean;
  /** Draft 3 to 6 (named by $schema): if/then/else are not keywords there, only annotations. */
  noConditionals: boolean;
}

/** Most numbers a `not: {enum}` may exclude (each one splits the number line once more). */
const MAX_NOT_NUMBERS = 16;
/** Most options of a negated oneOf (its negation lists every pair). */
const MAX_NOT_ONEOF = 8;

const refuse = (path: string, what: string): never => {
  throw new SchemaError(path, `"not" of ${what} is not supported (its negation has no exact form the decoder enforces)`);
};

/**
 * `s` with not / if-then-else / dependencies rewritten as allOf / anyOf of supported keywords,
 * or `s` itself when it has none of them. `false` when the rewrite accepts nothing.
 */
export function lower(s: Obj, path: string, ctx: LowerContext, depth: number): Obj | boolean {
  if ('propertyNames' in s) s = propertyNames(s, path, ctx, depth);
  const conditional = !ctx.noConditionals && ('if' in s || 'then' in s || 'else' in s);
  if (!('not' in s || conditional || 'dependencies' in s || 'dependentRequired' in s || 'dependentSchemas' in s)) return s;
  const rest: Obj = {};
  const parts: unknown[] = [];
  for (const [k, v] of Object.entries(s)) {
    if (k === 'not') parts.push(negate(v, `${path}.not`, ctx, depth + 1));
    else if ((k === 'if' || k === 'then' || k === 'else') && ctx.noConditionals) continue; // annotations before draft 7
    else if (k === 'if') {
      const then = s.then ?? true, otherwise = s.else ?? true;
      parts.push({ anyOf: [{ allOf: [v, then] }, { allOf: [negate(v, `${path}.if`, ctx, depth + 1), otherwise] }] });
    } else if (k === 'then' || k === 'else') continue; // without "if" they mean nothing; with it, above
    else if (k === 'dependentRequired' || k === 'dependentSchemas' || k === 'dependencies') {
      if (!isObj(v)) throw new SchemaError(`${path}.${k}`, 'must be an object mapping property names to dependencies');
      for (const [key, dep] of Object.entries(v)) parts.push(dependency(key, dep, `${path}.${k}.${key}`, k));
    } else rest[k] = v;
  }
  if (parts.includes(false)) return false;
  const kept = parts.filter((p) => p !== true && !(isObj(p) && Object.keys(p).length === 0));
  if (kept.length === 0) return rest;
  return { ...rest, allOf: Array.isArray(rest.allOf) ? [...rest.allOf, ...kept] : kept };
}

/** `s` with propertyNames as properties / patternProperties / additionalProperties. */
function propertyNames(s: Obj, path: string, ctx: LowerContext, depth: number): Obj {
  const { propertyNames: names, ...rest } = s;
  const p = `${path}.propertyNames`;
  const re = keyPattern(names, p, ctx, depth + 1);
  if (re === null) return rest;
  if (re === false) return { ...rest, maxProperties: 0 }; // no name is allowed: only {}
  if (rest.patternProperties !== undefined) throw new SchemaError(p, 'is not supported next to patternProperties');
  const test = regex(re, p);
  const props: Obj = { ...(isObj(rest.properties) ? rest.properties : {}) };
  for (const k of Object.keys(props)) if (!test.test(k)) props[k] = false;
  if (Array.isArray(rest.required)) for (const k of rest.required) if (typeof k === 'string' && !test.test(k)) props[k] = false;
  const ap = rest.additionalProperties;
  if (ap === false) return { ...rest, properties: props };
  const trivial = ap === undefined || ap === true || (isObj(ap) && !Object.keys(ap).some(constrains));
  // patternProperties also apply to declared keys: only a trivial schema may be shared with them.
  if (!trivial && Object.entries(props).some(([k, v]) => v !== false && test.test(k))) {
    throw new SchemaError(p, 'is supported with additionalProperties as a schema only when no declared property name matches it');
  }
  return { ...rest, properties: props, patternProperties: { [re]: trivial ? true : ap }, additionalProperties: false };
}

/** The pattern property names must match: null (any name), false (none), or a pattern source. */
function keyPattern(n: unknown, path: string, ctx: LowerContext, depth: number): string | null | false {
  checkSchemaDepth(depth, path);
  if (n === true) return null;
  if (n === false) return false;
  if (!isObj(n)) throw new SchemaError(path, 'must be a schema (an object or a boolean)');
  const keys = Object.keys(n).filter(constrains);
  if (keys.length === 1 && keys[0] === '$ref' && typeof n.$ref === 'string') return keyPattern(ctx.resolve(n.$ref, path), `${path}<${n.$ref}>`, ctx, depth + 1);
  const sources: string[] = [];
  for (const k of keys) {
    const v = n[k];
    if (k === 'type') {
      const t = typeof v === 'string' ? [v] : v;
      if (!Array.isArray(t) || !t.includes('string')) return false; // names are strings
    } else if (k === 'pattern' && typeof v === 'string') sources.push(v);
    else if (k === 'enum' || k === 'const') {
      const strings = (k === 'const' ? [v] : Array.isArray(v) ? v : []).filter((x): x is string => typeof x === 'string');
      if (strings.length === 0) return false;
      sources.push(literalsSource(strings));
    } else if (k === 'minLength' || k === 'maxLength') {
      if (k === 'maxLength' && 'minLength' in n) continue; // with minLength
      const lo = count(n.minLength ?? 0, `${path}.minLength`), hi = n.maxLength === undefined ? '' : count(n.maxLength, `${path}.maxLength`);
      sources.push(`^[\\s\\S]{${lo},${hi}}$`);
    } else if (k === 'format' && typeof v === 'string') {
      if (FORMATS[v] !== undefined) sources.push(FORMATS[v]);
      else if (STANDARD_FORMATS.has(v)) throw new SchemaError(`${path}.format`, `format ${JSON.stringify(v)} is not supported`);
    } else if (k === 'anyOf' && Array.isArray(v)) {
      const alts = v.map((x, i) => keyPattern(x, `${path}.anyOf[${i}]`, ctx, depth + 1));
      if (alts.includes(null)) continue; // one option takes any name
      const some = alts.filter((a): a is string => a !== false);
      if (some.length === 0) return false;
      sources.push(some.map((a) => `(?:${a})`).join('|'));
    } else throw new SchemaError(`${path}.${k}`, `keyword "${k}" in propertyNames is not supported (supported there: pattern, enum, const, minLength/maxLength, format, anyOf of those)`);
  }
  if (sources.length > 1) throw new SchemaError(path, 'propertyNames with more than one of pattern / enum / length / format is not supported');
  return sources[0] ?? null;
}

function dependency(key: string, dep: unknown, path: string, k: string): unknown {
  // Dependencies constrain objects only: other values pass, as do objects without the key
  // ("properties" alone constrains only objects too; 'closed' generates objects from it).
  const without = [{ properties: { [key]: false } }];
  if (Array.isArray(dep) && k !== 'dependentSchemas') {
    if (!dep.every((d) => typeof d === 'string')) throw new SchemaError(path, 'must be a list of property names');
    if (dep.length === 0) return true;
    return { anyOf: [...without, { type: 'object', required: [key, ...dep] }] };
  }
  if (k === 'dependentRequired') throw new SchemaError(path, 'must be a list of property names');
  if (dep === true || (isObj(dep) && !Object.keys(dep).some(constrains))) return true;
  return { anyOf: [...without, { allOf: [{ type: 'object', required: [key] }, dep] }] };
}

/**
 * A schema accepting exactly the JSON values `s` refuses; `within` what is known of the values
 * where it is used (the negation is then exact for those values only).
 */
export function negate(s: unknown, path: string, ctx: LowerContext, depth: number, within?: Within): unknown {
  checkSchemaDepth(depth, path);
  if (s === true) return false;
  if (s === false) return true;
  if (!isObj(s)) throw new SchemaError(path, 'must be a schema (an object or a boolean)');
  if (typeof s.$ref === 'string' && ctx.refAlone) return negate(ctx.resolve(s.$ref, path), `${path}<${s.$ref}>`, ctx, depth + 1, within);
  if (s.nullable === true) {
    const { nullable, ...rest } = s;
    void nullable;
    return { allOf: [negate(rest, path, ctx, depth + 1, within), { type: TYPES.filter((t) => t !== 'null') }] };
  }
  const options: unknown[] = [];
  const keys = Object.keys(s).filter((k) => constrains(k) && !(ctx.noConditionals && (k === 'if' || k === 'then' || k === 'else')));
  const has = (k: string) => keys.includes(k);
  for (const k of keys) {
    const v = s[k];
    const p = `${path}.${k}`;
    switch (k) {
      case 'type': options.push(notType(v, p)); break;
      case 'enum': case 'const': options.push(notValues(k === 'const' ? [v] : v, p)); break;
      case 'pattern':
        if (typeof v !== 'string') throw new SchemaError(p, 'must be a string');
        options.push({ type: 'string', [NOT_PATTERNS]: [v] });
        break;
      case 'format': {
        const f = typeof v === 'string' ? FORMATS[v] : undefined;
        if (f !== undefined) options.push({ type: 'string', [NOT_PATTERNS]: [f] });
        else if (typeof v === 'string' && STANDARD_FORMATS.has(v)) refuse(p, `format ${JSON.stringify(v)}`);
        break; // an unknown format is an annotation: it refuses nothing
      }
      case PATTERNS: for (const x of v as string[]) options.push({ type: 'string', [NOT_PATTERNS]: [x] }); break;
      case NOT_PATTERNS: for (const x of v as string[]) options.push({ type: 'string', pattern: x }); break;
      case FRACTION: if (v === true) options.push({ type: 'integer' }); break; // the integers (written without a fraction)
      case 'minLength': case 'minItems': case 'minProperties': {
        const n = count(v, p);
        const type = k === 'minLength' ? 'string' : k === 'minItems' ? 'array' : 'object';
        if (n > 0) options.push({ type, [k.replace('min', 'max')]: n - 1 });
        break;
      }
      case 'maxLength': case 'maxItems': case 'maxProperties': {
        const type = k === 'maxLength' ? 'string' : k === 'maxItems' ? 'array' : 'object';
        options.push({ type, [k.replace('max', 'min')]: count(v, p) + 1 });
        break;
      }
      case 'minimum': case 'maximum': case 'exclusiveMinimum': case 'exclusiveMaximum': {
        const low = k === 'minimum' || k === 'exclusiveMinimum';
        if (typeof v === 'boolean') {
          if (!has(low ? 'minimum' : 'maximum')) break; // draft 4: a flag on minimum/maximum, alone it means nothing
          continue; // read with minimum / maximum
        }
        if (typeof v !== 'number') throw new SchemaError(p, 'must be a number');
        // Draft 4's exclusiveMinimum: true makes minimum exclusive.
        const excl = k.startsWith('exclusive') || s[low ? 'exclusiveMinimum' : 'exclusiveMaximum'] === true;
        // x >= v refuses x < v (exclusiveMaximum v); x > v refuses x <= v (maximum v)...
        const bound = low ? (excl ? 'maximum' : 'exclusiveMaximum') : excl ? 'minimum' : 'exclusiveMinimum';
        options.push({ type: 'number', [bound]: v });
        break;
      }
      case 'required': {
        if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw new SchemaError(p, 'must be a list of property names');
        for (const r of v as string[]) options.push({ type: 'object', properties: { [r]: false } });
        break;
      }
      case 'properties': case 'additionalProperties': {
        if (k === 'additionalProperties' && has('properties')) break; // with properties
        const props = s.properties ?? {};
        if (!isObj(props)) throw new SchemaError(`${path}.properties`, 'must be an object mapping names to schemas');
        const ap = s.additionalProperties;
        if (has('patternProperties')) refuse(`${path}.patternProperties`, '"patternProperties"');
        if (ap !== undefined && ap !== true && !(isObj(ap) && !Object.keys(ap).some(constrains))) {
          // Some key outside the declared ones whose value fails additionalProperties: exact
          // only when the keys a value may have are known (`within`: a closed object's keys), or
          // when no value passes it and a key every object has is outside them (then any object).
          const outside = within?.keys ? undefined : within?.required?.find((k) => !Object.hasOwn(props, k));
          if (outside !== undefined && negate(ap, `${path}.additionalProperties`, ctx, depth + 1) === true) options.push({ type: 'object' });
          else if (!within?.keys) refuse(`${path}.additionalProperties`, '"additionalProperties" (some key outside the declared ones)');
          for (const key of within?.keys ?? []) {
            if (Object.hasOwn(props, key)) continue;
            const n = negate(ap, `${path}.additionalProperties`, ctx, depth + 1, within?.value?.(key));
            if (n !== false) options.push({ type: 'object', required: [key], properties: { [key]: n } });
          }
        }
        for (const [name, sub] of Object.entries(props)) {
          if (within?.keys && !within.keys.includes(name)) continue; // a key these values cannot have
          const n = negate(sub, `${path}.properties.${name}`, ctx, depth + 1, within?.value?.(name));
          if (n !== false) options.push({ type: 'object', required: [name], properties: { [name]: n } });
        }
        break;
      }
      case 'patternProperties':
        if (!has('properties')) refuse(p, '"patternProperties"');
        break;
      case 'items': case 'prefixItems': case 'additionalItems': {
        if (k === 'additionalItems' && !Array.isArray(s.items)) break; // alone it means nothing
        if (k === 'items' && has('prefixItems')) break; // with prefixItems, below
        if (k === 'additionalItems') break; // with items as a list, below
        const tuple = k === 'prefixItems' || Array.isArray(v);
        if (!tuple) {
          if (v === false) options.push({ type: 'array', minItems: 1 });
          else if (v !== true && !(isObj(v) && !Object.keys(v).some(constrains))) {
            // "Some item fails S" is "some item" where every item is known to fail it.
            if (within?.items && ctx.excludes?.(within.items, v, p, depth + 1)) options.push({ type: 'array', minItems: 1 });
            else if (within?.items && ctx.includes?.(within.items, v, p, depth + 1)) { /* no item fails it */ }
            else refuse(p, '"items" as one schema (an array with some item that fails it)');
          }
          break;
        }
        const list = v as unknown[];
        list.forEach((sub, i) => {
          const n = negate(sub, `${p}[${i}]`, ctx, depth + 1);
          if (n !== false) options.push({ type: 'array', minItems: i + 1, prefixItems: [...list.slice(0, i).map(() => true), n] });
        });
        const after = k === 'prefixItems' ? s.items : s.additionalItems;
        if (after === false) options.push({ type: 'array', minItems: list.length + 1 });
        else if (after !== undefined && after !== true && !(isObj(after) && !Object.keys(after).some(constrains))) {
          refuse(`${path}.${k === 'prefixItems' ? 'items' : 'additionalItems'}`, 'items after a tuple as a schema');
        }
        break;
      }
      case 'not': options.push(v); break;
      case 'allOf': (list(v, p)).forEach((x, i) => options.push(negate(x, `${p}[${i}]`, ctx, depth + 1, within))); break;
      case 'anyOf': options.push({ allOf: list(v, p).map((x, i) => negate(x, `${p}[${i}]`, ctx, depth + 1, within)) }); break;
      case 'oneOf': {
        // Not exactly one: none, or two at once.
        const opts = list(v, p);
        if (opts.length > MAX_NOT_ONEOF) refuse(p, `"oneOf" of more than ${MAX_NOT_ONEOF} options`);
        options.push({ allOf: opts.map((x, i) => negate(x, `${p}[${i}]`, ctx, depth + 1, within)) });
        for (let i = 0; i < opts.length; i++) for (let j = i + 1; j < opts.length; j++) options.push({ allOf: [opts[i], opts[j]] });
        break;
      }
      case '$ref': if (typeof v !== 'string') throw new SchemaError(p, 'must be a string');
        options.push(negate(ctx.resolve(v, path), `${path}<${v}>`, ctx, depth + 1, within));
        break;
      case 'if': {
        const t = s.then ?? true, e = s.else ?? true;
        options.push({ anyOf: [{ allOf: [v, negate(t, `${path}.then`, ctx, depth + 1)] }, { allOf: [negate(v, p, ctx, depth + 1), negate(e, `${path}.else`, ctx, depth + 1)] }] });
        break;
      }
      case 'then': case 'else': break;
      case 'dependentRequired': case 'dependentSchemas': case 'dependencies': {
        if (!isObj(v)) throw new SchemaError(p, 'must be an object mapping property names to dependencies');
        for (const [key, dep] of Object.entries(v)) {
          if (Array.isArray(dep) && k !== 'dependentSchemas') {
            for (const d of dep as string[]) options.push({ type: 'object', required: [key], properties: { [d]: false } });
          } else {
            const n = negate(dep, `${p}.${key}`, ctx, depth + 1);
            if (n !== false) options.push({ allOf: [{ type: 'object', required: [key] }, n] });
          }
        }
        break;
      }
      case 'uniqueItems': if (v === false) break; refuse(p, '"uniqueItems"'); break;
      default: refuse(p, `"${k}"`);
    }
  }
  const kept = options.filter((o) => o !== false);
  if (kept.includes(true)) return true;
  return kept.length === 0 ? false : kept.length === 1 ? kept[0] : { anyOf: kept };
}

function notType(v: unknown, path: string): unknown {
  const t = typeof v === 'string' ? [v] : v;
  if (!Array.isArray(t) || !t.every((x) => (TYPES as readonly string[]).includes(x as string))) throw new SchemaError(path, `must be a type name or a list of them`);
  const left = TYPES.filter((x) => !t.includes(x) && !(x === 'integer' && t.includes('number')) && !(x === 'number' && t.includes('integer')));
  const whole = left.length === 0 ? false : { type: left };
  // Not an integer, but a number: one with a fraction.
  if (t.includes('integer') && !t.includes('number')) return whole ? { anyOf: [whole, { type: 'number', [FRACTION]: true }] } : { type: 'number', [FRACTION]: true };
  return whole;
}

/** Every JSON value but these. */
function notValues(v: unknown, path: string): unknown {
  if (!Array.isArray(v) || v.length === 0) throw new SchemaError(path, 'must be a non-empty list');
  const out: unknown[] = [];
  /** Types none of whose values is excluded: one option. */
  const whole: string[] = [];
  const arrays = v.filter((x): x is unknown[] => Array.isArray(x));
  const objects = v.filter((x): x is Obj => isObj(x));
  if (arrays.length > 1 || objects.length > 1) refuse(path, 'several array or object values');
  if (arrays.length) out.push(notArray(arrays[0]!, path));
  else whole.push('array');
  if (objects.length) out.push(notObject(objects[0]!, path));
  else whole.push('object');
  const strings = v.filter((x): x is string => typeof x === 'string');
  if (strings.length) out.push({ type: 'string', [NOT_PATTERNS]: [literalsSource([...new Set(strings)])] });
  else whole.push('string');
  const nums = [...new Set(v.filter((x): x is number => typeof x === 'number' && Number.isFinite(x)))].sort((a, b) => a - b);
  if (nums.length > MAX_NOT_NUMBERS) refuse(path, `more than ${MAX_NOT_NUMBERS} numbers`);
  if (nums.length === 0) whole.push('number');
  else {
    out.push({ type: 'number', exclusiveMaximum: nums[0] }, { type: 'number', exclusiveMinimum: nums[nums.length - 1] });
    for (let i = 1; i < nums.length; i++) out.push({ type: 'number', exclusiveMinimum: nums[i - 1], exclusiveMaximum: nums[i] });
  }
  const bools = [true, false].filter((b) => !v.includes(b));
  if (bools.length === 2) whole.push('boolean');
  else if (bools.length === 1) out.push({ const: bools[0] });
  if (!v.includes(null)) whole.push('null');
  out.unshift({ type: whole });
  return { anyOf: out };
}

/** Arrays other than `a`: another length, or an item that differs. */
function notArray(a: unknown[], path: string): unknown {
  const out: unknown[] = [{ type: 'array', minItems: a.length + 1 }];
  if (a.length > 0) out.push({ type: 'array', maxItems: a.length - 1 });
  a.forEach((x, i) => out.push({ type: 'array', minItems: a.length, maxItems: a.length, prefixItems: [...a.slice(0, i).map(() => true), notValues([x], `${path}[${i}]`)] }));
  return { anyOf: out };
}

/** Objects other than `o`: another number of keys, one of its keys missing (then another is there), or a value that differs. */
function notObject(o: Obj, path: string): unknown {
  const keys = Object.keys(o);
  const out: unknown[] = [{ type: 'object', minProperties: keys.length + 1 }];
  if (keys.length > 0) out.push({ type: 'object', maxProperties: keys.length - 1 });
  for (const k of keys) {
    out.push({ type: 'object', properties: { [k]: false } });
    out.push({ type: 'object', required: [k], properties: { [k]: notValues([o[k]], `${path}.${k}`) } });
  }
  return { anyOf: out };
}

function count(v: unknown, path: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new SchemaError(path, 'must be a non-negative integer');
  return v;
}

function list(v: unknown, path: string): unknown[] {
  if (!Array.isArray(v) || v.length === 0) throw new SchemaError(path, 'must be a non-empty list of schemas');
  return v;
}
