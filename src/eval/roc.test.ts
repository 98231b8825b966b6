import { test } from 'node:test';
import assert from 'node:assert/strict';
import { binaryRocAuc, rocAucOvr } from './roc.js';

const close = (a: number | null, b: number, msg?: string): void =>
  assert.ok(a !== null && Math.abs(a - b) < 1e-12, `${msg ?? ''} ${a} != ${b}`);

test('binary AUC: pairwise wins without ties', () => {
  // positives 0.35, 0.8; negatives 0.1, 0.4
  // 0.35 beats 0.1 only; 0.8 beats both -> 3 of 4 pairs
  close(binaryRocAuc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]), 3 / 4);
  close(binaryRocAuc([0.1, 0.4, 0.35, 0.8], [1, 1, 0, 0]), 1 / 4);
  close(binaryRocAuc([1, 2, 3], [false, true, true]), 1);
});

test('binary AUC: tied scores count one half, as the trapezoid over a tied group', () => {
  // positives 0.5, 0.9; negatives 0.5, 0.2
  // 0.5 vs 0.5 tie (1/2), 0.5 vs 0.2 win, 0.9 wins both -> (0.5 + 1 + 2) / 4 = 7/8
  // ROC points (fpr, tpr): (0,0) (0,.5) (.5,1) (1,1); area .5*(.5+1)/2 + .5 = .875
  close(binaryRocAuc([0.5, 0.5, 0.2, 0.9], [1, 0, 0, 1]), 7 / 8);
  // every score equal: the diagonal
  close(binaryRocAuc([3, 3, 3, 3, 3], [1, 0, 1, 0, 0]), 1 / 2);
  // a tie group containing several positives and negatives:
  // pos {1, 2, 2}, neg {2, 2, 0}: 1 beats 0 (1); each 2 beats 0 and ties two 2s (1 + 1) -> 5 of 9
  close(binaryRocAuc([1, 2, 2, 2, 2, 0], [1, 1, 1, 0, 0, 0]), 5 / 9);
  // -0 and 0 are the same score
  close(binaryRocAuc([-0, 0], [1, 0]), 1 / 2);
});

test('binary AUC is undefined with only one class present', () => {
  assert.equal(binaryRocAuc([0.1, 0.2], [1, 1]), null);
  assert.equal(binaryRocAuc([0.1, 0.2], [0, 0]), null);
});

test('one-vs-rest AUC: per class, macro and support-weighted', () => {
  // class 0: pos {.7}; neg {.2,.1,.3} -> 1
  // class 1: pos {.5,.25}; neg {.2,.3}: .5 wins 2, .25 wins 1 -> 3/4
  // class 2: pos {.6}; neg {.1,.3,.45} -> 1
  // macro (1 + 3/4 + 1)/3 = 11/12; supports 1,2,1 -> weighted (1 + 1.5 + 1)/4 = 7/8
  const probs = [
    [0.7, 0.2, 0.1],
    [0.2, 0.5, 0.3],
    [0.1, 0.3, 0.6],
    [0.3, 0.25, 0.45],
  ];
  const r = rocAucOvr(probs, [0, 1, 2, 1]);
  assert.deepEqual(r.perClass, [1, 3 / 4, 1]);
  close(r.macro, 11 / 12);
  close(r.weighted, 7 / 8);
  assert.deepEqual(r.skipped, []);
  assert.deepEqual(r.notes, []);
});

test('one-vs-rest AUC skips a class with no examples and says so', () => {
  const probs = [
    [0.7, 0.2, 0.1],
    [0.2, 0.5, 0.3],
    [0.1, 0.3, 0.6],
    [0.3, 0.25, 0.45],
  ];
  // labels 0 1 0 1, class 2 absent
  // class 0: pos {.7,.1}; neg {.2,.3}: .7 wins 2 -> 2/4
  // class 1: pos {.5,.25}; neg {.2,.3}: 2 + 1 -> 3/4
  const r = rocAucOvr(probs, [0, 1, 0, 1], ['cat', 'dog', 'bird']);
  assert.deepEqual(r.perClass, [1 / 2, 3 / 4, null]);
  assert.deepEqual(r.skipped, [2]);
  close(r.macro, 5 / 8);
  close(r.weighted, 5 / 8);
  assert.equal(r.notes.length, 1);
  assert.match(r.notes[0]!, /skipped 1 class.*bird/);
});

test('one-vs-rest AUC with a single class present has no average', () => {
  const r = rocAucOvr(
    [
      [0.6, 0.4],
      [0.9, 0.1],
    ],
    [0, 0],
  );
  assert.equal(r.macro, null);
  assert.equal(r.weighted, null);
  assert.deepEqual(r.skipped, [0, 1]);
  assert.ok(r.notes.some((n) => /every example is of class 0/.test(n)));
});
