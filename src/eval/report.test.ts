import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GraftError } from '../errors.js';
import { applyTemperature } from './calibration.js';
import { renderReport } from './render.js';
import { classificationReport } from './report.js';
import { softmax } from './scores.js';

const close = (a: number | null | undefined, b: number, msg?: string): void =>
  assert.ok(typeof a === 'number' && Math.abs(a - b) < 1e-12, `${msg ?? ''} ${a} != ${b}`);

// 3 classes (cat, dog, bird), logits chosen so softmax rows are easy to read:
// row 0 [ln 8, 0, 0]   -> p [.8,.1,.1]   label cat  predicted cat
// row 1 [0, ln 6, ln 3]-> p [.1,.6,.3]   label dog  predicted dog
// row 2 [ln 3, ln 6, 0]-> p [.3,.6,.1]   label cat  predicted dog   (loss ln(1/.3))
// row 3 [0, 0, ln 8]   -> p [.1,.1,.8]   label dog  predicted bird  (loss ln(1/.1), the worst)
// accuracy 2/4; confusion [[1,1,0],[0,1,1],[0,0,0]]
// cat: P 1/1 R 1/2 F1 2/3; dog: P 1/2 R 1/2 F1 1/2; bird: P 0/1 R 0/0 -> 0, F1 0, support 0
// macro F1 (2/3 + 1/2 + 0)/3 = 7/18; weighted F1 (2*2/3 + 2*1/2)/4 = 7/12
// log loss (ln(1/.8) + ln(1/.6) + ln(1/.3) + ln(1/.1)) / 4
const L = Math.log;
const LOGITS = [
  [L(8), 0, 0],
  [0, L(6), L(3)],
  [L(3), L(6), 0],
  [0, 0, L(8)],
];
const LABELS = [0, 1, 0, 1];
const NAMES = ['cat', 'dog', 'bird'];

test('report of a hand-worked 3-class case from logits', () => {
  const r = classificationReport({ scores: LOGITS, kind: 'logits', labels: LABELS, labelNames: NAMES, bins: 5 });
  assert.equal(r.numExamples, 4);
  assert.equal(r.numClasses, 3);
  close(r.accuracy, 0.5);
  assert.deepEqual(r.confusion, [
    [1, 1, 0],
    [0, 1, 1],
    [0, 0, 0],
  ]);
  close(r.perClass[0]!.f1, 2 / 3);
  close(r.perClass[1]!.f1, 1 / 2);
  assert.deepEqual([r.perClass[2]!.precision, r.perClass[2]!.recall, r.perClass[2]!.support], [0, 0, 0]);
  close(r.macro.f1, 7 / 18);
  close(r.weighted.f1, 7 / 12);
  close(r.logLoss, (L(1 / 0.8) + L(1 / 0.6) + L(1 / 0.3) + L(1 / 0.1)) / 4);
  // default top-k for 3 classes is k = 2: rows 0,1 hit at k=1; row 2 (cat .3 second) hits; row 3 (dog .1 tied
  // with cat .1, dog has the higher index so both cat and bird rank above it) misses -> 3/4
  assert.deepEqual(
    r.topK.map((t) => t.k),
    [2],
  );
  close(r.topK[0]!.accuracy, 3 / 4);
  // cat: pos {.8,.3}, neg {.1,.1}: all wins -> 1; dog: pos {.6,.1}, neg {.1,.6}: .6 vs .1 win, .6 vs .6 tie,
  // .1 vs .1 tie, .1 vs .6 loss -> (1 + .5 + .5)/4 = 1/2; bird has no examples -> skipped
  close(r.perClass[0]!.rocAuc, 1);
  close(r.perClass[1]!.rocAuc, 1 / 2);
  assert.equal(r.perClass[2]!.rocAuc, null);
  close(r.rocAuc.macro, 3 / 4);
  assert.deepEqual(r.rocAuc.skipped, ['bird']);
  assert.ok(r.notes.some((n) => /ROC AUC skipped 1 class.*bird/.test(n)));
  assert.ok(r.notes.some((n) => /recall and F1 of bird are 0/.test(n)));
  // calibration in 5 bins: conf .8 (bin 3, right), .6 (bin 2, right), .6 (bin 2, wrong), .8 (bin 3, wrong)
  // bin 2: conf .6 acc .5; bin 3: conf .8 acc .5 -> ECE (2*.1 + 2*.3)/4 = .2
  close(r.calibration.ece, 0.2);
  assert.deepEqual(
    r.calibration.bins.map((b) => b.count),
    [0, 0, 2, 2, 0],
  );
  // worst first: row 3 (ln 10), row 2 (ln 10/3), row 1, row 0
  assert.deepEqual(
    r.topLosses.map((t) => t.index),
    [3, 2, 1, 0],
  );
  close(r.topLosses[0]!.loss, L(10));
  assert.equal(r.topLosses[0]!.predicted, 2);
  close(r.topLosses[0]!.predictedProbability, 0.8);
  assert.equal(r.binary, undefined);
});

test('report is plain JSON: it survives a round trip unchanged', () => {
  const r = classificationReport({ scores: LOGITS, kind: 'logits', labels: LABELS, labelNames: NAMES });
  assert.deepEqual(JSON.parse(JSON.stringify(r)), r);
});

test('report from probabilities equals the report from the logits they came from', () => {
  const fromLogits = classificationReport({ scores: LOGITS, kind: 'logits', labels: LABELS, labelNames: NAMES });
  const probs = Array.from({ length: 4 }, (_, i) => [...softmax(LOGITS).data.subarray(i * 3, i * 3 + 3)]);
  const fromProbs = classificationReport({ scores: probs, kind: 'probabilities', labels: LABELS, labelNames: NAMES });
  assert.deepEqual(fromProbs.confusion, fromLogits.confusion);
  close(fromProbs.logLoss, fromLogits.logLoss);
  close(fromProbs.rocAuc.macro, fromLogits.rocAuc.macro!);
  assert.deepEqual(
    fromProbs.topLosses.map((t) => t.index),
    fromLogits.topLosses.map((t) => t.index),
  );
});

test('binary report names the positive class and gives its F1 and AUC', () => {
  // p(yes): .9 .6 .4 .2, labels yes yes no no... with one mistake: labels 1 0 1 0
  // predictions 1 1 0 0: tp 1, fp 1, fn 1 -> F1 1/2; AUC pos {.9,.4} neg {.6,.2}: 3 of 4
  const probs = [
    [0.1, 0.9],
    [0.4, 0.6],
    [0.6, 0.4],
    [0.8, 0.2],
  ];
  const r = classificationReport({
    scores: probs,
    kind: 'probabilities',
    labels: [1, 0, 1, 0],
    labelNames: ['no', 'yes'],
  });
  assert.deepEqual(r.topK, []);
  assert.equal(r.binary?.positiveClass, 'yes');
  close(r.binary?.f1, 1 / 2);
  close(r.binary?.rocAuc, 3 / 4);
  const neg = classificationReport({
    scores: probs,
    kind: 'probabilities',
    labels: [1, 0, 1, 0],
    labelNames: ['no', 'yes'],
    positiveClass: 0,
  });
  assert.equal(neg.binary?.positiveClass, 'no');
  close(neg.binary?.f1, 1 / 2);
  assert.throws(
    () => classificationReport({ scores: probs, kind: 'probabilities', labels: [1, 0, 1, 0], positiveClass: 2 }),
    GraftError,
  );
});

test('report applies a temperature to logits before every metric', () => {
  const r = classificationReport({ scores: LOGITS, kind: 'logits', labels: LABELS, labelNames: NAMES, temperature: 2 });
  const direct = classificationReport({
    scores: applyTemperature(LOGITS, 2),
    kind: 'logits',
    labels: LABELS,
    labelNames: NAMES,
  });
  close(r.logLoss, direct.logLoss);
  assert.equal(r.calibration.temperature, 2);
  assert.notEqual(r.logLoss, classificationReport({ scores: LOGITS, kind: 'logits', labels: LABELS }).logLoss);
  assert.throws(
    () => classificationReport({ scores: [[0.5, 0.5]], kind: 'probabilities', labels: [0], temperature: 2 }),
    (e: unknown) => e instanceof GraftError && /only be applied to logits/.test(e.message),
  );
  assert.throws(
    () => classificationReport({ scores: LOGITS, kind: 'logits', labels: LABELS, labelNames: ['a', 'b'] }),
    (e: unknown) => e instanceof GraftError && e.code === 'SHAPE_MISMATCH' && /3 label names/.test(e.message),
  );
});

test('rendered table shows the headline, per-class rows, confusion, top losses with file names, and notes', () => {
  const r = classificationReport({ scores: LOGITS, kind: 'logits', labels: LABELS, labelNames: NAMES });
  const text = renderReport(r, { exampleNames: ['a.jpg', 'b.jpg', 'c.jpg', 'd.jpg'], maxTopLosses: 2 });
  const lines = text.split('\n');
  assert.equal(lines[0], '4 examples, 3 classes');
  assert.match(
    lines[1]!,
    /^accuracy 0\.5000 {2}top-2 0\.7500 {2}log loss \d\.\d{4} {2}ECE \d\.\d{4} {2}ROC AUC macro 0\.7500/,
  );
  assert.ok(
    lines.some((l) => /^cat\s+1\.0000\s+0\.5000\s+0\.6667\s+2\s+1\.0000$/.test(l)),
    text,
  );
  assert.ok(
    lines.some((l) => /^bird\s+0\.0000\s+0\.0000\s+0\.0000\s+0\s+-$/.test(l)),
    text,
  );
  assert.ok(
    lines.some((l) => /^macro avg\s+0\.5000\s+0\.3333\s+0\.3889\s+4/.test(l)),
    text,
  );
  assert.ok(lines.includes('confusion (rows: actual, columns: predicted)'));
  assert.ok(
    lines.some((l) => /^dog\s+0\s+1\s+1$/.test(l)),
    text,
  );
  const losses = lines.filter((l) => l.startsWith('  #'));
  assert.equal(losses.length, 2);
  assert.match(losses[0]!, /#3 {2}loss 2\.303 {2}actual dog \(p=0\.100\) {2}predicted bird \(p=0\.800\) {2}d\.jpg$/);
  assert.ok(lines.some((l) => l.startsWith('note: ROC AUC skipped')));

  // many classes: the confusion matrix is left out and only the weakest classes are listed
  const k = 40;
  const big = Array.from({ length: k }, (_, i) => Array.from({ length: k }, (_, j) => (i === j ? 3 : 0)));
  big[0] = big[0]!.map((_, j) => (j === 1 ? 3 : 0));
  const rb = classificationReport({ scores: big, kind: 'logits', labels: Array.from({ length: k }, (_, i) => i) });
  const tb = renderReport(rb, { maxClassRows: 5 });
  assert.ok(!tb.includes('confusion'));
  assert.ok(tb.includes('(35 more classes; showing the 5 lowest F1)'));
  assert.ok(
    tb.split('\n').some((l) => /^0\s+0\.0000/.test(l)),
    tb,
  );
});
