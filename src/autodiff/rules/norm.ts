import type { GradContext, GradTable } from '../types.js';
import { normAxis } from '../shapes.js';
import { reduceMean, reduceSum, unsqueeze } from '../ops.js';
import { castLike, nulls, requireRank, rule, unsupported } from './helpers.js';
import { product } from './window.js';

/**
 * Whether a BatchNormalization node normalises with the batch's own statistics. From opset 14 the
 * training_mode attribute says so; in opsets 9-13 a node in training mode is one that returns the running
 * statistics (more than one output).
 */
export function isBatchNormTraining(node: GradContext['node'], opset: number): boolean {
  if (opset >= 14) return node.intAttr('training_mode', 0) === 1;
  return node.outputs.slice(1).some((o) => o !== '');
}

/** [C] -> [C, 1, ...] so it broadcasts against [N, C, spatial...]. */
function perChannel(c: GradContext, v: string, rank: number): string {
  return rank > 2
    ? unsqueeze(
        c,
        v,
        Array.from({ length: rank - 2 }, (_, i) => i + 1),
      )
    : v;
}

/** 1 / (number of elements each channel's statistics cover), static or computed from x's shape. */
function perChannelCount(c: GradContext, x: string, like: string): string {
  const s = c.shape(x);
  if (s && s.every((d): d is number => typeof d === 'number')) return c.scalar(s[1]! / product(s), like);
  const shape = c.emit('Shape', [x]);
  const total = c.emit('ReduceProd', [shape], { keepdims: 0 });
  const channels = c.emit('Slice', [shape, c.ints([1]), c.ints([2])]);
  const count = c.emit('Div', [total, c.emit('Reshape', [channels, c.ints([])])]);
  return c.emit('Reciprocal', [c.emit('Cast', [count], { to: c.dtype(like) === 'float64' ? 11 : 1 })]);
}

/**
 * y = scale * (x - mean) / sqrt(var + eps) + B, per channel.
 * Inference mode (fixed statistics): dx = dy * scale / sqrt(var + eps); dscale = sum(dy * xhat); dB = sum(dy).
 * Training mode (the batch's statistics, which depend on x): the batch mean and variance are recomputed from
 * x (opset 14+ nodes do not return them), and dx = scale/sigma * (dy - mean(dy) - xhat * mean(dy * xhat)).
 * The running mean/variance inputs carry no gradient (NON_DIFFERENTIABLE_INPUTS).
 */
const batchNormRule = rule((c) => {
  const out = nulls(c);
  const go = c.GO(0);
  if (!go) return out;
  const [x, scale, mean, variance] = [c.I(0), c.I(1), c.I(3), c.I(4)];
  const rank = requireRank(c, x);
  const axes = [0, ...Array.from({ length: rank - 2 }, (_, i) => i + 2)];
  const eps = c.node.floatAttr('epsilon', 1e-5);
  const training = isBatchNormTraining(c.node, c.opset);
  if (c.GO(3) || c.GO(4)) {
    throw unsupported(c, 'a loss depends on its saved batch statistics', 'compute the statistics with ReduceMean');
  }
  if (!training) {
    const v = castLike(c, variance, x);
    const invStd = c.emit('Pow', [c.emit('Add', [v, c.scalar(eps, v)]), c.scalar(-0.5, v)]);
    if (c.needsGrad(0)) {
      out[0] = c.emit('Mul', [go, perChannel(c, c.emit('Mul', [castLike(c, scale, x), invStd]), rank)]);
    }
    if (c.needsGrad(1)) {
      const centred = c.emit('Sub', [x, perChannel(c, castLike(c, mean, x), rank)]);
      out[1] = castLike(c, c.emit('Mul', [reduceSum(c, c.emit('Mul', [go, centred]), axes, false), invStd]), scale);
    }
    if (c.needsGrad(2)) out[2] = castLike(c, reduceSum(c, go, axes, false), c.I(2));
    return out;
  }
  const mu = reduceMean(c, x, axes, true);
  const centred = c.emit('Sub', [x, mu]);
  const batchVar = reduceMean(c, c.emit('Mul', [centred, centred]), axes, true);
  const invStd = c.emit('Pow', [c.emit('Add', [batchVar, c.scalar(eps, x)]), c.scalar(-0.5, x)]);
  const xhat = c.emit('Mul', [centred, invStd]);
  const sumGo = reduceSum(c, go, axes, true);
  const sumGoXhat = reduceSum(c, c.emit('Mul', [go, xhat]), axes, true);
  const channels = c.ints([-1]);
  if (c.needsGrad(1)) out[1] = castLike(c, c.emit('Reshape', [sumGoXhat, channels]), scale);
  if (c.needsGrad(2)) out[2] = castLike(c, c.emit('Reshape', [sumGo, channels]), c.I(2));
  if (c.needsGrad(0)) {
    const inv = perChannelCount(c, x, go);
    const centredGo = c.emit('Sub', [go, c.emit('Mul', [sumGo, inv])]);
    const corrected = c.emit('Sub', [centredGo, c.emit('Mul', [xhat, c.emit('Mul', [sumGoXhat, inv])])]);
    const k = c.emit('Mul', [perChannel(c, castLike(c, scale, x), rank), invStd]);
    let dx = c.emit('Mul', [corrected, k]);
    // The running statistics (outputs 1, 2) mix in (1 - momentum) x the batch mean and (biased) variance;
    // they reach a loss only in unusual graphs, but the rule stays complete.
    const [goMean, goVar] = [c.GO(1), c.GO(2)];
    if (goMean || goVar) {
      const rate = c.emit('Mul', [inv, c.scalar(1 - c.node.floatAttr('momentum', 0.9), inv)]);
      if (goMean) dx = c.emit('Add', [dx, c.emit('Mul', [perChannel(c, castLike(c, goMean, x), rank), rate])]);
      if (goVar) {
        const twice = c.emit('Mul', [rate, c.scalar(2, rate)]);
        const g = c.emit('Mul', [c.emit('Mul', [perChannel(c, castLike(c, goVar, x), rank), twice]), centred]);
        dx = c.emit('Add', [dx, g]);
      }
    }
    out[0] = dx;
  }
  return out;
});

/**
 * LayerNormalization (opset 17) over the axes from `axis` on. The node's own Mean and InvStdDev outputs
 * (added by `prepare` when the model does not ask for them) give xhat without recomputing the statistics.
 * dx = invstd * (g - mean(g) - xhat * mean(g * xhat)) with g = dy * scale.
 */
const layerNormRule = {
  kind: 'rule' as const,
  sinceOpset: 17,
  prepare: (node: GradContext['node'], freshName: (base: string) => string) => {
    const base = node.outputs[0]!;
    if (!node.outputs[1]) node.outputs[1] = freshName(`${base}_mean`);
    if (!node.outputs[2]) node.outputs[2] = freshName(`${base}_invstd`);
  },
  rule: (c: GradContext) => {
    const out = nulls(c);
    const go = c.GO(0);
    if (!go) return out;
    const [x, scale, bias] = [c.I(0), c.I(1), c.I(2)];
    const rank = requireRank(c, x);
    const axis = normAxis(c.node.intAttr('axis', -1), rank);
    const axes = Array.from({ length: rank - axis }, (_, i) => axis + i);
    const invStd = castLike(c, c.O(2), x);
    const xhat = c.emit('Mul', [c.emit('Sub', [x, castLike(c, c.O(1), x)]), invStd]);
    if (bias && c.needsGrad(2)) out[2] = c.unbroadcast(go, bias);
    if (c.needsGrad(1)) out[1] = c.unbroadcast(c.emit('Mul', [go, xhat]), scale);
    if (c.needsGrad(0)) {
      const g = c.emit('Mul', [go, scale]);
      const meanG = reduceMean(c, g, axes, true);
      const meanGX = reduceMean(c, c.emit('Mul', [g, xhat]), axes, true);
      const inner = c.emit('Sub', [c.emit('Sub', [g, meanG]), c.emit('Mul', [xhat, meanGX])]);
      out[0] = c.emit('Mul', [inner, invStd]);
    }
    // Losses of the statistics themselves (rare): d mean/dx = 1/D, d invstd/dx = -invstd^2 xhat / D.
    const [goMean, goInv] = [c.GO(1), c.GO(2)];
    if (c.needsGrad(0) && (goMean || goInv)) {
      const s = c.shape(x)?.slice(axis);
      const perD =
        s && s.every((d): d is number => typeof d === 'number')
          ? c.scalar(1 / product(s), x)
          : c.emit('Reciprocal', [
              c.emit(
                'Cast',
                [
                  c.emit('ReduceProd', [c.emit('Slice', [c.emit('Shape', [x]), c.ints([axis]), c.ints([rank])])], {
                    keepdims: 0,
                  }),
                ],
                {
                  to: c.dtype(x) === 'float64' ? 11 : 1,
                },
              ),
            ]);
      const extra: string[] = [];
      if (goMean) extra.push(c.emit('Mul', [castLike(c, goMean, x), perD]));
      if (goInv) {
        const k = c.emit('Mul', [c.emit('Mul', [castLike(c, goInv, x), c.emit('Mul', [invStd, invStd])]), perD]);
        extra.push(c.emit('Neg', [c.emit('Mul', [k, xhat])]));
      }
      const parts = [...(out[0] ? [out[0]] : []), ...extra];
      out[0] = parts.length === 1 ? c.emit('Expand', [parts[0]!, c.shapeOf(x)]) : c.emit('Sum', parts);
    }
    return out;
  },
};

export const normRules: GradTable = {
  BatchNormalization: batchNormRule,
  LayerNormalization: layerNormRule,
};
