import { GraftError } from '../errors.js';
import { type LabelsInput, type ScoresInput, toLabels, toScoreMatrix } from './scores.js';

export interface ClassScores {
  precision: number;
  recall: number;
  f1: number;
}

export interface PerClassScores extends ClassScores {
  /** number of examples whose true label is this class */
  support: number;
}

export interface PrecisionRecallF1 {
  perClass: PerClassScores[];
  /** unweighted mean over all classes, including those with no examples (as sklearn with explicit labels) */
  macro: ClassScores;
  /** mean weighted by support */
  weighted: ClassScores;
}

/** Fraction of examples whose prediction equals the label. */
export function accuracy(labels: LabelsInput, predictions: LabelsInput): number {
  const n = labels.length;
  if (n === 0) throw emptyError();
  const t = toLabels(labels, n, undefined);
  const p = toLabels(predictions, n, undefined, 'predictions');
  let hits = 0;
  for (let i = 0; i < n; i++) if (t[i] === p[i]) hits++;
  return hits / n;
}

/**
 * Fraction of examples whose true class is among the k highest scores. Ties within a row go to the
 * lower class index, so top-1 equals accuracy of the arg-max prediction. (sklearn's top_k_accuracy_score
 * breaks ties towards the higher index instead; the two agree whenever a row has no tied scores.)
 */
export function topKAccuracy(scores: ScoresInput, labels: LabelsInput, k: number): number {
  const m = toScoreMatrix(scores);
  const y = toLabels(labels, m.rows, m.cols);
  if (!Number.isInteger(k) || k < 1) {
    throw new GraftError('BAD_INPUT', 'top-k accuracy needs a positive integer k', {
      expected: 'an integer k >= 1',
      found: String(k),
      fix: 'use k = 5 for top-5 accuracy',
    });
  }
  let hits = 0;
  for (let i = 0; i < m.rows; i++) {
    const o = i * m.cols;
    const c = y[i]!;
    const s = m.data[o + c]!;
    // rank of the true class = classes that beat it, counting equal scores at lower indices as beating it
    let rank = 0;
    for (let j = 0; j < m.cols && rank < k; j++) {
      const v = m.data[o + j]!;
      if (v > s || (v === s && j < c)) rank++;
    }
    if (rank < k) hits++;
  }
  return hits / m.rows;
}

/** `matrix[actual][predicted]` counts, rows are true classes (sklearn's convention). */
export function confusionMatrix(labels: LabelsInput, predictions: LabelsInput, numClasses: number): number[][] {
  checkNumClasses(numClasses);
  const n = labels.length;
  const t = toLabels(labels, n, numClasses);
  const p = toLabels(predictions, n, numClasses, 'predictions');
  const out: number[][] = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
  for (let i = 0; i < n; i++) out[t[i]!]![p[i]!]!++;
  return out;
}

/**
 * Per-class precision, recall, F1 and support, and their macro and support-weighted means.
 * A ratio with a zero denominator (class never predicted, or never present) is 0, as sklearn's
 * zero_division=0; F1 is 0 when precision and recall are both 0.
 */
export function precisionRecallF1(
  labels: LabelsInput,
  predictions: LabelsInput,
  numClasses: number,
): PrecisionRecallF1 {
  return precisionRecallF1FromConfusion(confusionMatrix(labels, predictions, numClasses));
}

export function precisionRecallF1FromConfusion(confusion: readonly (readonly number[])[]): PrecisionRecallF1 {
  const k = confusion.length;
  const predicted = new Array<number>(k).fill(0);
  for (const row of confusion) for (let j = 0; j < k; j++) predicted[j]! += row[j]!;
  const perClass: PerClassScores[] = [];
  for (let c = 0; c < k; c++) {
    const row = confusion[c]!;
    const tp = row[c]!;
    const support = row.reduce((a, b) => a + b, 0);
    const precision = ratio(tp, predicted[c]!);
    const recall = ratio(tp, support);
    perClass.push({ precision, recall, f1: f1Of(precision, recall), support });
  }
  const total = perClass.reduce((a, r) => a + r.support, 0);
  if (total === 0) throw emptyError();
  const mean = (key: keyof ClassScores, weighted: boolean): number => {
    let sum = 0;
    for (const r of perClass) sum += weighted ? r[key] * r.support : r[key];
    return sum / (weighted ? total : k);
  };
  return {
    perClass,
    macro: { precision: mean('precision', false), recall: mean('recall', false), f1: mean('f1', false) },
    weighted: { precision: mean('precision', true), recall: mean('recall', true), f1: mean('f1', true) },
  };
}

/** F1 of one class treated as the positive class of a binary problem (sklearn's average='binary'). */
export function binaryF1(labels: LabelsInput, predictions: LabelsInput, positiveClass = 1): number {
  const n = labels.length;
  if (n === 0) throw emptyError();
  const t = toLabels(labels, n, undefined);
  const p = toLabels(predictions, n, undefined, 'predictions');
  let tp = 0;
  let fp = 0;
  let fn = 0;
  for (let i = 0; i < n; i++) {
    const isT = t[i] === positiveClass;
    const isP = p[i] === positiveClass;
    if (isT && isP) tp++;
    else if (isP) fp++;
    else if (isT) fn++;
  }
  return f1Of(ratio(tp, tp + fp), ratio(tp, tp + fn));
}

function f1Of(precision: number, recall: number): number {
  const denom = precision + recall;
  return denom === 0 ? 0 : (2 * precision * recall) / denom;
}

function ratio(num: number, den: number): number {
  return den === 0 ? 0 : num / den;
}

function checkNumClasses(k: number): void {
  if (!Number.isInteger(k) || k < 1) {
    throw new GraftError('BAD_INPUT', 'numClasses must be a positive integer', {
      expected: 'an integer >= 1',
      found: String(k),
      fix: 'pass the number of label names',
    });
  }
}

function emptyError(): GraftError {
  return new GraftError('BAD_INPUT', 'No examples to evaluate', {
    expected: 'at least one example',
    found: '0',
    fix: 'evaluate on a non-empty split',
  });
}
