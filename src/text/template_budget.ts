// Bounded rendering of untrusted chat templates (@huggingface/jinja under a budget).
import { Interpreter } from '@huggingface/jinja';
import { ErnieError } from '../errors';

// Templates come from model files, so they are untrusted: `range(100000000)` or two nested loops
// of 10^4 would run out of memory or time. Every render runs under a budget of interpreter steps
// (each evaluated node; each element range() makes counts as one, checked before it allocates),
// wall time, and characters and list items produced; past any of them it stops with a
// TEMPLATE_LIMIT error naming the file.

export interface TemplateLimits {
  /** Evaluated template nodes, blocks and range() elements, for a request without messages... */
  maxSteps: number;
  /** ...and this many more per message and per tool, so long conversations get room in proportion. */
  stepsPerMessage: number;
  /** Milliseconds of rendering. */
  maxMs: number;
  /** Characters of any one string, the output included. */
  maxChars: number;
  /** Characters of all strings produced, together (bounds the memory of loops that build text). */
  maxTotalChars: number;
  /** Elements of any one list (range() included). */
  maxItems: number;
}

/** Generous for any real chat template: the built-in one takes about 50 steps per message. */
export const DEFAULT_TEMPLATE_LIMITS: Readonly<TemplateLimits> = Object.freeze({
  maxSteps: 100_000,
  stepsPerMessage: 500,
  // A backstop for work no step counts (a huge regex, a slow filter); steps are the deterministic bound.
  maxMs: 5_000,
  maxChars: 8 << 20,
  maxTotalChars: 256 << 20,
  maxItems: 1_000_000,
});

/**
 * Steps a block costs (a loop iteration's body, a branch, a macro body): the interpreter builds
 * a scope and a loop object for each, several times the work of an ordinary node.
 */
const BLOCK_STEPS = 4;

class RenderBudget {
  private steps = 0;
  private chars = 0;
  private readonly deadline: number;
  constructor(
    readonly limits: TemplateLimits,
    readonly file: string,
    private readonly maxSteps: number,
  ) {
    this.deadline = performance.now() + limits.maxMs;
  }

  private stop(what: string): never {
    throw new ErnieError('TEMPLATE_LIMIT', `${this.file}: chat_template rendering stopped: ${what}. Templates come from model files, so rendering is bounded; fix or replace the template`);
  }

  step(n = 1): void {
    this.steps += n;
    if (this.steps > this.maxSteps) this.stop(`more than ${this.maxSteps} steps`);
    if ((this.steps & 1023) < n && performance.now() > this.deadline) this.stop(`more than ${this.limits.maxMs} ms`);
  }

  /** Checks one evaluated value's size. */
  produced(value: unknown): void {
    if (typeof value === 'string') {
      if (value.length > this.limits.maxChars) this.stop(`a string of ${value.length} characters exceeds ${this.limits.maxChars}`);
      this.chars += value.length;
      if (this.chars > this.limits.maxTotalChars) this.stop(`more than ${this.limits.maxTotalChars} characters produced`);
    } else if (Array.isArray(value) && value.length > this.limits.maxItems) this.stop(`a list of ${value.length} items exceeds ${this.limits.maxItems}`);
  }

  /**
   * Puts this budget in front of the render's range(), which would otherwise allocate its whole
   * list first. The interpreter's global scope is new for each render, so the change stays in it.
   */
  boundRange(interpreter: unknown): void {
    const fn = (interpreter as { global?: { variables?: Map<string, { value?: unknown }> } }).global?.variables?.get('range');
    if (!fn || typeof fn.value !== 'function') return;
    const inner = fn.value as (args: { value?: unknown }[], scope: unknown) => unknown;
    fn.value = (args: { value?: unknown }[], scope: unknown) => {
      const nums = args.map((a) => a.value);
      if (nums.length > 0 && nums.every((v) => typeof v === 'number')) {
        let [start, stop, by = 1] = nums as number[];
        if (stop === undefined) [start, stop] = [0, start!];
        if (![start, stop, by].every(Number.isFinite)) this.stop(`range() of non-finite bounds`);
        const n = by === 0 ? 0 : Math.max(0, Math.ceil((stop! - start!) / by!));
        if (n > this.limits.maxItems) this.stop(`range() of ${n} items exceeds ${this.limits.maxItems}`);
        this.step(n);
      }
      return inner(args, scope);
    };
  }

  /** The first node of a render: the interpreter it runs in is known from here on. */
  fresh = true;
}

/** The budget of the render in progress (rendering is synchronous, so there is at most one). */
let active: RenderBudget | null = null;

type Evaluate = ((this: unknown, node: unknown, env: unknown) => { value?: unknown }) & { bounded?: true };
/**
 * Counts steps and checks sizes at every node and block the interpreter evaluates.
 * @huggingface/jinja has no hook for it, so its (private) evaluate and evaluateBlock methods are
 * wrapped once; outside our renders the wrappers only check `active` and pass through.
 */
function installStepHook(): boolean {
  const proto = Interpreter.prototype as unknown as Record<'evaluate' | 'evaluateBlock', Evaluate | undefined>;
  const node = proto.evaluate, block = proto.evaluateBlock;
  if (typeof node !== 'function' || typeof block !== 'function') return false;
  if (node.bounded) return true;
  const wrap = (inner: Evaluate, cost: number): Evaluate => {
    const bounded: Evaluate = function (this: unknown, n: unknown, env: unknown) {
      const budget = active;
      if (!budget) return inner.call(this, n, env);
      if (budget.fresh) {
        budget.fresh = false;
        budget.boundRange(this);
      }
      budget.step(cost);
      const v = inner.call(this, n, env);
      budget.produced(v?.value);
      return v;
    };
    bounded.bounded = true;
    return bounded;
  };
  proto.evaluate = wrap(node, 1);
  proto.evaluateBlock = wrap(block, BLOCK_STEPS);
  return true;
}
const stepHook = installStepHook();

/**
 * Renders `template` under `limits`: a TEMPLATE_LIMIT ErnieError naming `file` when it runs past
 * them, a BAD_REQUEST one when the template itself fails (raise_exception, a type error).
 */
export function renderBounded(template: { render(items?: Record<string, unknown>): string }, context: Record<string, unknown>, file: string, limits: TemplateLimits = DEFAULT_TEMPLATE_LIMITS): string {
  const items = (Array.isArray(context.messages) ? context.messages.length : 0) + (Array.isArray(context.tools) ? context.tools.length : 0);
  const budget = new RenderBudget(limits, file, limits.maxSteps + limits.stepsPerMessage * items);
  const outer = active;
  active = budget;
  let out: string;
  try {
    out = template.render(context);
  } catch (cause) {
    if (cause instanceof ErnieError) throw cause;
    // A deep macro recursion ends here too, as a RangeError from the JS stack.
    throw new ErnieError('BAD_REQUEST', `${file}: chat template failed: ${(cause as Error).message}`, { cause });
  } finally {
    active = outer;
  }
  // Without the hook (a jinja version that renamed evaluate) the output size still holds.
  if (!stepHook) budget.produced(out);
  return out;
}

