import type { GradContext, GradTable } from '../types.js';
import { normAxis } from '../shapes.js';
import { reduceSum } from '../ops.js';
import { castLike, defUnary, nulls, requireRank } from './helpers.js';

/**
 * Axes Softmax/LogSoftmax normalise over. Before opset 13 the input is coerced to 2-D at `axis` (default 1),
 * so the normalisation covers every axis from `axis` on; from 13 it is the single `axis` (default -1).
 */
function softmaxAxes(c: GradContext): number[] {
  if (c.opset >= 13) return [c.node.intAttr('axis', -1)];
  const rank = requireRank(c, c.I(0));
  const axis = normAxis(c.node.intAttr('axis', 1), rank);
  return Array.from({ length: rank - axis }, (_, i) => axis + i);
}

/** go where `mask` holds, 0 elsewhere. */
function masked(c: GradContext, mask: string, go: string): string {
  return c.emit('Where', [mask, go, c.scalar(0, go)]);
}

export const activationRules: GradTable = {
  Relu: defUnary((c, a) => masked(c, c.emit('Greater', [a.y, c.scalar(0, a.y)]), a.go)),
  LeakyRelu: defUnary((c, a) => {
    const alpha = c.node.floatAttr('alpha', 0.01);
    const pos = c.emit('Greater', [a.x, c.scalar(0, a.x)]);
    return c.emit('Where', [pos, a.go, c.emit('Mul', [a.go, c.scalar(alpha, a.go)])]);
  }),
  // dy/dx = y (1 - y)
  Sigmoid: defUnary((c, a) => {
    const d = c.emit('Mul', [a.y, c.emit('Sub', [c.scalar(1, a.y), a.y])]);
    return c.emit('Mul', [a.go, d]);
  }),
  // dy/dx = 1 - y^2
  Tanh: defUnary((c, a) => {
    const d = c.emit('Sub', [c.scalar(1, a.y), c.emit('Mul', [a.y, a.y])]);
    return c.emit('Mul', [a.go, d]);
  }),
  // dx = y * (go - sum(go * y))
  Softmax: defUnary((c, a) => {
    const dot = reduceSum(c, c.emit('Mul', [a.go, a.y]), softmaxAxes(c), true);
    return c.emit('Mul', [a.y, c.emit('Sub', [a.go, dot])]);
  }),
  // dx = go - softmax(x) * sum(go), with softmax(x) = exp(y)
  LogSoftmax: defUnary((c, a) => {
    const total = reduceSum(c, a.go, softmaxAxes(c), true);
    return c.emit('Sub', [a.go, c.emit('Mul', [c.emit('Exp', [a.y]), total])]);
  }),
  Softplus: defUnary((c, a) => c.emit('Mul', [a.go, c.emit('Sigmoid', [a.x])])),
  // dy/dx = 1 for x > 0, y + alpha otherwise
  Elu: defUnary((c, a) => {
    const alpha = c.node.floatAttr('alpha', 1);
    const neg = c.emit('Mul', [a.go, c.emit('Add', [a.y, c.scalar(alpha, a.y)])]);
    return c.emit('Where', [c.emit('Greater', [a.x, c.scalar(0, a.x)]), a.go, neg]);
  }),
  // y = clamp(alpha x + beta, 0, 1): slope alpha strictly inside the clamp
  HardSigmoid: defUnary((c, a) => {
    const alpha = c.node.floatAttr('alpha', 0.2);
    const inside = c.emit('And', [c.emit('Greater', [a.y, c.scalar(0, a.y)]), c.emit('Less', [a.y, c.scalar(1, a.y)])]);
    return masked(c, inside, c.emit('Mul', [a.go, c.scalar(alpha, a.go)]));
  }),
  // y = x * clamp(x/6 + 1/2, 0, 1): 0 below -3, 1 above 3, x/3 + 1/2 between
  HardSwish: defUnary((c, a) => {
    const mid = c.emit('Mul', [a.go, c.emit('Add', [c.emit('Mul', [a.x, c.scalar(1 / 3, a.x)]), c.scalar(0.5, a.x)])]);
    const upper = c.emit('Where', [c.emit('Greater', [a.x, c.scalar(3, a.x)]), a.go, mid]);
    return masked(c, c.emit('Not', [c.emit('Less', [a.x, c.scalar(-3, a.x)])]), upper);
  }),
  // Inside the bounds y == x; the bounds themselves are treated as constants (see NON_DIFFERENTIABLE_INPUTS).
  Clip: defUnary((c, a) => masked(c, c.emit('Equal', [a.x, a.y]), a.go)),
  Dropout: {
    kind: 'rule',
    // In training mode the backward pass needs the mask the forward pass drew; make the node return it.
    prepare: (node, freshName, opset) => {
      if (opset < 12 || !node.inputs[2]) return;
      if (!node.outputs[1]) node.outputs[1] = freshName(`${node.outputs[0]}_mask`);
    },
    rule: (c) => {
      const out = nulls(c);
      const go = c.GO(0);
      if (!go || !c.needsGrad(0)) return out;
      const training = c.opset >= 12 && c.I(2) ? c.I(2) : '';
      const known = training ? c.constant(training) : [0];
      if (known && known[0] === 0) {
        out[0] = go; // inference mode: identity
        return out;
      }
      const ratioName = c.I(1);
      const ratio = ratioName ? c.constant(ratioName) : [0.5];
      let scale: string;
      if (ratio) scale = c.scalar(1 / (1 - ratio[0]!), go);
      else {
        const r = castLike(c, ratioName, go);
        scale = c.emit('Div', [c.scalar(1, go), c.emit('Sub', [c.scalar(1, go), r])]);
      }
      // A run-time training flag: when it is off the forward pass was the identity, so the scale is 1.
      if (!known) scale = c.emit('Where', [training, scale, c.scalar(1, go)]);
      out[0] = masked(c, c.O(1), c.emit('Mul', [go, scale]));
      return out;
    },
  },
};
