import { GraftError } from '../errors.js';
import type { DType } from '../onnx/dtype.js';
import type { Dim } from '../onnx/graph.js';
import type { Emitter } from './emitter.js';
import { reduceMean, reduceSum } from './ops.js';

/**
 * The loss a training graph minimises, always a mean (PyTorch's default reduction):
 * - `softmax-cross-entropy`: logits [N, C], labels int64 class indices [N]. With `classWeights` the mean is
 *   weighted like PyTorch's `weight=` (sum of w[y_i] * loss_i over sum of w[y_i]); `labelSmoothing` mixes the
 *   one-hot target with a uniform one as PyTorch's `label_smoothing=` does. Labels outside [0, C) count as
 *   ignored (they add nothing to the loss or to the normaliser).
 * - `bce-with-logits`: logits and float targets in [0, 1] of the same shape, mean over every element;
 *   `posWeight` (one per class, the last axis) as PyTorch's `pos_weight=`.
 * - `mse`: logits and float targets of the same shape, mean over every element.
 */
export type LossSpec =
  | { kind: 'softmax-cross-entropy'; classWeights?: number[]; labelSmoothing?: number }
  | { kind: 'bce-with-logits'; posWeight?: number[] }
  | { kind: 'mse' };

export const LOSS_KINDS: readonly LossSpec['kind'][] = ['softmax-cross-entropy', 'bce-with-logits', 'mse'];

export interface LabelsInfo {
  dtype: DType;
  shape: Dim[];
}

/** Type and shape of the labels input a loss reads, given the logits' type. */
export function labelsInfo(spec: LossSpec, logitsShape: Dim[], logitsDtype: DType): LabelsInfo {
  if (spec.kind === 'softmax-cross-entropy') return { dtype: 'int64', shape: [logitsShape[0]] };
  return { dtype: logitsDtype, shape: [...logitsShape] };
}

export interface EmittedLoss {
  /** scalar loss value */
  loss: string;
  /** dLoss/dlogits, written directly (fused) rather than by differentiating the loss ops */
  gradLogits: string;
}

/** Appends the loss and its gradient with respect to the logits. `lossName` names the loss value. */
export function emitLoss(e: Emitter, logits: string, labels: string, spec: LossSpec, lossName: string): EmittedLoss {
  switch (spec.kind) {
    case 'softmax-cross-entropy':
      return softmaxCrossEntropy(e, logits, labels, spec, lossName);
    case 'bce-with-logits':
      return bceWithLogits(e, logits, labels, spec, lossName);
    case 'mse':
      return meanSquaredError(e, logits, labels, lossName);
    default:
      throw new GraftError('CONFIG', 'Unknown loss kind', {
        found: String((spec as { kind?: unknown }).kind),
        choices: LOSS_KINDS,
        fix: 'choose one of the valid loss kinds',
      });
  }
}

/** factor/numel(x) as a scalar of x's type: a constant for static shapes, computed from Size(x) otherwise. */
function perElement(e: Emitter, x: string, factor: number): string {
  const s = e.shape(x);
  if (s && s.every((d): d is number => typeof d === 'number')) {
    return e.scalar(factor / s.reduce((a, b) => a * b, 1), x);
  }
  const n = e.emit('Cast', [e.emit('Size', [x])], { to: e.dtype(x) === 'float64' ? 11 : 1 });
  return e.emit('Div', [e.scalar(factor, x), n]);
}

function checkLength(what: string, values: number[] | undefined, want: Dim, fix: string): void {
  if (values && typeof want === 'number' && values.length !== want) {
    throw new GraftError('CONFIG', `${what} has the wrong length`, {
      expected: `${want} values (one per class)`,
      found: `${values.length}`,
      fix,
    });
  }
}

/**
 * With q the (weighted, smoothed) target distribution of each row and W the sum of target weights:
 * loss = -sum(q * log_softmax(z)) / W, and dloss/dz = (softmax(z) * rowsum(q) - q) / W.
 */
function softmaxCrossEntropy(
  e: Emitter,
  z: string,
  labels: string,
  spec: Extract<LossSpec, { kind: 'softmax-cross-entropy' }>,
  lossName: string,
): EmittedLoss {
  const s = e.shape(z);
  if (!s || s.length !== 2) {
    throw new GraftError('CONFIG', 'Softmax cross-entropy needs 2-D logits [batch, classes]', {
      value: z,
      expected: '[N, C]',
      found: s ? `[${s.join(', ')}]` : 'unknown rank',
      fix: 'put a Flatten/Reshape before the classifier, or pick the value holding [N, C] logits',
    });
  }
  const classes = s[1];
  const weights = spec.classWeights;
  const eps = spec.labelSmoothing ?? 0;
  checkLength('classWeights', weights, classes, 'give one weight per class');
  if (!(eps >= 0 && eps < 1)) {
    throw new GraftError('CONFIG', 'labelSmoothing is out of range', {
      expected: 'a number in [0, 1)',
      found: String(eps),
    });
  }
  if (typeof classes !== 'number') {
    throw new GraftError('CONFIG', 'Softmax cross-entropy needs the number of classes in the logits shape', {
      value: z,
      expected: '[N, C] with a fixed C',
      found: `[${s.join(', ')}]`,
      fix: 'give the classifier output a static class dimension',
    });
  }
  const logp = e.emit('LogSoftmax', [z], { axis: 1 });
  const ids = e.ints(Array.from({ length: classes }, (_, i) => i));
  const hit = e.emit('Equal', [e.emit('Reshape', [labels, e.ints([-1, 1])]), ids]);
  const onehot = e.emit('Cast', [hit], { to: e.dtype(z) === 'float64' ? 11 : 1 });
  const w = weights ? e.floats(weights, z) : undefined;
  const targetW = w ? e.emit('Mul', [onehot, w]) : onehot;
  const total = reduceSum(e, targetW, null, false);
  let q = targetW;
  if (eps > 0) {
    const uniform = weights
      ? e.floats(
          weights.map((v) => (v * eps) / classes),
          z,
        )
      : e.scalar(eps / classes, z);
    q = e.emit('Add', [e.emit('Mul', [targetW, e.scalar(1 - eps, z)]), uniform]);
  }
  const nll = e.emit('Neg', [reduceSum(e, e.emit('Mul', [q, logp]), null, false)]);
  const loss = e.emit('Div', [nll, total], undefined, { outputs: [lossName] });
  const p = e.emit('Exp', [logp]);
  // Without class weights every row of q sums to 1, so the row sums drop out.
  const scaled = weights ? e.emit('Mul', [p, reduceSum(e, q, [1], true)]) : p;
  const gradLogits = e.emit('Div', [e.emit('Sub', [scaled, q]), total]);
  return { loss, gradLogits };
}

/**
 * Per element, with sp = softplus(z) written stably as relu(z) + log(1 + exp(-|z|)) and l = 1 + (pw - 1) y:
 * loss = l * sp - pw * y * z, dloss/dz = l * sigmoid(z) - pw * y (pw = 1 without posWeight).
 */
function bceWithLogits(
  e: Emitter,
  z: string,
  y: string,
  spec: Extract<LossSpec, { kind: 'bce-with-logits' }>,
  lossName: string,
): EmittedLoss {
  const s = e.shape(z);
  checkLength('posWeight', spec.posWeight, s?.[s.length - 1], 'give one positive weight per output (last axis)');
  const sp = e.emit('Add', [
    e.emit('Relu', [z]),
    e.emit('Log', [e.emit('Add', [e.emit('Exp', [e.emit('Neg', [e.emit('Abs', [z])])]), e.scalar(1, z)])]),
  ]);
  const sig = e.emit('Sigmoid', [z]);
  let elementLoss: string;
  let grad: string;
  if (!spec.posWeight) {
    elementLoss = e.emit('Sub', [sp, e.emit('Mul', [y, z])]);
    grad = e.emit('Sub', [sig, y]);
  } else {
    const pw = e.floats(spec.posWeight, z);
    const l = e.emit('Add', [
      e.emit('Mul', [
        y,
        e.floats(
          spec.posWeight.map((v) => v - 1),
          z,
        ),
      ]),
      e.scalar(1, z),
    ]);
    const pwy = e.emit('Mul', [y, pw]);
    elementLoss = e.emit('Sub', [e.emit('Mul', [l, sp]), e.emit('Mul', [pwy, z])]);
    grad = e.emit('Sub', [e.emit('Mul', [l, sig]), pwy]);
  }
  const loss = e.emit('Identity', [reduceMean(e, elementLoss, null, false)], undefined, { outputs: [lossName] });
  return { loss, gradLogits: e.emit('Mul', [grad, perElement(e, z, 1)]) };
}

/** loss = mean((z - y)^2), dloss/dz = 2 (z - y) / numel. */
function meanSquaredError(e: Emitter, z: string, y: string, lossName: string): EmittedLoss {
  const d = e.emit('Sub', [z, y]);
  const loss = e.emit('Identity', [reduceMean(e, e.emit('Mul', [d, d]), null, false)], undefined, {
    outputs: [lossName],
  });
  const gradLogits = e.emit('Mul', [d, perElement(e, z, 2)]);
  return { loss, gradLogits };
}
