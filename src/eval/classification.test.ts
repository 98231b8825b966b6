import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GraftError } from '../errors.js';
import { accuracy, binaryF1, confusionMatrix, precisionRecallF1, topKAccuracy } from './classification.js';
import { argmaxRows, softmax, toScoreMatrix } from './scores.js';

const close = (a: number, b: number, msg?: string): void =>
  assert.ok(Math.abs(a - b) < 1e-12, `${msg ?? ''} ${a} != ${b}`);

// labels      0 1 2 2 1 0
// predictions 0 2 2 2 1 1
// confusion (rows actual): [1,1,0] [0,1,1] [0,0,2]; hits at 0,2,3,4 -> accuracy 4/6
// predicted per class 1,2,3; tp 1,1,2; support 2,2,2
// class 0: P 1/1, R 1/2, F1 2*1*.5/1.5 = 2/3
// class 1: P 1/2, R 1/2, F1 1/2
// class 2: P 2/3, R 2/2, F1 2*(2/3)/(5/3) = 4/5
// macro P (1 + 1/2 + 2/3)/3 = 13/18, R (1/2+1/2+1)/3 = 2/3, F1 (2/3+1/2+4/5)/3 = 59/90
const Y = [0, 1, 2, 2, 1, 0];
const P = [0, 2, 2, 2, 1, 1];

test('accuracy and confusion matrix of a hand-worked 3-class case', () => {
  close(accuracy(Y, P), 4 / 6);
  assert.deepEqual(confusionMatrix(Y, P, 3), [
    [1, 1, 0],
    [0, 1, 1],
    [0, 0, 2],
  ]);
  // int64 tensors arrive as BigInt64Array
  close(accuracy(BigInt64Array.from(Y.map(BigInt)), Int32Array.from(P)), 4 / 6);
});

test('per-class precision, recall, F1 and their macro mean', () => {
  const r = precisionRecallF1(Y, P, 3);
  const want = [
    [1, 1 / 2, 2 / 3],
    [1 / 2, 1 / 2, 1 / 2],
    [2 / 3, 1, 4 / 5],
  ];
  r.perClass.forEach((c, i) => {
    close(c.precision, want[i]![0]!, `P${i}`);
    close(c.recall, want[i]![1]!, `R${i}`);
    close(c.f1, want[i]![2]!, `F${i}`);
    assert.equal(c.support, 2);
  });
  close(r.macro.precision, 13 / 18);
  close(r.macro.recall, 2 / 3);
  close(r.macro.f1, 59 / 90);
  // equal supports: the weighted mean is the macro mean
  close(r.weighted.f1, 59 / 90);
});

test('support-weighted means and binary F1 differ from macro when supports differ', () => {
  // labels 0 0 0 1, predictions 0 0 1 1: confusion [[2,1],[0,1]]
  // class 0: P 2/2, R 2/3, F1 4/5, support 3; class 1: P 1/2, R 1, F1 2/3, support 1
  // weighted P (3*1 + 1/2)/4 = 7/8; R (3*2/3 + 1)/4 = 3/4; F1 (3*4/5 + 2/3)/4 = 23/30
  const r = precisionRecallF1([0, 0, 0, 1], [0, 0, 1, 1], 2);
  close(r.weighted.precision, 7 / 8);
  close(r.weighted.recall, 3 / 4);
  close(r.weighted.f1, 23 / 30);
  close(r.macro.precision, 3 / 4);
  close(binaryF1([0, 0, 0, 1], [0, 0, 1, 1]), 2 / 3);
  close(binaryF1([0, 0, 0, 1], [0, 0, 1, 1], 0), 4 / 5);
});

test('zero denominators give 0 and an absent class still counts in the macro mean', () => {
  // labels 0 1, predictions 0 0, 3 classes
  // class 0: P 1/2, R 1, F1 2/3; class 1: never predicted (P 0/0 -> 0), R 0/1, F1 0; class 2: nothing -> 0
  const r = precisionRecallF1([0, 1], [0, 0], 3);
  assert.deepEqual(
    r.perClass.map((c) => [c.precision, c.recall, c.support]),
    [
      [0.5, 1, 1],
      [0, 0, 1],
      [0, 0, 0],
    ],
  );
  close(r.perClass[0]!.f1, 2 / 3);
  close(r.macro.f1, 2 / 9);
  // weighted ignores the empty class: (1 * 2/3 + 1 * 0) / 2
  close(r.weighted.f1, 1 / 3);
});

test('top-k accuracy counts ties within a row towards the lower class index', () => {
  // row 0: true 2 (0.4) beaten by class 1 (0.5)                    -> rank 1
  // row 1: true 1 (0.3) beaten by class 2 (0.4), tied with class 0  -> rank 2
  // row 2: true 1 (0.3) beaten by class 0 (0.6)                    -> rank 1
  const s = [
    [0.1, 0.5, 0.4],
    [0.3, 0.3, 0.4],
    [0.6, 0.3, 0.1],
  ];
  const y = [2, 1, 1];
  close(topKAccuracy(s, y, 1), 0);
  close(topKAccuracy(s, y, 2), 2 / 3);
  close(topKAccuracy(s, y, 3), 1);
  close(topKAccuracy(s, y, 10), 1);
  // top-1 agrees with the arg-max prediction on a tie
  const tie = [[0.5, 0.5]];
  assert.deepEqual([...argmaxRows(tie)], [0]);
  close(topKAccuracy(tie, [0], 1), 1);
  close(topKAccuracy(tie, [1], 1), 0);
  assert.throws(() => topKAccuracy(s, y, 0), GraftError);
});

test('score inputs: rows, flat tensors and validation errors', () => {
  const flat = toScoreMatrix({ data: Float32Array.from([1, 2, 3, 4, 5, 6]), numClasses: 3 });
  assert.equal(flat.rows, 2);
  assert.deepEqual([...flat.row(1)], [4, 5, 6]);
  const sm = softmax([[0, Math.log(3)]]);
  close(sm.data[0]!, 0.25);
  close(sm.data[1]!, 0.75);
  // huge logits must not overflow
  const big = softmax([[1000, 1000]]);
  assert.deepEqual([...big.data], [0.5, 0.5]);

  const err = (fn: () => unknown, code: string, text: RegExp): void =>
    assert.throws(fn, (e: unknown) => e instanceof GraftError && e.code === code && text.test(e.message));
  err(() => toScoreMatrix({ data: [1, 2, 3], numClasses: 2 }), 'SHAPE_MISMATCH', /multiple of numClasses/);
  err(() => toScoreMatrix([[1, 2], [3]]), 'SHAPE_MISMATCH', /different lengths/);
  err(() => toScoreMatrix([[1], [2]]), 'BAD_INPUT', /\[1 - p, p\]/);
  err(() => toScoreMatrix([[1, NaN]]), 'RUNTIME', /non-finite/);
  err(() => toScoreMatrix([]), 'BAD_INPUT', /No examples/);
  err(() => topKAccuracy([[0.5, 0.5]], [2], 1), 'BAD_INPUT', /\[0, 1\]/);
  err(() => topKAccuracy([[0.5, 0.5]], [0, 1], 1), 'SHAPE_MISMATCH', /1 labels/);
  err(() => accuracy([], []), 'BAD_INPUT', /No examples/);
  err(() => accuracy([0.5], [0]), 'BAD_INPUT', /non-negative integer/);
});
