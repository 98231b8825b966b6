import { GraftError } from '../errors.js';
import { DEFAULT_CALIBRATION_BINS, type ReliabilityBin, applyTemperature, calibration } from './calibration.js';
import {
  type ClassScores,
  binaryF1,
  confusionMatrix,
  precisionRecallF1FromConfusion,
  topKAccuracy,
} from './classification.js';
import { type TopLoss, logLoss, topLosses } from './loss.js';
import { rocAucOvr } from './roc.js';
import {
  type LabelsInput,
  type ScoreKind,
  type ScoresInput,
  argmaxRows,
  checkProbabilities,
  softmax,
  toLabels,
  toScoreMatrix,
} from './scores.js';

export interface ReportInput {
  scores: ScoresInput;
  kind: ScoreKind;
  labels: LabelsInput;
  /** one name per class column; defaults to "0", "1", ... */
  labelNames?: readonly string[];
  /** k values for top-k accuracy; default [5] when there are more than 5 classes, else [2] above 2 */
  topK?: readonly number[];
  /** equal-width calibration bins (default 15) */
  bins?: number;
  /** how many worst examples to list (default 10) */
  topLosses?: number;
  /** binary problems: the class reported as positive (default 1) */
  positiveClass?: number;
  /** logits only: divide by this temperature first (from fitTemperature) */
  temperature?: number;
}

export interface ClassRow extends ClassScores {
  label: string;
  support: number;
  /** one-vs-rest ROC AUC; null when the class has no examples */
  rocAuc: number | null;
}

/** Everything `graft train` and `graft eval` report about a classifier; plain JSON (no NaN/Infinity). */
export interface ClassificationReport {
  numExamples: number;
  numClasses: number;
  labelNames: string[];
  accuracy: number;
  topK: { k: number; accuracy: number }[];
  /** sklearn-style (clipped) mean cross-entropy */
  logLoss: number;
  perClass: ClassRow[];
  macro: ClassScores;
  weighted: ClassScores;
  /** `confusion[actual][predicted]` */
  confusion: number[][];
  rocAuc: { macro: number | null; weighted: number | null; skipped: string[] };
  /** present for two-class problems */
  binary?: { positiveClass: string; f1: number; rocAuc: number | null };
  calibration: {
    ece: number;
    maxCalibrationError: number;
    bins: ReliabilityBin[];
    /** the temperature applied before computing every metric, when one was given */
    temperature?: number;
  };
  /** worst examples first; `index` is the row in the input, for the caller to map to a file */
  topLosses: TopLoss[];
  notes: string[];
}

export function classificationReport(input: ReportInput): ClassificationReport {
  let m = toScoreMatrix(input.scores, input.kind);
  const k = m.cols;
  const labelNames = input.labelNames ? [...input.labelNames] : Array.from({ length: k }, (_, c) => String(c));
  if (labelNames.length !== k) {
    throw new GraftError('SHAPE_MISMATCH', 'Label names do not match the number of score columns', {
      expected: `${k} label names`,
      found: `${labelNames.length}`,
      fix: 'pass the label list the head was built with, in class-index order',
    });
  }
  const y = toLabels(input.labels, m.rows, k);
  const notes: string[] = [];
  if (input.temperature !== undefined) {
    if (input.kind !== 'logits') {
      throw new GraftError('BAD_INPUT', 'A temperature can only be applied to logits', {
        expected: "kind: 'logits'",
        found: `kind: '${input.kind}'`,
        fix: 'pass the logits, or drop the temperature',
      });
    }
    m = applyTemperature(m, input.temperature);
  }
  const probs = input.kind === 'logits' ? softmax(m) : m;
  if (input.kind === 'probabilities') checkProbabilities(probs);
  const predicted = argmaxRows(probs);

  const confusion = confusionMatrix(y, predicted, k);
  const prf = precisionRecallF1FromConfusion(confusion);
  const roc = rocAucOvr(probs, y, labelNames);
  notes.push(...roc.notes);
  const empty = prf.perClass.flatMap((r, c) => (r.support === 0 ? [labelNames[c]!] : []));
  if (empty.length > 0) {
    notes.push(`recall and F1 of ${empty.join(', ')} are 0 (no examples) and count in the macro average`);
  }

  const ks = input.topK ?? (k > 5 ? [5] : k > 2 ? [2] : []);
  const cal = calibration(probs, y, input.bins ?? DEFAULT_CALIBRATION_BINS);
  let correct = 0;
  for (let i = 0; i < m.rows; i++) if (predicted[i] === y[i]) correct++;

  const report: ClassificationReport = {
    numExamples: m.rows,
    numClasses: k,
    labelNames,
    accuracy: correct / m.rows,
    topK: ks.map((kk) => ({ k: kk, accuracy: topKAccuracy(probs, y, kk) })),
    logLoss: logLoss(probs, y),
    perClass: prf.perClass.map((r, c) => ({ label: labelNames[c]!, ...r, rocAuc: roc.perClass[c]! })),
    macro: prf.macro,
    weighted: prf.weighted,
    confusion,
    rocAuc: { macro: roc.macro, weighted: roc.weighted, skipped: roc.skipped.map((c) => labelNames[c]!) },
    calibration: { ece: cal.ece, maxCalibrationError: cal.maxCalibrationError, bins: cal.bins },
    topLosses: topLosses(m, y, input.kind, { count: input.topLosses ?? 10 }),
    notes,
  };
  if (input.temperature !== undefined) report.calibration.temperature = input.temperature;
  if (k === 2) {
    const pos = input.positiveClass ?? 1;
    if (pos !== 0 && pos !== 1) {
      throw new GraftError('BAD_INPUT', 'positiveClass must be 0 or 1 for a two-class problem', {
        expected: '0 or 1',
        found: String(pos),
        fix: `use the index of the positive label in [${labelNames.join(', ')}]`,
        choices: ['0', '1'],
      });
    }
    report.binary = { positiveClass: labelNames[pos]!, f1: binaryF1(y, predicted, pos), rocAuc: roc.perClass[pos]! };
  }
  return report;
}
