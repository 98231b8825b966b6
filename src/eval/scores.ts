import { GraftError } from '../errors.js';

/** One row of class scores per example: `[[0.1, 0.9], ...]` or `[Float32Array, ...]`. */
export type ScoreRows = readonly ArrayLike<number>[];

/** Row-major `[numExamples, numClasses]` scores, as an onnxruntime output tensor's `data` holds them. */
export interface FlatScores {
  readonly data: ArrayLike<number>;
  readonly numClasses: number;
}

export type ScoresInput = ScoreRows | FlatScores | ScoreMatrix;

/** Class indices; int64 tensors' BigInt64Array is accepted as is. */
export type LabelsInput = ArrayLike<number> | ArrayLike<bigint>;

/** Whether scores are unnormalised logits or rows of probabilities. */
export type ScoreKind = 'logits' | 'probabilities';

/**
 * Validated float64 scores. Metrics convert their input once into this, so the report builder
 * (which runs a dozen metrics over the same scores) passes one instance around without re-checking.
 */
export class ScoreMatrix {
  readonly rows: number;
  readonly cols: number;
  readonly data: Float64Array;

  constructor(rows: number, cols: number, data: Float64Array) {
    if (data.length !== rows * cols) {
      throw new GraftError('SHAPE_MISMATCH', 'Score matrix data does not match its shape', {
        expected: `${rows * cols} values (${rows} x ${cols})`,
        found: `${data.length} values`,
        fix: 'pass numClasses equal to the last dimension of the scores tensor',
      });
    }
    this.rows = rows;
    this.cols = cols;
    this.data = data;
  }

  row(i: number): Float64Array {
    return this.data.subarray(i * this.cols, (i + 1) * this.cols);
  }
}

/** Checks and copies scores into a ScoreMatrix (or returns the one given). Needs at least two classes. */
export function toScoreMatrix(scores: ScoresInput, what = 'scores'): ScoreMatrix {
  if (scores instanceof ScoreMatrix) return scores;
  let rows: number;
  let cols: number;
  let data: Float64Array;
  if (isFlat(scores)) {
    cols = scores.numClasses;
    if (!Number.isInteger(cols) || cols < 1) {
      throw new GraftError('BAD_INPUT', `numClasses of the ${what} must be a positive integer`, {
        expected: 'an integer >= 2',
        found: String(cols),
        fix: 'pass the last dimension of the scores tensor as numClasses',
      });
    }
    if (scores.data.length % cols !== 0) {
      throw new GraftError('SHAPE_MISMATCH', `The ${what} are not a whole number of rows`, {
        expected: `a multiple of numClasses (${cols}) values`,
        found: `${scores.data.length} values`,
        fix: 'pass numClasses equal to the last dimension of the scores tensor',
      });
    }
    rows = scores.data.length / cols;
    data = Float64Array.from(scores.data);
  } else {
    rows = scores.length;
    cols = rows > 0 ? scores[0]!.length : 0;
    data = new Float64Array(rows * cols);
    for (let i = 0; i < rows; i++) {
      const r = scores[i]!;
      if (r.length !== cols) {
        throw new GraftError('SHAPE_MISMATCH', `Rows of the ${what} have different lengths`, {
          expected: `${cols} values per row (as row 0)`,
          found: `${r.length} values in row ${i}`,
          fix: 'give every example one score per class',
        });
      }
      for (let j = 0; j < cols; j++) data[i * cols + j] = r[j]!;
    }
  }
  if (rows === 0) {
    throw new GraftError('BAD_INPUT', `No examples in the ${what}`, {
      expected: 'at least one example',
      found: '0',
      fix: 'evaluate on a non-empty split',
    });
  }
  if (cols < 2) {
    throw new GraftError('BAD_INPUT', `Classification ${what} need at least two classes`, {
      expected: 'numClasses >= 2',
      found: String(cols),
      fix: 'for a single sigmoid output p, pass two columns [1 - p, p] (or logits [0, z])',
    });
  }
  for (let k = 0; k < data.length; k++) {
    const v = data[k]!;
    if (!Number.isFinite(v)) {
      throw new GraftError('RUNTIME', `The ${what} contain a non-finite value`, {
        expected: 'finite numbers',
        found: `${v} at example ${Math.floor(k / cols)}, class ${k % cols}`,
        fix: 'check the model for diverged training (NaN loss) before evaluating',
      });
    }
    // -0 and 0 must tie when scores are compared, and typed-array sorts order -0 first
    data[k] = v + 0;
  }
  return new ScoreMatrix(rows, cols, data);
}

/**
 * Checks labels against the number of examples and classes (when known); returns them as Int32Array.
 */
export function toLabels(
  labels: LabelsInput,
  numExamples: number,
  numClasses: number | undefined,
  what = 'labels',
): Int32Array {
  if (labels.length !== numExamples) {
    throw new GraftError('SHAPE_MISMATCH', `The ${what} do not match the number of examples`, {
      expected: `${numExamples} labels`,
      found: `${labels.length}`,
      fix: 'pass one label per row of scores, in the same order',
    });
  }
  const out = new Int32Array(numExamples);
  for (let i = 0; i < numExamples; i++) {
    const raw = labels[i]!;
    const v = typeof raw === 'bigint' ? Number(raw) : raw;
    if (!Number.isInteger(v) || v < 0 || (numClasses !== undefined && v >= numClasses)) {
      throw new GraftError('BAD_INPUT', `Label out of range in the ${what}`, {
        expected:
          numClasses === undefined
            ? 'a non-negative integer class index'
            : `an integer class index in [0, ${numClasses - 1}]`,
        found: `${String(raw)} at example ${i}`,
        fix: 'map label names to indices with the same list used to build the head',
      });
    }
    out[i] = v;
  }
  return out;
}

/**
 * Checks that rows look like probabilities. The tolerance admits float32 softmax outputs; anything
 * further off is almost always logits passed by mistake, which would silently give wrong metrics.
 */
export function checkProbabilities(m: ScoreMatrix, tolerance = 1e-3): void {
  for (let i = 0; i < m.rows; i++) {
    let sum = 0;
    for (let j = 0; j < m.cols; j++) {
      const p = m.data[i * m.cols + j]!;
      if (p < 0 || p > 1 + tolerance) {
        throw new GraftError('BAD_INPUT', 'Probabilities outside [0, 1]', {
          expected: 'rows of probabilities (softmax outputs)',
          found: `${p} at example ${i}, class ${j}`,
          fix: "these look like logits: pass kind: 'logits' (or apply softmax first)",
        });
      }
      sum += p;
    }
    if (Math.abs(sum - 1) > tolerance) {
      throw new GraftError('BAD_INPUT', 'A row of probabilities does not sum to 1', {
        expected: `sum within ${tolerance} of 1`,
        found: `${sum} at example ${i}`,
        fix: "pass kind: 'logits' if these are raw scores, or normalise each row",
      });
    }
  }
}

/** Row-wise softmax, computed with the row maximum subtracted so large logits do not overflow. */
export function softmax(scores: ScoresInput): ScoreMatrix {
  const m = toScoreMatrix(scores, 'logits');
  const out = new Float64Array(m.data.length);
  for (let i = 0; i < m.rows; i++) {
    const o = i * m.cols;
    let max = -Infinity;
    for (let j = 0; j < m.cols; j++) max = Math.max(max, m.data[o + j]!);
    let sum = 0;
    for (let j = 0; j < m.cols; j++) {
      const e = Math.exp(m.data[o + j]! - max);
      out[o + j] = e;
      sum += e;
    }
    for (let j = 0; j < m.cols; j++) out[o + j] = out[o + j]! / sum;
  }
  return new ScoreMatrix(m.rows, m.cols, out);
}

/** log(sum(exp(row))) without overflow. */
export function logSumExp(row: ArrayLike<number>, scale = 1): number {
  let max = -Infinity;
  for (let j = 0; j < row.length; j++) max = Math.max(max, scale * row[j]!);
  let sum = 0;
  for (let j = 0; j < row.length; j++) sum += Math.exp(scale * row[j]! - max);
  return max + Math.log(sum);
}

/** Index of each row's largest score; ties go to the lowest class index (as numpy.argmax). */
export function argmaxRows(scores: ScoresInput): Int32Array {
  const m = toScoreMatrix(scores);
  const out = new Int32Array(m.rows);
  for (let i = 0; i < m.rows; i++) {
    const o = i * m.cols;
    let best = 0;
    for (let j = 1; j < m.cols; j++) if (m.data[o + j]! > m.data[o + best]!) best = j;
    out[i] = best;
  }
  return out;
}

function isFlat(s: ScoreRows | FlatScores): s is FlatScores {
  return !Array.isArray(s) && typeof (s as FlatScores).numClasses === 'number';
}
