import type { GradContext, GradEntry, GradTable } from '../types.js';
import { castLike, defElementwise, defLinear, defUnary, floatCode, nulls, rule } from './helpers.js';

/** Gradient of Pow's base: p * x^(p-1), with a constant exponent folded into scalars. */
function powBase(c: GradContext, x: string, p: string, go: string): string | null {
  const k = c.constant(p);
  if (k && k.length > 0 && k.every((v) => v === k[0])) {
    const e = k[0]!;
    if (e === 0) return null;
    if (e === 1) return go;
    if (e === 2) return c.emit('Mul', [c.emit('Mul', [go, x]), c.scalar(2, x)]);
    const deriv = c.emit('Mul', [c.emit('Pow', [x, c.scalar(e - 1, x)]), c.scalar(e, x)]);
    return c.emit('Mul', [go, deriv]);
  }
  const pf = castLike(c, p, x);
  const deriv = c.emit('Mul', [c.emit('Pow', [x, c.emit('Sub', [pf, c.scalar(1, pf)])]), pf]);
  return c.emit('Mul', [go, deriv]);
}

const mulRule = defElementwise([
  (c, a) => c.emit('Mul', [a.go, a.in[1]!]),
  (c, a) => c.emit('Mul', [a.go, a.in[0]!]),
]) as Extract<GradEntry, { kind: 'rule' }>;

/**
 * y = x * Sigmoid(x) (swish / SiLU, as TF and PyTorch export it): dx = dy * (s + y (1 - s)), the whole
 * gradient of x through both of its uses, written with s and y only. The generic rules would also keep x
 * (the product rule reads it) until the backward pass: one activation per swish, a third of what an
 * EfficientNet keeps. The Sigmoid then receives no gradient from this Mul. Undefined when the pattern does
 * not apply.
 */
function swishGrad(c: GradContext): (string | null)[] | undefined {
  const go = c.GO(0);
  if (!go || c.node.inputs.length !== 2) return undefined;
  for (const [xi, si] of [
    [0, 1],
    [1, 0],
  ] as const) {
    const [x, s] = [c.I(xi), c.I(si)];
    const p = c.producer(s);
    if (!p || p.opType !== 'Sigmoid' || p.inputs[0] !== x || (p.domain !== '' && p.domain !== 'ai.onnx')) continue;
    const out = nulls(c);
    if (c.needsGrad(xi)) {
      const y = c.O(0);
      const slope = c.emit('Add', [s, c.emit('Mul', [y, c.emit('Sub', [c.scalar(1, s), s])])]);
      out[xi] = c.emit('Mul', [go, slope]);
    }
    return out;
  }
  return undefined;
}

/**
 * dL/dx_i of Max/Min (any number of broadcasting inputs): dL/dy where x_i is the extreme, shared equally
 * among inputs that tie (a subgradient, the same whichever input is listed first).
 */
const extremeRule = rule((c) => {
  const out = nulls(c);
  const go = c.GO(0);
  if (!go) return out;
  const y = c.O(0);
  const hits = c.node.inputs.map((x) => c.emit('Cast', [c.emit('Equal', [x, y])], { to: floatCode(c.dtype(go)) ?? 1 }));
  const share = hits.length === 1 ? go : c.emit('Div', [go, c.emit('Sum', hits)]);
  c.node.inputs.forEach((x, i) => {
    if (x && c.needsGrad(i)) out[i] = c.unbroadcast(c.emit('Mul', [share, hits[i]!]), x);
  });
  return out;
});

export const elementwiseRules: GradTable = {
  // sinusoidal position codes: d sin = cos, d cos = -sin
  Sin: defUnary((c, a) => c.emit('Mul', [a.go, c.emit('Cos', [a.x])])),
  Cos: defUnary((c, a) => c.emit('Neg', [c.emit('Mul', [a.go, c.emit('Sin', [a.x])])])),
  Max: extremeRule,
  Min: extremeRule,
  Add: defElementwise([(_, a) => a.go, (_, a) => a.go]),
  Sum: rule((c) => {
    const go = c.GO(0);
    return c.node.inputs.map((v, i) => (go && v && c.needsGrad(i) ? c.unbroadcast(go, v) : null));
  }),
  Mean: rule((c) => {
    const go = c.GO(0);
    if (!go) return nulls(c);
    const scaled = c.emit('Mul', [go, c.scalar(1 / c.node.inputs.length, go)]);
    return c.node.inputs.map((v, i) => (v && c.needsGrad(i) ? c.unbroadcast(scaled, v) : null));
  }),
  // The negation is applied after summing the broadcast axes away: on the smaller tensor.
  Sub: rule((c) => {
    const go = c.GO(0);
    const out = nulls(c);
    if (!go) return out;
    if (c.needsGrad(0)) out[0] = c.unbroadcast(go, c.I(0));
    if (c.needsGrad(1)) out[1] = c.emit('Neg', [c.unbroadcast(go, c.I(1))]);
    return out;
  }),
  Mul: rule((c) => swishGrad(c) ?? mulRule.rule(c)),
  // d(a/b)/db = -(go/b) * y, sharing go/b with the gradient of a.
  Div: rule((c) => {
    const go = c.GO(0);
    const out = nulls(c);
    if (!go) return out;
    const goOverB = c.emit('Div', [go, c.I(1)]);
    if (c.needsGrad(0)) out[0] = c.unbroadcast(goOverB, c.I(0));
    if (c.needsGrad(1)) out[1] = c.emit('Neg', [c.unbroadcast(c.emit('Mul', [goOverB, c.O(0)]), c.I(1))]);
    return out;
  }),
  Pow: defElementwise([
    (c, a) => powBase(c, a.in[0]!, a.in[1]!, a.go),
    (c, a) => c.emit('Mul', [a.go, c.emit('Mul', [a.y, c.emit('Log', [a.in[0]!])])]),
  ]),
  Neg: defLinear((c, go) => c.emit('Neg', [go])),
  Exp: defUnary((c, a) => c.emit('Mul', [a.go, a.y])),
  Log: defUnary((c, a) => c.emit('Div', [a.go, a.x])),
  Sqrt: defUnary((c, a) => c.emit('Div', [c.emit('Mul', [a.go, c.scalar(0.5, a.go)]), a.y])),
  Reciprocal: defUnary((c, a) => c.emit('Neg', [c.emit('Mul', [a.go, c.emit('Mul', [a.y, a.y])])])),
  Abs: defUnary((c, a) => c.emit('Mul', [a.go, c.emit('Sign', [a.x])])),
  // d erf(x)/dx = 2/sqrt(pi) * exp(-x^2)
  Erf: defUnary((c, a) => {
    const g = c.emit('Exp', [c.emit('Neg', [c.emit('Mul', [a.x, a.x])])]);
    return c.emit('Mul', [a.go, c.emit('Mul', [g, c.scalar(2 / Math.sqrt(Math.PI), a.x)])]);
  }),
  // A float-to-float cast passes the gradient back in the input's type; casts from integers carry none.
  Cast: defUnary((c, a) => {
    const code = floatCode(c.dtype(a.x));
    return code === undefined ? a.go : c.emit('Cast', [a.go], { to: code });
  }),
  // The condition selects which branch receives the gradient.
  Where: rule((c) => {
    const out = nulls(c);
    const go = c.GO(0);
    if (!go) return out;
    const zero = c.scalar(0, go);
    if (c.needsGrad(1)) out[1] = c.unbroadcast(c.emit('Where', [c.I(0), go, zero]), c.I(1));
    if (c.needsGrad(2)) out[2] = c.unbroadcast(c.emit('Where', [c.I(0), zero, go]), c.I(2));
    return out;
  }),
  Sign: { kind: 'zero' },
  Floor: { kind: 'zero' },
  Ceil: { kind: 'zero' },
  Round: { kind: 'zero' },
};
