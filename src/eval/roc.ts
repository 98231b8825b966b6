import { GraftError } from '../errors.js';
import { type LabelsInput, type ScoresInput, toLabels, toScoreMatrix } from './scores.js';

export interface OvrRocAuc {
  /** unweighted mean over classes with a defined AUC; null when no class has one */
  macro: number | null;
  /** mean weighted by the number of true examples of each class */
  weighted: number | null;
  /** per class; null where it is undefined (the class has no examples, or every example is of it) */
  perClass: (number | null)[];
  /** class indices left out of the averages */
  skipped: number[];
  notes: string[];
}

/**
 * Area under the ROC curve of one score against a binary truth, or null when only one side is present.
 *
 * Computed as the probability that a random positive outranks a random negative, ties counting one
 * half: that is exactly the trapezoidal area sklearn integrates, where a group of tied scores is one
 * diagonal step of the curve. Counting in integers (doubled, to keep the halves whole) and dividing
 * once keeps the result exact up to the final division.
 */
export function binaryRocAuc(scores: ArrayLike<number>, positive: ArrayLike<boolean | number>): number | null {
  if (scores.length !== positive.length) {
    throw new GraftError('SHAPE_MISMATCH', 'ROC AUC needs one truth value per score', {
      expected: `${scores.length} truth values`,
      found: `${positive.length}`,
      fix: 'pass scores and truth for the same examples, in the same order',
    });
  }
  let numPos = 0;
  for (let i = 0; i < positive.length; i++) if (positive[i]) numPos++;
  const numNeg = scores.length - numPos;
  if (numPos === 0 || numNeg === 0) return null;
  const pos = new Float64Array(numPos);
  const neg = new Float64Array(numNeg);
  let a = 0;
  let b = 0;
  for (let i = 0; i < scores.length; i++) {
    const s = scores[i]!;
    if (Number.isNaN(s)) {
      throw new GraftError('BAD_INPUT', 'ROC AUC scores contain NaN', {
        expected: 'finite scores',
        found: `NaN at example ${i}`,
        fix: 'check the model for diverged training before evaluating',
      });
    }
    if (positive[i]) pos[a++] = s + 0;
    else neg[b++] = s + 0;
  }
  // native numeric sort of typed arrays: no comparator, fast even for large validation sets
  pos.sort();
  neg.sort();
  let doubledWins = 0;
  let below = 0; // negatives strictly below the current positive score
  for (let i = 0; i < numPos;) {
    const s = pos[i]!;
    let same = i;
    while (same < numPos && pos[same] === s) same++;
    while (below < numNeg && neg[below]! < s) below++;
    let equal = below;
    while (equal < numNeg && neg[equal] === s) equal++;
    doubledWins += (same - i) * (2 * below + (equal - below));
    i = same;
  }
  return doubledWins / (2 * numPos * numNeg);
}

/**
 * One-vs-rest ROC AUC of every class column against "label is this class", with the macro and
 * support-weighted means (sklearn's roc_auc_score(multi_class='ovr')). A class with no examples has
 * no AUC; instead of failing as sklearn does, it is skipped and a note says so, because a validation
 * split missing a rare class is common and the other classes' AUCs are still meaningful.
 */
export function rocAucOvr(scores: ScoresInput, labels: LabelsInput, labelNames?: readonly string[]): OvrRocAuc {
  const m = toScoreMatrix(scores);
  const y = toLabels(labels, m.rows, m.cols);
  const column = new Float64Array(m.rows);
  const truth = new Uint8Array(m.rows);
  const perClass: (number | null)[] = [];
  const skipped: number[] = [];
  let sum = 0;
  let weightedSum = 0;
  let weightTotal = 0;
  for (let c = 0; c < m.cols; c++) {
    let support = 0;
    for (let i = 0; i < m.rows; i++) {
      column[i] = m.data[i * m.cols + c]!;
      truth[i] = y[i] === c ? 1 : 0;
      support += truth[i]!;
    }
    const auc = binaryRocAuc(column, truth);
    perClass.push(auc);
    if (auc === null) {
      skipped.push(c);
      continue;
    }
    sum += auc;
    weightedSum += auc * support;
    weightTotal += support;
  }
  const kept = m.cols - skipped.length;
  const notes: string[] = [];
  const name = (c: number): string => labelNames?.[c] ?? String(c);
  const absent = skipped.filter((c) => !y.includes(c));
  const only = skipped.filter((c) => y.includes(c));
  if (absent.length > 0) {
    notes.push(
      `ROC AUC skipped ${absent.length} class(es) with no examples in the labels: ${absent.map(name).join(', ')}`,
    );
  }
  if (only.length > 0) {
    notes.push(`ROC AUC is undefined: every example is of class ${only.map(name).join(', ')}`);
  }
  return {
    macro: kept > 0 ? sum / kept : null,
    weighted: weightTotal > 0 ? weightedSum / weightTotal : null,
    perClass,
    skipped,
    notes,
  };
}
