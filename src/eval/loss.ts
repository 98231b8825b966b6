import { GraftError } from '../errors.js';
import {
  type LabelsInput,
  type ScoreKind,
  type ScoreMatrix,
  type ScoresInput,
  argmaxRows,
  checkProbabilities,
  logSumExp,
  softmax,
  toLabels,
  toScoreMatrix,
} from './scores.js';

/** sklearn's default (eps='auto' for float64 input): probabilities are clipped to [eps, 1 - eps]. */
export const LOG_LOSS_EPS = Number.EPSILON;

export interface LogLossOptions {
  eps?: number;
}

/**
 * Mean negative log-likelihood of the true class, as sklearn's log_loss: each probability is clipped
 * to [eps, 1 - eps] and the row renormalised, so a confident mistake costs about -log(eps) (~36)
 * instead of infinity.
 */
export function logLoss(probabilities: ScoresInput, labels: LabelsInput, options: LogLossOptions = {}): number {
  const m = toScoreMatrix(probabilities, 'probabilities');
  checkProbabilities(m);
  const y = toLabels(labels, m.rows, m.cols);
  const eps = checkEps(options.eps ?? LOG_LOSS_EPS);
  let total = 0;
  for (let i = 0; i < m.rows; i++) total += clippedLoss(m, i, y[i]!, eps);
  return total / m.rows;
}

/**
 * Cross-entropy of each example. From logits it is exact (log-softmax), so examples the model gets
 * badly wrong keep their order instead of all saturating at the clipping bound; from probabilities
 * it uses sklearn's clipping.
 */
export function perExampleLoss(
  scores: ScoresInput,
  labels: LabelsInput,
  kind: ScoreKind,
  options: LogLossOptions = {},
): Float64Array {
  const m = toScoreMatrix(scores, kind);
  const y = toLabels(labels, m.rows, m.cols);
  const out = new Float64Array(m.rows);
  if (kind === 'logits') {
    for (let i = 0; i < m.rows; i++) out[i] = logSumExp(m.row(i)) - m.data[i * m.cols + y[i]!]!;
  } else {
    checkProbabilities(m);
    const eps = checkEps(options.eps ?? LOG_LOSS_EPS);
    for (let i = 0; i < m.rows; i++) out[i] = clippedLoss(m, i, y[i]!, eps);
  }
  return out;
}

export interface TopLoss {
  /** row of the example in the scores; the caller maps it back to a file or record */
  index: number;
  actual: number;
  predicted: number;
  /** probability the model gave its predicted class */
  predictedProbability: number;
  /** probability the model gave the true class */
  actualProbability: number;
  loss: number;
}

export interface TopLossesOptions extends LogLossOptions {
  /** how many examples to return (default 10) */
  count?: number;
}

/**
 * The examples with the highest loss, worst first — usually mislabelled or ambiguous inputs, and the
 * quickest way to see what the model gets wrong. Equal losses keep their original order.
 */
export function topLosses(
  scores: ScoresInput,
  labels: LabelsInput,
  kind: ScoreKind,
  options: TopLossesOptions = {},
): TopLoss[] {
  const m = toScoreMatrix(scores, kind);
  const count = options.count ?? 10;
  if (!Number.isInteger(count) || count < 0) {
    throw new GraftError('BAD_INPUT', 'The number of top losses must be a non-negative integer', {
      expected: 'an integer >= 0',
      found: String(count),
      fix: 'use count: 10',
    });
  }
  const y = toLabels(labels, m.rows, m.cols);
  const losses = perExampleLoss(m, y, kind, options);
  const probs = kind === 'logits' ? softmax(m) : m;
  const predicted = argmaxRows(probs);
  const order = Array.from({ length: m.rows }, (_, i) => i);
  order.sort((a, b) => losses[b]! - losses[a]! || a - b);
  return order.slice(0, count).map((i) => ({
    index: i,
    actual: y[i]!,
    predicted: predicted[i]!,
    predictedProbability: probs.data[i * m.cols + predicted[i]!]!,
    actualProbability: probs.data[i * m.cols + y[i]!]!,
    loss: losses[i]!,
  }));
}

function clippedLoss(m: ScoreMatrix, i: number, label: number, eps: number): number {
  const o = i * m.cols;
  let sum = 0;
  for (let j = 0; j < m.cols; j++) sum += clip(m.data[o + j]!, eps);
  return -Math.log(clip(m.data[o + label]!, eps) / sum);
}

function clip(p: number, eps: number): number {
  return p < eps ? eps : p > 1 - eps ? 1 - eps : p;
}

function checkEps(eps: number): number {
  if (!(eps > 0 && eps < 0.5)) {
    throw new GraftError('BAD_INPUT', 'log loss eps must be in (0, 0.5)', {
      expected: 'a small positive number such as 1e-15',
      found: String(eps),
      fix: 'leave eps unset for the float64 machine epsilon',
    });
  }
  return eps;
}
