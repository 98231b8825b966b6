import { GraftError } from '../../errors.js';
import type { GradContext, GradEntry, GradRule } from '../types.js';

/** Default-domain opset range a rule applies to. */
export interface OpsetRange {
  since?: number;
  until?: number;
}

export function rule(fn: GradRule, range: OpsetRange = {}): GradEntry {
  return { kind: 'rule', rule: fn, sinceOpset: range.since, untilOpset: range.until };
}

/** One null per forward input: the starting point of every rule's answer. */
export function nulls(c: GradContext): (string | null)[] {
  return c.node.inputs.map(() => null);
}

export interface UnaryArgs {
  x: string;
  y: string;
  go: string;
}

/**
 * An op whose only differentiable input is #0 and whose output has the input's shape (activations,
 * unary math). `fn` writes dL/dx from x, y and dL/dy.
 */
export function defUnary(fn: (c: GradContext, a: UnaryArgs) => string, range?: OpsetRange): GradEntry {
  return rule((c) => {
    const out = nulls(c);
    const go = c.GO(0);
    if (go && c.needsGrad(0)) out[0] = fn(c, { x: c.I(0), y: c.O(0), go });
    return out;
  }, range);
}

/** A linear op of input #0 alone: the gradient is the transposed map applied to dL/dy. */
export function defLinear(transposed: (c: GradContext, go: string) => string, range?: OpsetRange): GradEntry {
  return defUnary((c, a) => transposed(c, a.go), range);
}

export interface ElementwiseArgs {
  /** forward inputs */
  in: string[];
  y: string;
  go: string;
}

/**
 * A broadcasting elementwise op: `partials[i]` writes the full-size gradient for input i (or null for zero),
 * which is then summed back to the input's shape by the shared unbroadcast.
 */
export function defElementwise(
  partials: readonly ((c: GradContext, a: ElementwiseArgs) => string | null)[],
  range?: OpsetRange,
): GradEntry {
  return rule((c) => {
    const out = nulls(c);
    const go = c.GO(0);
    if (!go) return out;
    const args: ElementwiseArgs = { in: c.node.inputs, y: c.O(0), go };
    partials.forEach((p, i) => {
      if (i >= c.node.inputs.length || !c.I(i) || !c.needsGrad(i)) return;
      const g = p(c, args);
      out[i] = g === null ? null : c.unbroadcast(g, c.I(i));
    });
    return out;
  }, range);
}

/** A rank the rule cannot work without. */
export function requireRank(c: GradContext, value: string): number {
  const s = c.shape(value);
  if (!s) {
    throw new GraftError('NO_GRADIENT', `The gradient of ${c.node.opType} needs the rank of '${value}'`, {
      node: c.node.label,
      op: c.node.opType,
      opset: c.opset,
      value,
      expected: 'a value whose rank is known when the training graph is built',
      found: 'unknown rank',
      fix: 'give the model inputs fixed ranks (value_info / input shapes), or freeze the layers before this node',
    });
  }
  return s.length;
}

/** A rule asked for something it cannot express (e.g. a dynamic axis list with keepdims=0). */
export function unsupported(c: GradContext, what: string, fix: string): GraftError {
  return new GraftError('NO_GRADIENT', `Cannot differentiate this ${c.node.opType}: ${what}`, {
    node: c.node.label,
    op: c.node.opType,
    opset: c.opset,
    fix,
  });
}

const FLOAT_CODES: Record<string, number> = { float32: 1, float16: 10, float64: 11, bfloat16: 16 };

/** TensorProto code of a float dtype, for Cast's `to`; undefined for non-float types. */
export function floatCode(dtype: string | undefined): number | undefined {
  return dtype === undefined ? undefined : FLOAT_CODES[dtype];
}

/** `value` converted to the element type of `like` (no node when they already match). */
export function castLike(c: GradContext, value: string, like: string): string {
  const want = c.dtype(like);
  if (c.dtype(value) === want) return value;
  return c.emit('Cast', [value], { to: floatCode(want) ?? 1 });
}
