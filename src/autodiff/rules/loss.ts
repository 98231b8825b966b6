import type { GradContext, GradTable } from '../types.js';
import { reduceSum, unsqueeze, type OpEmitter } from '../ops.js';
import { castLike, floatCode, nulls, requireRank, rule, unsupported } from './helpers.js';

/**
 * Per-position weight of the target class, laid out like the scores: w[t] at the target class, 0 elsewhere
 * and at ignored positions. Scores are [N, C, d1...], targets [N, d1...].
 */
export function targetWeights(
  e: OpEmitter,
  scores: string,
  target: string,
  opts: { weight?: string; ignoreIndex?: number },
): string {
  const shape = e.shape(scores)!;
  const rank = shape.length;
  const classes = shape[1];
  const ids =
    typeof classes === 'number'
      ? classIndexTensor(e, classes, rank)
      : e.emit('Reshape', [
          e.emit('Range', [
            scalarInt(e, 0),
            e.emit('Gather', [e.emit('Shape', [scores]), scalarInt(e, 1)]),
            scalarInt(e, 1),
          ]),
          e.ints([1, -1, ...Array(rank - 2).fill(1)]),
        ]);
  const t = unsqueeze(e, target, [1]);
  let hit = e.emit('Equal', [t, ids]);
  if (opts.ignoreIndex !== undefined) {
    hit = e.emit('And', [hit, e.emit('Not', [e.emit('Equal', [t, scalarInt(e, opts.ignoreIndex)])])]);
  }
  const onehot = e.emit('Cast', [hit], { to: floatCode(e.dtype(scores)) ?? 1 });
  if (!opts.weight) return onehot;
  const w = e.emit('Reshape', [opts.weight, e.ints([1, -1, ...Array(rank - 2).fill(1)])]);
  return e.emit('Mul', [onehot, w]);
}

function classIndexTensor(e: OpEmitter, classes: number, rank: number): string {
  const ids = e.ints(Array.from({ length: classes }, (_, i) => i));
  return e.emit('Reshape', [ids, e.ints([1, classes, ...Array(rank - 2).fill(1)])]);
}

/** A rank-0 int64 constant (ints() makes 1-D ones; ORT folds the Reshape). */
function scalarInt(e: OpEmitter, v: number): string {
  return e.emit('Reshape', [e.ints([v]), e.ints([])]);
}

/**
 * The coefficient each position's loss term gets from dL/dloss: per position for reduction 'none',
 * dL/dloss for 'sum', dL/dloss / sum of weights for 'mean' (ONNX and PyTorch normalise by the weights).
 */
function lossScale(c: GradContext, go: string, wt: string): string {
  const reduction = c.node.stringAttr('reduction', 'mean');
  if (reduction === 'none') return unsqueeze(c, go, [1]);
  if (reduction === 'sum') return go;
  return c.emit('Div', [go, reduceSum(c, wt, null, false)]);
}

function weightsOf(c: GradContext): { weight?: string; ignoreIndex?: number } {
  const ii = c.node.attrs['ignore_index'];
  return {
    weight: c.I(2) || undefined,
    ignoreIndex: ii?.type === 'int' ? Number(ii.value) : undefined,
  };
}

/** loss = -w[t] x[t]: the gradient is -w[t] (scaled) at the target class. */
const nllRule = rule((c) => {
  const out = nulls(c);
  const go = c.GO(0);
  if (!go || !c.needsGrad(0)) return out;
  requireRank(c, c.I(0));
  const wt = targetWeights(c, c.I(0), c.I(1), weightsOf(c));
  out[0] = c.emit('Neg', [c.emit('Mul', [wt, lossScale(c, go, wt)])]);
  return out;
});

/**
 * loss = NLL(log_softmax(x)): per position coef = w[t] * scale at the target, and
 * dx = softmax(x) * sum_c coef - coef. A gradient reaching the log_prob output adds the LogSoftmax backward.
 */
const sceRule = rule((c) => {
  const out = nulls(c);
  const [go, goLogProb] = [c.GO(0), c.GO(1)];
  if (!c.needsGrad(0) || (!go && !goLogProb)) return out;
  const x = c.I(0);
  const rank = requireRank(c, x);
  let logProb = c.node.outputs[1] ? c.O(1) : '';
  if (!logProb) {
    if (c.opset < 13 && rank > 2) {
      throw unsupported(c, 'scores of rank > 2 before opset 13', 'export the model with opset 13 or later');
    }
    logProb = c.emit('LogSoftmax', [x], { axis: 1 });
  }
  const prob = c.emit('Exp', [logProb]);
  const parts: string[] = [];
  if (go) {
    const wt = targetWeights(c, x, c.I(1), weightsOf(c));
    const coef = c.emit('Mul', [wt, lossScale(c, go, wt)]);
    parts.push(c.emit('Sub', [c.emit('Mul', [prob, reduceSum(c, coef, [1], true)]), coef]));
  }
  if (goLogProb) {
    parts.push(c.emit('Sub', [goLogProb, c.emit('Mul', [prob, reduceSum(c, goLogProb, [1], true)])]));
  }
  const g = parts.length === 1 ? parts[0]! : c.emit('Add', [parts[0]!, parts[1]!]);
  out[0] = castLike(c, g, x);
  return out;
});

export const lossRules: GradTable = {
  NegativeLogLikelihoodLoss: nllRule,
  SoftmaxCrossEntropyLoss: sceRule,
};
