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

/**
 * The rule a run calibrates by (`chooseTemperature`). Temperature scaling is worth its one parameter only when
 * it is fitted on enough held-out predictions and shown to help on predictions it was not fitted on:
 * - `minExamples`: fewer held-out predictions than this and no temperature is fitted. On small sets the
 *   fitted T swings with single examples: the plain fit gave T = 0.001 on 9 validation images (all right with
 *   a margin, so the fit ran to its bound) and the exported model then gave random noise 100%; on
 *   Fashion-MNIST linear probes with 10 validation images it gave T = 0.50, 0.93 and 0.97 over three seeds.
 * - `logSd`: a Gaussian prior on ln T centred on ln 1 = 0 with this standard deviation. It is weak (a
 *   handful of examples' worth of evidence), so it moves a fit on hundreds of predictions very little, but
 *   it keeps a fit on a separable set from running off to T -> 0 or to infinity.
 * - `minTemperature`/`maxTemperature`: the search range. A fit that still lands on an end despite the prior
 *   describes the held-out set (all right with a margin, or at chance), not the model: it is not used.
 * - `folds`: the check. The held-out predictions are split into folds; a temperature fitted on the others
 *   scores each fold. The fitted temperature is kept only when this cross-validated log loss is below the
 *   log loss at T = 1 by more than one standard error of the per-example difference (the one-standard-error
 *   rule of model selection: a gain smaller than its own noise is no evidence). Otherwise the model's own
 *   probabilities (T = 1) are kept.
 * So a kept temperature has lowered the log loss of predictions it never saw, and T = 1 is what every
 * failure falls back to: calibration cannot make the model worse than the uncalibrated one by more than
 * the check's own noise.
 */
export interface TemperatureRule {
  minExamples: number;
  logSd: number;
  minTemperature: number;
  maxTemperature: number;
  folds: number;
}

export const TEMPERATURE_RULE: Readonly<TemperatureRule> = Object.freeze({
  minExamples: 100,
  logSd: 0.5,
  minTemperature: 0.05,
  maxTemperature: 20,
  folds: 5,
});

export interface TemperatureChoice {
  /** the temperature to use: the fitted one when kept, else 1 */
  temperature: number;
  kept: boolean;
  /** fitted: kept; too-few: not enough examples; at-bound: the fit ran into the range's end; no-gain: the check failed */
  outcome: 'fitted' | 'too-few' | 'at-bound' | 'no-gain';
  /** one sentence saying what was done and why */
  reason: string;
  examples: number;
  /** the regularised fit on all the examples, when one was made */
  fitted?: number;
  /** folds of the check (0 when no fit was made) */
  folds: number;
  /** mean log loss of the examples at T = 1 */
  nllBefore: number;
  /** mean log loss of each fold at the temperature fitted on the other folds (the check); nllBefore when unfitted */
  nllAfter: number;
  /** standard error of the mean per-example gain nllBefore - nllAfter (0 when unfitted) */
  gainError: number;
  /** ECE of the examples at T = 1 and at the chosen temperature */
  eceBefore: number;
  eceAfter: number;
}

/**
 * Chooses the softmax temperature for held-out logits by TEMPERATURE_RULE (see there why): fewer than
 * `minExamples` -> T = 1; else the prior-weighted fit of ln T, T = 1 when it lands on a bound of the range,
 * and the fitted T only when k-fold cross-validation on the same examples shows a log loss lower than at
 * T = 1 by more than one standard error.
 */
export function chooseTemperature(
  logits: ScoresInput,
  labels: LabelsInput,
  rule: Partial<TemperatureRule> = {},
  bins: number = DEFAULT_CALIBRATION_BINS,
): TemperatureChoice {
  const r = { ...TEMPERATURE_RULE, ...rule };
  if (!(r.minTemperature > 0 && r.minTemperature < 1 && r.maxTemperature > 1 && Number.isFinite(r.maxTemperature))) {
    throw new GraftError('BAD_INPUT', 'Temperature bounds must bracket 1', {
      expected: '0 < minTemperature < 1 < maxTemperature < Infinity',
      found: `minTemperature ${r.minTemperature}, maxTemperature ${r.maxTemperature}`,
      fix: 'leave the bounds unset',
    });
  }
  const m = toScoreMatrix(logits, 'logits');
  const y = toLabels(labels, m.rows, m.cols);
  const n = m.rows;
  const nllBefore = meanNll(m, y, 1);
  const eceBefore = calibration(softmax(m), y, bins).ece;
  const unfitted = (outcome: TemperatureChoice['outcome'], reason: string, extra: Partial<TemperatureChoice> = {}) => ({
    temperature: 1,
    kept: false,
    outcome,
    reason,
    examples: n,
    folds: 0,
    nllBefore,
    nllAfter: nllBefore,
    gainError: 0,
    eceBefore,
    eceAfter: eceBefore,
    ...extra,
  });
  if (n < r.minExamples) {
    return unfitted(
      'too-few',
      `no temperature fitted: ${n} held-out prediction${n === 1 ? '' : 's'}, fewer than the ${r.minExamples} a fit needs; T = 1`,
    );
  }
  const all = Int32Array.from({ length: n }, (_, i) => i);
  const fit = mapTemperature(m, y, all, r);
  if (fit.atBound) {
    const low = fit.temperature < 1;
    return unfitted(
      'at-bound',
      `no temperature kept: the fit ran into its ${low ? 'lower' : 'upper'} bound ${fit.temperature} on ${n} held-out predictions ` +
        `(${low ? 'sharper is still better there: they are all or nearly all right' : 'flatter is still better there: they are no better than chance'}), ` +
        'which says more about these examples than about the model; T = 1',
      { fitted: fit.temperature },
    );
  }
  // the check: each fold scored at a temperature fitted without it
  const k = Math.min(r.folds, n);
  // per-example gain: log loss at T = 1 minus log loss at the temperature fitted without the example's fold
  const gain = new Float64Array(n);
  for (let f = 0; f < k; f++) {
    const rest = all.filter((i) => i % k !== f);
    const held = all.filter((i) => i % k === f);
    const t = mapTemperature(m, y, rest, r).temperature;
    for (const i of held) gain[i] = exampleNll(m, y, i, 1) - exampleNll(m, y, i, 1 / t);
  }
  const meanGain = gain.reduce((a, g) => a + g, 0) / n;
  const variance = gain.reduce((a, g) => a + (g - meanGain) ** 2, 0) / Math.max(1, n - 1);
  const gainError = Math.sqrt(variance / n);
  const nllAfter = nllBefore - meanGain;
  const fitted = fit.temperature;
  if (!(meanGain > gainError)) {
    return unfitted(
      'no-gain',
      `no temperature kept: T = ${fitted.toFixed(3)} did not lower the log loss of held-out predictions in ${k}-fold ` +
        `cross-validation by more than its standard error (${nllBefore.toFixed(4)} -> ${nllAfter.toFixed(4)}, ` +
        `gain ${meanGain.toFixed(4)} ± ${gainError.toFixed(4)}); T = 1`,
      { fitted, folds: k, nllAfter, gainError },
    );
  }
  return {
    temperature: fitted,
    kept: true,
    outcome: 'fitted',
    reason:
      `T = ${fitted.toFixed(3)} fitted on ${n} held-out predictions; it lowers their log loss in ${k}-fold ` +
      `cross-validation from ${nllBefore.toFixed(4)} to ${nllAfter.toFixed(4)} (gain ${meanGain.toFixed(4)} ± ${gainError.toFixed(4)})`,
    examples: n,
    fitted,
    folds: k,
    nllBefore,
    nllAfter,
    gainError,
    eceBefore,
    eceAfter: calibration(softmax(applyTemperature(m, fitted)), y, bins).ece,
  };
}

/**
 * The maximum a posteriori temperature on some rows: minimises the rows' total NLL plus
 * (ln T)^2 / (2 logSd^2) over ln T in [ln minT, ln maxT], by a grid (which also finds a minimum on an end)
 * refined by golden-section search around the best grid point.
 */
function mapTemperature(
  m: ScoreMatrix,
  y: Int32Array,
  rows: Int32Array,
  r: TemperatureRule,
): { temperature: number; atBound: boolean } {
  const lo = Math.log(r.minTemperature);
  const hi = Math.log(r.maxTemperature);
  const cost = (u: number) => {
    let s = 0;
    const beta = Math.exp(-u);
    for (const i of rows) s += exampleNll(m, y, i, beta);
    return s + (u * u) / (2 * r.logSd * r.logSd);
  };
  const steps = 64;
  let best = 0;
  let bestCost = Infinity;
  for (let s = 0; s <= steps; s++) {
    const c = cost(lo + ((hi - lo) * s) / steps);
    if (c < bestCost) {
      bestCost = c;
      best = s;
    }
  }
  if (best === 0) return { temperature: r.minTemperature, atBound: true };
  if (best === steps) return { temperature: r.maxTemperature, atBound: true };
  let a = lo + ((hi - lo) * (best - 1)) / steps;
  let b = lo + ((hi - lo) * (best + 1)) / steps;
  const phi = (Math.sqrt(5) - 1) / 2;
  let c = b - phi * (b - a);
  let d = a + phi * (b - a);
  let fc = cost(c);
  let fd = cost(d);
  for (let it = 0; it < 60 && b - a > 1e-9; it++) {
    if (fc < fd) {
      b = d;
      d = c;
      fd = fc;
      c = b - phi * (b - a);
      fc = cost(c);
    } else {
      a = c;
      c = d;
      fc = fd;
      d = a + phi * (b - a);
      fd = cost(d);
    }
  }
  return { temperature: Math.exp((a + b) / 2), atBound: false };
}

function exampleNll(m: ScoreMatrix, y: Int32Array, i: number, beta: number): number {
  return logSumExp(m.row(i), beta) - beta * m.data[i * m.cols + y[i]!]!;
}
