// Compares every metric with scikit-learn's values on seeded problems written by
// scripts/fixtures/sklearn_metrics.py (binary, binary with tied scores, 3-class, 3-class with tied
// scores, 10-class with a class absent from the labels).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { accuracy, binaryF1, confusionMatrix, precisionRecallF1, topKAccuracy } from './classification.js';
import { logLoss } from './loss.js';
import { classificationReport } from './report.js';
import { binaryRocAuc, rocAucOvr } from './roc.js';
import { argmaxRows } from './scores.js';

interface Scores3 {
  precision: number;
  recall: number;
  f1: number;
}
interface Problem {
  name: string;
  numClasses: number;
  labels: number[];
  probabilities: number[][];
  expected: {
    accuracy: number;
    topK: Record<string, number>;
    precision: number[];
    recall: number[];
    f1: number[];
    support: number[];
    macro: Scores3;
    weighted: Scores3;
    confusion: number[][];
    rocAuc: { macro: number; weighted: number; binary?: number; perClass: (number | null)[]; skipped: number[] };
    logLoss: number;
    binaryF1?: number;
  };
}

const fixture = JSON.parse(
  readFileSync(new URL('../../fixtures/metrics/sklearn_reference.json', import.meta.url), 'utf8'),
) as { sklearn: string; problems: Problem[] };

const TOL = 1e-9;
function near(found: number | null | undefined, want: number | null, what: string): void {
  if (want === null) {
    assert.equal(found, null, what);
    return;
  }
  assert.ok(
    typeof found === 'number' && Math.abs(found - want) <= TOL,
    `${what}: found ${found}, sklearn ${fixture.sklearn} ${want}`,
  );
}

test('the fixture covers the cases it claims to', () => {
  const names = fixture.problems.map((p) => p.name);
  assert.deepEqual(names, ['binary', 'binary_ties', 'three_class', 'ten_class_absent', 'three_class_ties']);
  const tenClass = fixture.problems[3]!;
  assert.equal(tenClass.expected.support[7], 0);
  assert.deepEqual(tenClass.expected.rocAuc.skipped, [7]);
  // the tie problems really have tied scores across examples
  for (const p of [fixture.problems[1]!, fixture.problems[4]!]) {
    const col = p.probabilities.map((r) => r[0]!);
    assert.ok(new Set(col).size < col.length / 3, `${p.name} has few distinct scores`);
  }
});

for (const p of fixture.problems) {
  test(`sklearn reference: ${p.name}`, () => {
    const e = p.expected;
    const y = p.labels;
    const predicted = argmaxRows(p.probabilities);
    near(accuracy(y, predicted), e.accuracy, 'accuracy');
    for (const [k, want] of Object.entries(e.topK)) near(topKAccuracy(p.probabilities, y, Number(k)), want, `top-${k}`);

    const prf = precisionRecallF1(y, predicted, p.numClasses);
    prf.perClass.forEach((c, i) => {
      near(c.precision, e.precision[i]!, `precision[${i}]`);
      near(c.recall, e.recall[i]!, `recall[${i}]`);
      near(c.f1, e.f1[i]!, `f1[${i}]`);
      assert.equal(c.support, e.support[i], `support[${i}]`);
    });
    for (const avg of ['macro', 'weighted'] as const) {
      for (const key of ['precision', 'recall', 'f1'] as const) near(prf[avg][key], e[avg][key], `${avg} ${key}`);
    }
    assert.deepEqual(confusionMatrix(y, predicted, p.numClasses), e.confusion);

    const roc = rocAucOvr(p.probabilities, y);
    near(roc.macro, e.rocAuc.macro, 'ROC AUC macro');
    near(roc.weighted, e.rocAuc.weighted, 'ROC AUC weighted');
    roc.perClass.forEach((a, c) => near(a, e.rocAuc.perClass[c]!, `ROC AUC class ${c}`));
    assert.deepEqual(roc.skipped, e.rocAuc.skipped);
    if (e.rocAuc.binary !== undefined) {
      near(
        binaryRocAuc(
          p.probabilities.map((r) => r[1]!),
          y.map((v) => v === 1),
        ),
        e.rocAuc.binary,
        'binary ROC AUC',
      );
    }
    near(logLoss(p.probabilities, y), e.logLoss, 'log loss');
    if (e.binaryF1 !== undefined) near(binaryF1(y, predicted, 1), e.binaryF1, 'binary F1');

    // the report builder must give the same numbers
    const r = classificationReport({ scores: p.probabilities, kind: 'probabilities', labels: y, topK: [] });
    near(r.accuracy, e.accuracy, 'report accuracy');
    near(r.logLoss, e.logLoss, 'report log loss');
    near(r.macro.f1, e.macro.f1, 'report macro F1');
    near(r.weighted.precision, e.weighted.precision, 'report weighted precision');
    near(r.rocAuc.macro, e.rocAuc.macro, 'report ROC AUC macro');
    near(r.rocAuc.weighted, e.rocAuc.weighted, 'report ROC AUC weighted');
    assert.deepEqual(r.confusion, e.confusion);
    if (e.binaryF1 !== undefined) {
      near(r.binary?.f1, e.binaryF1, 'report binary F1');
      near(r.binary?.rocAuc, e.rocAuc.binary!, 'report binary ROC AUC');
    }
  });
}
