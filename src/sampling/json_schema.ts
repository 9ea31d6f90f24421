// JSON Schema compiled to the tree the recognizer (json_grammar.ts) walks. Supported:
//   type (one or a list), enum, const, nullable; $ref to "#..." JSON pointers ($defs,
//   definitions, recursive refs too); allOf (merged; what cannot be merged is an error); anyOf
//   (any number of options, told apart as the text goes); oneOf (options that exclude each other,
//   json_schema_disjoint.ts, as anyOf; an option that may overlap others without what they
//   accept); objects: properties, required, additionalProperties (boolean or schema),
//   patternProperties, min/maxProperties; arrays:
//   items (schema or draft-4 list), prefixItems, additionalItems, min/maxItems; strings:
//   min/maxLength, pattern (regex.ts), format (json_formats.ts); numbers: minimum, maximum,
//   exclusiveMinimum/Maximum (both drafts' forms), integer multipleOf.
// not, if/then/else, dependentRequired, dependentSchemas, dependencies and propertyNames are
// rewritten into those (json_schema_not.ts). The other keywords the decoder cannot enforce
// (uniqueItems, contains, a "not" with no exact rewrite, ...) are refused with a SchemaError
// naming the keyword and its path, never dropped: the decoder promises that its output validates.
// A schema that lists its values (enum / const, or an allOf part that does) is exempt where the
// rest has no compiled form: each value is checked on its own (json_schema_values.ts).
// Words outside the JSON Schema vocabulary (title, description, x-...) are annotations, as validators treat them.
// Schemas nest at most MAX_SCHEMA_DEPTH levels (a SchemaError past it, never a stack overflow).
// Objects are generated with their declared properties in schema order (optional ones may be
// skipped); keys allowed by additionalProperties/patternProperties may come between them.

import { compileRegex, type Pattern } from './regex';
import { FORMATS } from './json_formats';
import { mergeAll } from './json_schema_merge';
import { disjoint, implies } from './json_schema_disjoint';
import { constrains, FRACTION, NOT_PATTERNS, PATTERNS, STANDARD_FORMATS, TYPES, UNSUPPORTED, type TypeName } from './json_schema_keywords';
import { lower, negate, type LowerContext, type Within } from './json_schema_not';
import { ANY, isObj, NEVER, regex, SchemaError, checkSchemaDepth, type NumberRules, type PatternProp, type PropNode, type SchemaNode, type StringRules, type Obj } from './json_schema_types';
import { canon, validateJson, valueSchema } from './json_schema_validate';
import { Holds, listedValues } from './json_schema_values';

// The node types and the validator live in their own modules (which import nothing of the
// compiler); they are re-exported here for callers that only want "the JSON schema module".
export { ANY, ANY_OBJECT, isObj, MAX_SCHEMA_DEPTH, NEVER, SchemaError } from './json_schema_types';
export type { NumberRules, PatternProp, PropNode, SchemaNode, StringRules } from './json_schema_types';
export { canon, numberOk, validateJson, valueSchema } from './json_schema_validate';

/** Most subschemas one compile may go through (a SchemaError past it, never minutes of work). */
export const MAX_SUBSCHEMAS = 200_000;

const OBJECT_KEYS = ['properties', 'required', 'additionalProperties', 'patternProperties', 'minProperties', 'maxProperties'];
const ARRAY_KEYS = ['items', 'prefixItems', 'additionalItems', 'minItems', 'maxItems', 'uniqueItems'];
const STRING_KEYS = ['minLength', 'maxLength', 'pattern', 'format', PATTERNS, NOT_PATTERNS];
const NUMBER_KEYS = ['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'multipleOf', FRACTION];

const utf8 = new TextEncoder();

export interface CompileOptions {
  /**
   * Objects with properties but no additionalProperties: 'closed' (default) generates only
   * their declared properties (output still validates, and a model cannot wander off into
   * extra keys); 'open' accepts any extra key, as a validator does (MaskBench).
   */
  unlisted?: 'closed' | 'open';
  /**
   * Order of declared properties: 'declared' (default with 'closed') writes them in schema
   * order, optional ones skipped; 'any' (default with 'open', as a validator reads objects)
   * takes them in any order, each at most once.
   */
  keyOrder?: 'declared' | 'any';
}

/** Compiles a JSON schema (the subset above). Throws SchemaError. */
export function compileJsonSchema(schema: unknown, path = 'schema', options: CompileOptions = {}): SchemaNode {
  const open = options.unlisted === 'open';
  const node = new Compiler(schema, open, (options.keyOrder ?? (open ? 'any' : 'declared')) === 'any').compile(schema, path, 0);
  if (node === NEVER) throw new SchemaError(path, 'accepts nothing (no JSON value satisfies all its keywords)');
  return node;
}


class Compiler {
  private readonly refs = new Map<unknown, { node: SchemaNode | null }>();
  private readonly refAlone: boolean;
  private readonly ctx: LowerContext;
  constructor(readonly root: unknown, private readonly open: boolean, private readonly anyOrder: boolean) {
    const draft = isObj(root) && typeof root.$schema === 'string' ? root.$schema : '';
    this.refAlone = /draft-0[3-7]\b/.test(draft);
    this.ctx = {
      resolve: (ref, p) => this.resolve(ref, p), refAlone: this.refAlone, noConditionals: /draft-0[3-6]\b/.test(draft),
      excludes: (node, schema, p, depth) => disjoint(node, this.compile(schema, p, depth)),
      includes: (node, schema, p, depth) => implies(node, this.compile(schema, p, depth)),
    };
  }

  /** The schema a "#/..." reference points at. */
  resolve(ref: string, path: string): unknown {
    if (!ref.startsWith('#')) throw new SchemaError(`${path}.$ref`, `only local references ("#/...") are supported, got ${JSON.stringify(ref)}`);
    let cur: unknown = this.root;
    const ptr = decodeURIComponent(ref.slice(1));
    if (ptr === '') return cur;
    if (!ptr.startsWith('/')) throw new SchemaError(`${path}.$ref`, `${JSON.stringify(ref)} is not a JSON pointer (anchors are not supported)`);
    for (const raw of ptr.slice(1).split('/')) {
      const part = raw.replace(/~1/g, '/').replace(/~0/g, '~');
      if (Array.isArray(cur) && /^\d+$/.test(part)) cur = cur[Number(part)];
      else if (isObj(cur) && Object.hasOwn(cur, part)) cur = cur[part];
      else throw new SchemaError(`${path}.$ref`, `${JSON.stringify(ref)} points at nothing`);
    }
    return cur;
  }

  /** Subschemas compiled so far (rewrites and merges can multiply them: MAX_SUBSCHEMAS bounds the work). */
  private compiled = 0;

  compile(schema: unknown, path: string, depth: number): SchemaNode {
    checkSchemaDepth(depth, path);
    if (++this.compiled > MAX_SUBSCHEMAS) throw new SchemaError(path, `the schema needs more than ${MAX_SUBSCHEMAS} subschemas compiled (allOf combining many anyOf / if-then-else options?)`);
    if (schema === true) return ANY;
    if (schema === false) return NEVER;
    if (!isObj(schema)) throw new SchemaError(path, `must be an object, got ${describe(schema)}`);
    if (typeof schema.$ref === 'string') {
      // Drafts 3 to 7: a $ref replaces its siblings; from 2019-09 on they apply too.
      const rest = this.refAlone ? [] : Object.keys(schema).filter((k) => constrains(k) && k !== '$ref');
      const target = this.resolve(schema.$ref, path);
      if (rest.length > 0) {
        const siblings = Object.fromEntries(rest.map((k) => [k, schema[k]]));
        return this.compile({ allOf: [target, siblings] }, path, depth + 1);
      }
      const known = this.refs.get(target);
      if (known) return known.node ?? { kind: 'ref', ref: schema.$ref, target: known };
      const slot: { node: SchemaNode | null } = { node: null };
      this.refs.set(target, slot);
      const node = this.compile(target, `${path}<${schema.$ref}>`, depth + 1);
      if (node.kind === 'ref' && !node.target.node) throw new SchemaError(`${path}.$ref`, `${JSON.stringify(schema.$ref)} refers to itself without a schema in between`);
      slot.node = node;
      return node;
    } else if (schema.$ref !== undefined) throw new SchemaError(`${path}.$ref`, 'must be a string');
    const listed = schema.nullable === undefined ? listedValues(schema, (r, p) => this.resolve(r, p)) : null;
    if (!listed || !this.listedFallback) return this.keywords(schema, path, depth);
    try {
      return this.keywords(schema, path, depth);
    } catch (e) {
      // Listed values (enum / const among allOf parts) next to what has no compiled form ("not" of
      // multipleOf...): each value is checked against the whole schema on its own (json_schema_values.ts).
      if (!(e instanceof SchemaError)) throw e;
      let kept: unknown[];
      try {
        kept = listed.filter((v) => this.reader().holds(v, schema, path, depth));
      } catch (e2) {
        if (!(e2 instanceof SchemaError)) throw e2;
        throw e; // the first problem, as without the values
      }
      return kept.length === 0 ? NEVER : this.literals({ enum: kept }, path, depth);
    }
  }

  /** Whether listed values are checked one by one when their schema has no compiled form (not while checking them). */
  private listedFallback = true;
  private holdsReader: Holds | null = null;
  /** Reads whether a value satisfies a schema, as a validator does ('open'). */
  private reader(): Holds {
    if (!this.holdsReader) {
      const open = this.open ? this : new Compiler(this.root, true, true);
      const compile = (s: Obj, p: string, d: number): SchemaNode => {
        const was = open.listedFallback;
        open.listedFallback = false;
        try {
          return open.compile(s, p, d);
        } finally {
          open.listedFallback = was;
        }
      };
      this.holdsReader = new Holds({ compile, resolve: (r, p) => this.resolve(r, p), refAlone: this.refAlone, noConditionals: this.ctx.noConditionals });
    }
    return this.holdsReader;
  }

  /** A schema object without $ref, compiled keyword by keyword. */
  private keywords(schema: Obj, path: string, depth: number): SchemaNode {
    // not, if/then/else, dependencies: rewritten into the keywords below (json_schema_not.ts).
    const lowered = lower(schema, path, this.ctx, depth);
    if (lowered === false) return NEVER;
    if (lowered === true) return ANY;
    if (lowered !== schema) return this.compile(lowered, path, depth + 1);
    for (const k of Object.keys(schema)) {
      if (UNSUPPORTED.has(k) && !(k === 'uniqueItems' && (schema[k] === false || schema[k] === true))) {
        throw new SchemaError(`${path}.${k}`, `keyword "${k}" is not supported by the constrained decoder`);
      }
    }

    if (schema.allOf !== undefined) {
      const parts = list(schema.allOf, `${path}.allOf`);
      const rest = Object.fromEntries(Object.entries(schema).filter(([k]) => k !== 'allOf'));
      const merged = mergeAll(parts, `${path}.allOf`, this.ctx, depth, rest);
      return this.compile(merged, `${path}.allOf`, depth + 1);
    }
    for (const key of ['anyOf', 'oneOf'] as const) {
      if (schema[key] === undefined) continue;
      const options = list(schema[key], `${path}.${key}`);
      const rest = Object.fromEntries(Object.entries(schema).filter(([k]) => k !== key));
      const hasRest = Object.keys(rest).some(constrains);
      const nodes = options.map((o, i) => {
        const p = `${path}.${key}[${i}]`;
        return this.compile(hasRest ? { allOf: [rest, o] } : o, p, depth + 1);
      });
      // oneOf: exactly one option. Options that exclude each other (json_schema_disjoint.ts) are
      // an anyOf; an option that may overlap others is taken without what they accept (negate()).
      if (key === 'oneOf') {
        const overlaps = nodes.map((a, i) => nodes.flatMap((b, j) => (j !== i && a !== NEVER && b !== NEVER && !disjoint(a, b) ? [j] : [])));
        overlaps.forEach((js, i) => {
          if (js.length === 0) return;
          const p = `${path}.oneOf[${i}]`;
          const nots: unknown[] = [];
          let failed: { j: number; e: SchemaError } | null = null;
          const within = knownOf(nodes[i]!);
          for (const j of js) {
            try {
              nots.push(negate(options[j], `${path}.oneOf[${j}]`, this.ctx, depth + 1, within));
            } catch (e) {
              if (!(e instanceof SchemaError)) throw e;
              failed ??= { j, e };
            }
            if (nots.at(-1) === false) break; // option j takes any value: option i never matches alone
          }
          if (nots.at(-1) === false) {
            nodes[i] = NEVER;
            return;
          }
          if (failed) throw new SchemaError(`${path}.oneOf`, `options ${i} and ${failed.j} may both match one value (oneOf allows exactly one), and option ${i} without the others could not be compiled: ${failed.e.message}`);
          try {
            nodes[i] = this.compile({ allOf: [...(hasRest ? [rest] : []), options[i], ...nots] }, p, depth + 1);
          } catch (e) {
            if (!(e instanceof SchemaError)) throw e;
            throw new SchemaError(`${path}.oneOf`, `options ${i} and ${js[0]} may both match one value (oneOf allows exactly one), and option ${i} without the others could not be compiled: ${e.message}`);
          }
        });
      }
      return union(nodes);
    }

    let node: SchemaNode;
    if (schema.const !== undefined || schema.enum !== undefined) {
      node = this.literals(schema, path, depth);
    } else {
      let types: TypeName[];
      if (schema.type !== undefined) types = typeList(schema.type, path);
      else {
        types = [];
        if (OBJECT_KEYS.some((k) => schema[k] !== undefined)) types.push('object');
        if (ARRAY_KEYS.some((k) => schema[k] !== undefined)) types.push('array');
        if (STRING_KEYS.some((k) => schema[k] !== undefined)) types.push('string');
        if (NUMBER_KEYS.some((k) => schema[k] !== undefined)) types.push('number');
        // Without "type", a keyword only constrains values of its own type: a validator takes
        // any other value ('open'); generation ('closed') keeps to the types the keywords name.
        if (this.open && types.length > 0) types = ['object', 'array', 'string', 'number', 'boolean', 'null'];
      }
      node = types.length === 0 ? ANY : union(types.map((t) => this.typed(t, schema, path, depth)));
    }
    if (schema.nullable === true) node = union([node, { kind: 'null' }]);
    else if (schema.nullable !== undefined && schema.nullable !== false) throw new SchemaError(`${path}.nullable`, 'must be a boolean');
    return node;
  }

  private literals(s: Obj, path: string, depth: number): SchemaNode {
    let values: unknown[];
    if (s.const !== undefined) {
      if (s.enum !== undefined && !Array.isArray(s.enum)) throw new SchemaError(`${path}.enum`, 'must be a non-empty list');
      if (s.enum !== undefined && !(s.enum as unknown[]).some((v) => canon(v) === canon(s.const))) return NEVER; // "const" is not one of "enum"
      values = [s.const];
    } else {
      if (!Array.isArray(s.enum) || s.enum.length === 0) throw new SchemaError(`${path}.enum`, 'must be a non-empty list');
      values = s.enum;
    }
    // The other keywords still apply: keep the values that satisfy them.
    const rest = Object.fromEntries(Object.entries(s).filter(([k]) => k !== 'enum' && k !== 'const' && k !== 'nullable'));
    const check = this.compile(rest, path, depth + 1);
    const seen = new Set<string>();
    const kept: unknown[] = [];
    values.forEach((v, i) => {
      void i;
      const text = JSON.stringify(v);
      if (text === undefined) throw new SchemaError(`${path}.enum[${i}]`, 'is not a JSON value');
      if (validateJson(v, check) !== null) return; // excluded by the other keywords (type...)
      const c = canon(v);
      if (!seen.has(c)) {
        seen.add(c);
        kept.push(v);
      }
    });
    if (kept.length === 0) return NEVER; // no value of enum/const satisfies the other keywords
    // Objects and arrays as structures (whitespace and key order as in any JSON text); scalars as literals.
    // 'open' (a validator's reading): numbers as numbers (1.0 equals 1), unless there are many of
    // them. Else (and for generation, which writes each number once, in its shortest text) as text.
    const nums = kept.filter((v) => typeof v === 'number');
    const asNumbers = this.open && nums.length <= MAX_EXACT_NUMBERS;
    const scalars = kept.filter((v) => v === null || (typeof v !== 'object' && !(asNumbers && typeof v === 'number')));
    const nodes = kept.filter((v) => (v !== null && typeof v === 'object') || (asNumbers && typeof v === 'number')).map((v) => exactValue(v, this.open));
    if (scalars.length > 0) nodes.unshift({ kind: 'enum', values: scalars, literals: scalars.map((v) => utf8.encode(JSON.stringify(v))) });
    return union(nodes);
  }

  private typed(t: TypeName, s: Obj, path: string, depth: number): SchemaNode {
    switch (t) {
      case 'object': return this.object(s, path, depth);
      case 'array': return this.array(s, path, depth);
      case 'string': {
        const rules = stringRules(s, path);
        return rules === EMPTY ? NEVER : { kind: 'string', rules };
      }
      case 'number': case 'integer': {
        const rules = numberRules(s, path, t === 'integer');
        return rules === EMPTY ? NEVER : { kind: t, rules };
      }
      default: return { kind: t };
    }
  }

  private object(s: Obj, path: string, depth: number): SchemaNode {
    const ap = s.additionalProperties;
    if (ap !== undefined && typeof ap !== 'boolean' && !isObj(ap)) throw new SchemaError(`${path}.additionalProperties`, 'must be a boolean or a schema');
    let extra: SchemaNode | null = ap === false || (ap === undefined && !this.open && s.properties !== undefined) ? null : ap === undefined || ap === true ? ANY : this.compile(ap, `${path}.additionalProperties`, depth + 1);
    if (extra === NEVER) extra = null;
    const patterns: PatternProp[] = [];
    if (s.patternProperties !== undefined) {
      if (!isObj(s.patternProperties)) throw new SchemaError(`${path}.patternProperties`, 'must be an object mapping patterns to schemas');
      for (const [pat, sub] of Object.entries(s.patternProperties)) {
        patterns.push({ re: regex(pat, `${path}.patternProperties`), schema: this.compile(sub, `${path}.patternProperties.${pat}`, depth + 1), raw: sub });
      }
    }
    const combined = new Map<string, SchemaNode | null>();
    const combine = (m: PatternProp[]): SchemaNode | null => {
      const key = m.map((x) => patterns.indexOf(x)).join(',');
      if (!combined.has(key)) {
        let node: SchemaNode | null = null;
        try {
          node = this.compile({ allOf: m.map((x) => x.raw) }, `${path}.patternProperties`, depth + 1);
        } catch (e) {
          if (!(e instanceof SchemaError)) throw e; // what cannot be combined is refused, as before
        }
        combined.set(key, node);
      }
      return combined.get(key)!;
    };
    let required: string[] = [];
    if (s.required !== undefined) {
      if (!Array.isArray(s.required) || !s.required.every((r) => typeof r === 'string')) throw new SchemaError(`${path}.required`, 'must be a list of property names');
      required = [...new Set(s.required as string[])];
    }
    if (s.properties !== undefined && !isObj(s.properties)) throw new SchemaError(`${path}.properties`, 'must be an object mapping names to schemas');
    const declared = Object.entries((s.properties ?? {}) as Obj);
    for (const r of required) if (!declared.some(([k]) => k === r)) declared.push([r, undefined]);
    let props: PropNode[] = declared.map(([key, sub]) => {
      const p = `${path}.properties.${key}`;
      const matching = patterns.filter((pp) => pp.re.test(key));
      let schema: SchemaNode;
      if (sub === undefined) {
        if (matching.length > 1 && !combine(matching)) throw new SchemaError(`${path}.required`, `"${key}" matches several patternProperties that cannot be combined`);
        const from = matching.length > 1 ? combine(matching) : matching[0]?.schema ?? (ap === undefined ? ANY : extra);
        schema = from ?? NEVER; // additionalProperties: false forbids a required key: no object is valid
      } else {
        if (matching.length > 0) {
          const pats = Object.entries(s.patternProperties as Obj).filter(([pat]) => compileRegex(pat).test(key)).map(([, v]) => v);
          schema = this.compile({ allOf: [sub, ...pats] }, p, depth + 1);
        } else schema = this.compile(sub, p, depth + 1);
      }
      return { key, keyBytes: utf8.encode(JSON.stringify(key)), schema, required: required.includes(key) };
    });
    if (props.some((p) => p.required && p.schema === NEVER)) return NEVER; // a required key no value fits
    const forbidden = props.filter((p) => p.schema === NEVER).map((p) => p.key);
    props = props.filter((p) => p.schema !== NEVER);
    if (extra && extra.kind === 'any' && patterns.length === 0 && props.length === 0) extra = ANY;
    return {
      kind: 'object', props, extra, patterns, forbidden, anyOrder: this.anyOrder && props.length > 1, combine,
      minProps: count(s, 'minProperties', path, 0), maxProps: count(s, 'maxProperties', path, Infinity),
    };
  }

  private array(s: Obj, path: string, depth: number): SchemaNode {
    let prefix: SchemaNode[] = [];
    let items: SchemaNode | null = ANY;
    const rest = (key: string, v: unknown) => {
      const n = v === undefined || v === true ? ANY : this.compile(v, `${path}.${key}`, depth + 1);
      return n === NEVER ? null : n;
    };
    if (s.prefixItems !== undefined) {
      prefix = list(s.prefixItems, `${path}.prefixItems`).map((x, i) => this.compile(x, `${path}.prefixItems[${i}]`, depth + 1));
      if (Array.isArray(s.items)) throw new SchemaError(`${path}.items`, 'must be a schema next to "prefixItems"');
      items = rest('items', s.items);
    } else if (Array.isArray(s.items)) {
      prefix = s.items.map((x, i) => this.compile(x, `${path}.items[${i}]`, depth + 1));
      items = rest('additionalItems', s.additionalItems);
    } else items = rest('items', s.items);
    const minItems = count(s, 'minItems', path, 0);
    const maxItems = count(s, 'maxItems', path, Infinity);
    const most = items ? maxItems : Math.min(maxItems, prefix.length);
    if (minItems > most) return NEVER; // more items required than allowed: no array is valid
    const node: SchemaNode = { kind: 'array', prefix, items, minItems, maxItems: most };
    return s.uniqueItems === true && most > 1 ? uniqueItemsNode(node, `${path}.uniqueItems`) : node;
  }
}

/** Rules no value of their type satisfies. */
const EMPTY = Symbol('empty');

function stringRules(s: Obj, path: string): StringRules | null | typeof EMPTY {
  const patterns: Pattern[] = [];
  if (s.pattern !== undefined) {
    if (typeof s.pattern !== 'string') throw new SchemaError(`${path}.pattern`, 'must be a string');
    patterns.push(regex(s.pattern, `${path}.pattern`));
  }
  for (const [k, negated] of [[PATTERNS, false], [NOT_PATTERNS, true]] as const) {
    for (const src of (s[k] ?? []) as string[]) patterns.push(regex(src, `${path}.${negated ? 'not.pattern' : 'pattern'}`, negated));
  }
  if (s.format !== undefined) {
    const f = FORMATS[s.format as string];
    if (typeof s.format !== 'string') throw new SchemaError(`${path}.format`, 'must be a string');
    if (f !== undefined) patterns.push(compileRegex(f));
    else if (STANDARD_FORMATS.has(s.format)) {
      throw new SchemaError(`${path}.format`, `format ${JSON.stringify(s.format)} is not supported (supported: ${Object.keys(FORMATS).join(', ')})`);
    } // else: not a JSON Schema format; validators ignore unknown formats, and so does the decoder
  }
  const minLength = count(s, 'minLength', path, 0);
  const maxLength = count(s, 'maxLength', path, Infinity);
  if (minLength > maxLength) return EMPTY; // no string is valid
  if (patterns.length === 0 && minLength === 0 && maxLength === Infinity) return null;
  return { minLength, maxLength, patterns };
}

function numberRules(s: Obj, path: string, int: boolean): NumberRules | null | typeof EMPTY {
  const num = (k: string): number | undefined => {
    const v = s[k];
    if (v === undefined || typeof v === 'boolean') return undefined;
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new SchemaError(`${path}.${k}`, 'must be a number');
    return v;
  };
  let min = num('minimum') ?? -Infinity, max = num('maximum') ?? Infinity;
  let minExcl = false, maxExcl = false;
  const xmin = s.exclusiveMinimum, xmax = s.exclusiveMaximum;
  if (xmin === true) minExcl = true;
  else if (typeof xmin === 'number') { if (xmin >= min) { min = xmin; minExcl = true; } }
  if (xmax === true) maxExcl = true;
  else if (typeof xmax === 'number') { if (xmax <= max) { max = xmax; maxExcl = true; } }
  let multipleOf = 0;
  let maxFrac = Infinity;
  if (s.multipleOf !== undefined) {
    const m = s.multipleOf;
    if (typeof m !== 'number' || !(m > 0)) throw new SchemaError(`${path}.multipleOf`, 'must be a positive number');
    const digits = Math.round(-Math.log10(m));
    if (m <= 1 && digits >= 0 && digits <= 9 && 10 ** -digits === m) maxFrac = digits; // 1, 0.1, 0.01...: digits after the point
    else if (!int || !Number.isInteger(m)) throw new SchemaError(`${path}.multipleOf`, 'is supported as an integer step on integers, or a step of 1, 0.1, 0.01... on numbers');
    else if (min !== -Infinity || max !== Infinity) throw new SchemaError(`${path}.multipleOf`, 'cannot be combined with minimum/maximum');
    else multipleOf = m;
  }
  if (min > max || (min === max && (minExcl || maxExcl))) return EMPTY; // no number lies between minimum and maximum
  if (int && (Math.ceil(min) > Math.floor(max) || (Math.ceil(min) === Math.floor(max) && ((minExcl && min === Math.ceil(min)) || (maxExcl && max === Math.floor(max)))))) return EMPTY;
  const fraction = s[FRACTION] === true;
  if (fraction && (int || maxFrac === 0)) return EMPTY; // an integer that is not one
  if (min === -Infinity && max === Infinity && multipleOf === 0 && (int || maxFrac === Infinity) && !fraction) return null;
  return { min, max, minExcl, maxExcl, multipleOf, maxFrac, fraction };
}

function count(s: Obj, k: string, path: string, dflt: number): number {
  const v = s[k];
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new SchemaError(`${path}.${k}`, 'must be a non-negative integer');
  return v;
}

function list(v: unknown, path: string): unknown[] {
  if (!Array.isArray(v) || v.length === 0) throw new SchemaError(path, 'must be a non-empty list of schemas');
  return v;
}

function typeList(t: unknown, path: string): TypeName[] {
  const l = Array.isArray(t) ? t : [t];
  if (l.length === 0) throw new SchemaError(`${path}.type`, 'must not be an empty list');
  for (const x of l) {
    if (!TYPES.includes(x as TypeName)) throw new SchemaError(`${path}.type`, `unknown type ${JSON.stringify(x)} (expected one of ${TYPES.join(', ')})`);
  }
  return [...new Set(l as TypeName[])];
}

function union(options: SchemaNode[]): SchemaNode {
  const flat = options.flatMap((o) => (o.kind === 'union' ? o.options : [o]));
  if (flat.length === 0) return NEVER;
  if (flat.some((o) => o.kind === 'any')) return ANY;
  const dedup: SchemaNode[] = [];
  for (const o of flat) if (!dedup.includes(o)) dedup.push(o);
  return dedup.length === 1 ? dedup[0]! : { kind: 'union', options: dedup };
}

/**
 * What a node says of its values, for negations used with it: the keys its objects may have
 * (every object option closed), the keys they all have (required in every object option),
 * the schema every item of its arrays satisfies (every array
 * option with one items schema). A union's other options (strings, numbers...) say nothing of
 * objects or arrays, and the negation's object and array options only apply to those.
 */
function knownOf(n: SchemaNode, depth = 0): Within {
  if (depth > 16) return {};
  const deref = (x: SchemaNode): SchemaNode => {
    for (let i = 0; x.kind === 'ref' && x.target.node && i < 16; i++) x = x.target.node;
    return x;
  };
  const options = (x: SchemaNode): SchemaNode[] => (x = deref(x)).kind === 'union' ? x.options.map(deref) : [x];
  const all = options(n);
  const opaque = (o: SchemaNode) => o.kind === 'any' || o.kind === 'ref' || o.kind === 'union' || (o.kind === 'enum' && o.values.some((v) => v !== null && typeof v === 'object'));
  if (all.some(opaque)) return {};
  const objects = all.filter((o) => o.kind === 'object');
  const arrays = all.filter((o) => o.kind === 'array');
  const out: Within = {};
  // No objects (arrays): no keys (items) at all, which is as exact.
  if (objects.every((o) => o.extra === null && o.patterns.length === 0)) out.keys = [...new Set(objects.flatMap((o) => o.props.map((p) => p.key)))];
  if (arrays.every((a) => a.prefix.length === 0 && a.items)) out.items = union(arrays.map((a) => a.items!));
  if (objects.length > 0) {
    out.value = (key) => {
      const at = objects.map((o) => valueSchema(o, key)).filter((x): x is SchemaNode => x !== null);
      return at.length === 0 ? {} : knownOf(union(at), depth + 1);
    };
  }
  if (objects.length > 0) out.required = objects.map((o) => o.props.filter((p) => p.required).map((p) => p.key)).reduce((a, b) => a.filter((k) => b.includes(k)));
  return out;
}

/** A node accepting exactly one JSON value (its objects' keys in any order; `numbers`: a number in any spelling). */
function exactValue(v: unknown, numbers: boolean): SchemaNode {
  if (Array.isArray(v)) return { kind: 'array', prefix: v.map((x) => exactValue(x, numbers)), items: null, minItems: v.length, maxItems: v.length };
  if (isObj(v)) {
    const props: PropNode[] = Object.entries(v).map(([key, x]) => ({ key, keyBytes: utf8.encode(JSON.stringify(key)), schema: exactValue(x, numbers), required: true }));
    return { kind: 'object', props, extra: null, patterns: [], forbidden: [], anyOrder: props.length > 1, minProps: 0, maxProps: Infinity };
  }
  if (typeof v === 'number' && numbers) return { kind: 'number', rules: { min: v, max: v, minExcl: false, maxExcl: false, multipleOf: 0, maxFrac: Infinity, fraction: false } };
  return { kind: 'enum', values: [v], literals: [utf8.encode(JSON.stringify(v))] };
}

/** Most numbers of an enum read as numbers (each one a reading of its own); past it, as their shortest text. */
const MAX_EXACT_NUMBERS = 4;

function describe(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'a list' : typeof v;
}

/**
 * uniqueItems on an array whose items are scalars the recognizer can compare: strings (their text
 * is kept, keep), enums of strings, numbers, booleans and null (their literal), booleans, null. The
 * recognizer refuses an item equal to an earlier one when it ends. Other items: a SchemaError.
 */
function uniqueItemsNode(a: Extract<SchemaNode, { kind: 'array' }>, path: string): SchemaNode {
  const kept = (n: SchemaNode, depth: number): SchemaNode => {
    if (depth > 16) throw new SchemaError(path, 'keyword "uniqueItems" is not supported here: items nested too deep to compare');
    switch (n.kind) {
      case 'string': return { ...n, keep: true };
      case 'boolean': case 'null': return n;
      case 'enum':
        if (n.values.every((v) => v === null || typeof v !== 'object')) return n;
        break;
      case 'union': return { kind: 'union', options: n.options.map((o) => kept(o, depth + 1)) };
      case 'ref': if (n.target.node) return kept(n.target.node, depth + 1); break;
      default: break;
    }
    throw new SchemaError(path, `keyword "uniqueItems" is not supported by the constrained decoder for items of kind ${n.kind} (only strings, booleans, null and enums of those or numbers)`);
  };
  return { ...a, prefix: a.prefix.map((p) => kept(p, 0)), items: a.items && kept(a.items, 0), unique: true };
}
