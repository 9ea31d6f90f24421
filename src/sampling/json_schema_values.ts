// Whether one known JSON value satisfies a schema, for schemas whose values are listed (an enum
// or const among allOf parts): `not`, allOf / anyOf / oneOf, if/then/else and $ref are read on the
// value itself, the other keywords through the compiled schema and validateJson. A negation the
// compiler cannot rewrite ("not" of multipleOf, of patternProperties...) is then just "this value
// fails it", which is exact for that value. What cannot be compiled stays a SchemaError.

import { isObj, checkSchemaDepth, SchemaError, type SchemaNode, type Obj } from './json_schema_types';
import { validateJson } from './json_schema_validate';

export interface HoldsContext {
  /** The schema compiled as a validator reads it (unlisted keys allowed, keywords of other types ignored). */
  compile(schema: Obj, path: string, depth: number): SchemaNode;
  resolve(ref: string, path: string): unknown;
  /** Drafts 3 to 7: a $ref replaces its siblings. */
  refAlone: boolean;
  /** Drafts 3 to 6: if/then/else are annotations. */
  noConditionals: boolean;
}

/** One combinator of a schema and the schema without it (kept per schema object: each is compiled once). */
type Step =
  | { kind: 'compiled'; node: SchemaNode }
  | { kind: 'multipleOf'; step: number; rest: Obj }
  | { kind: 'ref'; target: unknown; rest: Obj | null }
  | { kind: 'not'; sub: unknown; rest: Obj }
  | { kind: 'allOf' | 'anyOf' | 'oneOf'; parts: unknown[]; rest: Obj }
  | { kind: 'if'; cond: unknown; then: unknown; else: unknown; rest: Obj };

/** The values a schema lists: its enum / const, or those of one of its allOf parts (null: none). */
export function listedValues(s: Obj, resolve: (ref: string, path: string) => unknown): unknown[] | null {
  const own = (x: unknown): unknown[] | null => {
    for (let i = 0; isObj(x) && typeof x.$ref === 'string' && Object.keys(x).length === 1 && i < 16; i++) {
      try {
        x = resolve(x.$ref, '');
      } catch (e) {
        if (e instanceof SchemaError) return null; // the compiler names it
        throw e;
      }
    }
    if (!isObj(x)) return null;
    if (x.const !== undefined) return [x.const];
    return Array.isArray(x.enum) && x.enum.length > 0 ? x.enum : null;
  };
  const direct = own(s);
  if (direct) return direct;
  if (!Array.isArray(s.allOf)) return null;
  for (const p of s.allOf) {
    const v = own(p);
    if (v) return v;
  }
  return null;
}

export class Holds {
  private readonly steps = new WeakMap<Obj, Step>();
  constructor(private readonly ctx: HoldsContext) {}

  /** Whether `v` satisfies `s`. Throws SchemaError for what cannot be compiled. */
  holds(v: unknown, s: unknown, path: string, depth: number): boolean {
    checkSchemaDepth(depth, path);
    if (s === true) return true;
    if (s === false) return false;
    if (!isObj(s)) throw new SchemaError(path, 'must be a schema (an object or a boolean)');
    const step = this.step(s, path, depth);
    const rest = (r: Obj | null) => r === null || this.holds(v, r, path, depth + 1);
    switch (step.kind) {
      case 'compiled': return validateJson(v, step.node) === null;
      case 'multipleOf': return (typeof v !== 'number' || v % step.step === 0) && rest(step.rest);
      case 'ref': return this.holds(v, step.target, path, depth + 1) && rest(step.rest);
      case 'not': return !this.holds(v, step.sub, `${path}.not`, depth + 1) && rest(step.rest);
      case 'allOf': return step.parts.every((p, i) => this.holds(v, p, `${path}.allOf[${i}]`, depth + 1)) && rest(step.rest);
      case 'anyOf': return step.parts.some((p, i) => this.holds(v, p, `${path}.anyOf[${i}]`, depth + 1)) && rest(step.rest);
      case 'oneOf': return step.parts.filter((p, i) => this.holds(v, p, `${path}.oneOf[${i}]`, depth + 1)).length === 1 && rest(step.rest);
      case 'if': return (this.holds(v, step.cond, `${path}.if`, depth + 1) ? this.holds(v, step.then, `${path}.then`, depth + 1) : this.holds(v, step.else, `${path}.else`, depth + 1)) && rest(step.rest);
    }
  }

  private step(s: Obj, path: string, depth: number): Step {
    let step = this.steps.get(s);
    if (step) return step;
    const without = (...keys: string[]): Obj => Object.fromEntries(Object.entries(s).filter(([k]) => !keys.includes(k)));
    if (typeof s.$ref === 'string') step = { kind: 'ref', target: this.ctx.resolve(s.$ref, path), rest: this.ctx.refAlone ? null : without('$ref') };
    else if (s.not !== undefined) step = { kind: 'not', sub: s.not, rest: without('not') };
    else if (Array.isArray(s.allOf) || Array.isArray(s.anyOf) || Array.isArray(s.oneOf)) {
      const kind = Array.isArray(s.allOf) ? 'allOf' : Array.isArray(s.anyOf) ? 'anyOf' : 'oneOf';
      if ((s[kind] as unknown[]).length === 0) throw new SchemaError(`${path}.${kind}`, 'must be a non-empty list of schemas');
      step = { kind, parts: s[kind] as unknown[], rest: without(kind) };
    } else if ('if' in s || 'then' in s || 'else' in s) {
      step = this.ctx.noConditionals || !('if' in s)
        ? { kind: 'allOf', parts: [true], rest: without('if', 'then', 'else') } // annotations (or then/else without if)
        : { kind: 'if', cond: s.if, then: s.then ?? true, else: s.else ?? true, rest: without('if', 'then', 'else') };
    } else if (s.multipleOf !== undefined) {
      // Read here, so that a step the recognizer does not enforce on numbers (2 on "type": "number") is still known.
      // Exact for integers only: the remainder of a double by a fraction is not the decimal one.
      const m = s.multipleOf;
      if (typeof m !== 'number' || !Number.isInteger(m) || m <= 0) throw new SchemaError(`${path}.multipleOf`, 'is known of a listed value for a positive integer step only');
      step = { kind: 'multipleOf', step: m, rest: without('multipleOf') };
    } else step = { kind: 'compiled', node: this.ctx.compile(s, path, depth) };
    this.steps.set(s, step);
    return step;
  }
}
