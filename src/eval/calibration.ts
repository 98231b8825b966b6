import { GraftError } from '../errors.js';
import {
  type LabelsInput,
  type ScoresInput,
  ScoreMatrix,
  checkProbabilities,
  logSumExp,
  softmax,
  toLabels,
  toScoreMatrix,
} from './scores.js';

export const DEFAULT_CALIBRATION_BINS = 15;

export interface ReliabilityBin {
  lower: number;
  upper: number;
  count: number;
  /** mean of the top probability over the bin's examples; null for an empty bin */
  meanConfidence: number | null;
  /** fraction of the bin's examples whose top class is right; null for an empty bin */
  accuracy: number | null;
}

export interface Calibration {
  bins: ReliabilityBin[];
  /** expected calibration error: sum over bins of (count / n) * |accuracy - meanConfidence| */
  ece: number;
  /** largest |accuracy - meanConfidence| over non-empty bins */
  maxCalibrationError: number;
}

/**
 * Reliability diagram data and calibration errors. Confidence is the top probability of each
 * example and it is "right" when that top class (the first, on ties) is the label. Bins split [0, 1]
 * into equal widths, each holding (lower, upper], the usual convention (Guo et al., 2017).
 */
export function calibration(
  probabilities: ScoresInput,
  labels: LabelsInput,
  numBins: number = DEFAULT_CALIBRATION_BINS,
): Calibration {
  if (!Number.isInteger(numBins) || numBins < 1) {
    throw new GraftError('BAD_INPUT', 'The number of calibration bins must be a positive integer', {
      expected: 'an integer >= 1',
      found: String(numBins),
      fix: `use ${DEFAULT_CALIBRATION_BINS} bins`,
    });
  }
  const m = toScoreMatrix(probabilities, 'probabilities');
  checkProbabilities(m);
  const y = toLabels(labels, m.rows, m.cols);
  const count = new Float64Array(numBins);
  const confSum = new Float64Array(numBins);
  const rightSum = new Float64Array(numBins);
  for (let i = 0; i < m.rows; i++) {
    const o = i * m.cols;
    let best = 0;
    for (let j = 1; j < m.cols; j++) if (m.data[o + j]! > m.data[o + best]!) best = j;
    const conf = Math.min(m.data[o + best]!, 1);
    const b = binOf(conf, numBins);
    count[b]!++;
    confSum[b]! += conf;
    if (best === y[i]) rightSum[b]!++;
  }
  const bins: ReliabilityBin[] = [];
  let ece = 0;
  let mce = 0;
  for (let b = 0; b < numBins; b++) {
    const n = count[b]!;
    const meanConfidence = n > 0 ? confSum[b]! / n : null;
    const acc = n > 0 ? rightSum[b]! / n : null;
    bins.push({ lower: b / numBins, upper: (b + 1) / numBins, count: n, meanConfidence, accuracy: acc });
    if (n > 0) {
      const gap = Math.abs(acc! - meanConfidence!);
      ece += (n / m.rows) * gap;
      mce = Math.max(mce, gap);
    }
  }
  return { bins, ece, maxCalibrationError: mce };
}

export function expectedCalibrationError(
  probabilities: ScoresInput,
  labels: LabelsInput,
  numBins: number = DEFAULT_CALIBRATION_BINS,
): number {
  return calibration(probabilities, labels, numBins).ece;
}

/** Bin b holds (b/B, (b+1)/B]; bin 0 also holds 0. Compared against the same b/B the diagram reports. */
function binOf(conf: number, numBins: number): number {
  let b = Math.ceil(conf * numBins) - 1;
  if (b < 0) b = 0;
  if (b > numBins - 1) b = numBins - 1;
  // conf * numBins can round across an edge; settle it against the edges themselves
  if (b > 0 && conf <= b / numBins) b--;
  else if (b < numBins - 1 && conf > (b + 1) / numBins) b++;
  return b;
}

export interface TemperatureFit {
  /** T > 0; calibrated probabilities are softmax(logits / T) */
  temperature: number;
  nllBefore: number;
  nllAfter: number;
  eceBefore: number;
  eceAfter: number;
  iterations: number;
  /** set when the optimum lies outside [minTemperature, maxTemperature] and T was held at that bound */
  clamped?: 'min' | 'max';
}

export interface TemperatureOptions {
  minTemperature?: number;
  maxTemperature?: number;
  bins?: number;
}

/**
 * Fits one temperature on validation logits by minimising the mean negative log-likelihood of
 * softmax(logits / T) (Guo et al., 2017).
 *
 * The search runs over b = 1/T, where the NLL is convex: its second derivative is the mean variance
 * of the logits under the scaled softmax. So the minimum is the single root of the first derivative,
 * found by Newton steps kept inside a shrinking bracket (bisection when a step would leave it).
 * Deterministic, and since T = 1 is inside the search range the fitted NLL is never worse than the
 * original one.
 */
export function fitTemperature(
  logits: ScoresInput,
  labels: LabelsInput,
  options: TemperatureOptions = {},
): TemperatureFit {
  const m = toScoreMatrix(logits, 'logits');
  const y = toLabels(labels, m.rows, m.cols);
  const minT = options.minTemperature ?? 1e-3;
  const maxT = options.maxTemperature ?? 1e3;
  if (!(minT > 0 && minT <= 1 && maxT >= 1 && Number.isFinite(maxT))) {
    throw new GraftError('BAD_INPUT', 'Temperature bounds must bracket 1', {
      expected: '0 < minTemperature <= 1 <= maxTemperature < Infinity',
      found: `minTemperature ${minT}, maxTemperature ${maxT}`,
      fix: 'leave the bounds unset (1e-3 and 1e3)',
    });
  }
  let lo = 1 / maxT;
  let hi = 1 / minT;
  let iterations = 0;
  let beta: number;
  let clamped: TemperatureFit['clamped'];
  if (nllDerivatives(m, y, lo).grad >= 0) {
    // the labels are no better explained by sharper predictions even at the flattest allowed: the
    // model is at or below chance on this split
    beta = lo;
    clamped = 'max';
  } else if (nllDerivatives(m, y, hi).grad <= 0) {
    // still improving at the sharpest allowed: the split is separated with margin
    beta = hi;
    clamped = 'min';
  } else {
    beta = 1;
    for (; iterations < 200; iterations++) {
      const { grad, curvature } = nllDerivatives(m, y, beta);
      if (grad === 0) break;
      if (grad < 0) lo = beta;
      else hi = beta;
      const newton = curvature > 0 ? grad / curvature : NaN;
      // converged: tested before the bracket, since a last tiny step may land on the bracket end itself
      if (Math.abs(newton) <= 1e-12 * beta) break;
      let next = beta - newton;
      // bisect in log space (the bracket spans orders of magnitude) when Newton leaves the bracket
      if (!(next > lo && next < hi)) next = Math.sqrt(lo * hi);
      beta = next;
      if (hi - lo <= 1e-12 * beta) break;
    }
  }
  const temperature = 1 / beta;
  const bins = options.bins ?? DEFAULT_CALIBRATION_BINS;
  const scaled = applyTemperature(m, temperature);
  const fit: TemperatureFit = {
    temperature,
    nllBefore: meanNll(m, y, 1),
    nllAfter: meanNll(m, y, beta),
    eceBefore: calibration(softmax(m), y, bins).ece,
    eceAfter: calibration(softmax(scaled), y, bins).ece,
    iterations,
  };
  if (clamped) fit.clamped = clamped;
  return fit;
}

/** logits / T, still logits: pass them to softmax() for calibrated probabilities. */
export function applyTemperature(logits: ScoresInput, temperature: number): ScoreMatrix {
  if (!(temperature > 0 && Number.isFinite(temperature))) {
    throw new GraftError('BAD_INPUT', 'Temperature must be a positive finite number', {
      expected: 'T > 0',
      found: String(temperature),
      fix: 'use the temperature returned by fitTemperature',
    });
  }
  const m = toScoreMatrix(logits, 'logits');
  const out = new Float64Array(m.data.length);
  for (let k = 0; k < out.length; k++) out[k] = m.data[k]! / temperature;
  return new ScoreMatrix(m.rows, m.cols, out);
}

/** Mean cross-entropy of softmax(beta * logits). */
function meanNll(m: ScoreMatrix, y: Int32Array, beta: number): number {
  let total = 0;
  for (let i = 0; i < m.rows; i++) total += logSumExp(m.row(i), beta) - beta * m.data[i * m.cols + y[i]!]!;
  return total / m.rows;
}

/** First and second derivative of meanNll in beta: mean(E_p[z] - z_y) and mean(Var_p[z]). */
function nllDerivatives(m: ScoreMatrix, y: Int32Array, beta: number): { grad: number; curvature: number } {
  let grad = 0;
  let curvature = 0;
  for (let i = 0; i < m.rows; i++) {
    const o = i * m.cols;
    let max = -Infinity;
    for (let j = 0; j < m.cols; j++) max = Math.max(max, beta * m.data[o + j]!);
    let sum = 0;
    let mean = 0;
    for (let j = 0; j < m.cols; j++) {
      const w = Math.exp(beta * m.data[o + j]! - max);
      sum += w;
      mean += w * m.data[o + j]!;
    }
    mean /= sum;
    let variance = 0;
    for (let j = 0; j < m.cols; j++) {
      const d = m.data[o + j]! - mean;
      variance += Math.exp(beta * m.data[o + j]! - max) * d * d;
    }
    grad += mean - m.data[o + y[i]!]!;
    curvature += variance / sum;
  }
  return { grad: grad / m.rows, curvature: curvature / m.rows };
}
