import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GraftError } from '../errors.js';
import { LOG_LOSS_EPS, logLoss, perExampleLoss, topLosses } from './loss.js';

const close = (a: number, b: number, msg?: string): void =>
  assert.ok(Math.abs(a - b) < 1e-12, `${msg ?? ''} ${a} != ${b}`);

test('log loss: mean of -ln p(true class)', () => {
  // (-ln 0.8 - ln 0.3) / 2
  close(
    logLoss(
      [
        [0.8, 0.2],
        [0.3, 0.7],
      ],
      [0, 0],
    ),
    (-Math.log(0.8) - Math.log(0.3)) / 2,
  );
});

test('log loss clips a zero probability to eps instead of returning infinity', () => {
  // p(true) = 0 -> clipped to eps; the other becomes 1 - eps; row sum stays 1
  close(logLoss([[1, 0]], [1]), -Math.log(LOG_LOSS_EPS));
  close(logLoss([[1, 0]], [1], { eps: 1e-15 }), -Math.log(1e-15));
  // a row slightly off 1 (float32 softmax) is renormalised: -ln(0.5 / 1.0005)
  close(logLoss([[0.5, 0.5005]], [0]), -Math.log(0.5 / 1.0005));
  assert.throws(() => logLoss([[1, 0]], [1], { eps: 0 }), GraftError);
});

test('log loss refuses logits passed as probabilities', () => {
  assert.throws(
    () => logLoss([[2.5, -1]], [0]),
    (e: unknown) => e instanceof GraftError && /kind: 'logits'/.test(e.message),
  );
  assert.throws(
    () => logLoss([[0.5, 0.6]], [0]),
    (e: unknown) => e instanceof GraftError && /sum to 1/.test(e.message),
  );
});

test('per-example loss from logits is exact even far beyond the clipping bound', () => {
  // softmax([0, ln 3]) = [1/4, 3/4]: loss of class 0 is ln 4, of class 1 ln(4/3)
  const l = perExampleLoss(
    [
      [0, Math.log(3)],
      [0, Math.log(3)],
    ],
    [0, 1],
    'logits',
  );
  close(l[0]!, Math.log(4));
  close(l[1]!, Math.log(4 / 3));
  // log-softmax of [0, 1000] at class 0 is -1000; probabilities would saturate near 36
  close(perExampleLoss([[0, 1000]], [0], 'logits')[0]!, 1000);
  close(perExampleLoss([[1, 0]], [1], 'probabilities')[0]!, -Math.log(LOG_LOSS_EPS));
});

test('top losses: worst first, equal losses in input order, with predicted and actual probabilities', () => {
  // losses (from logits): row 0 ln(1+e^-2) (right), row 1 ln(1+e^2) (wrong),
  // row 2 same as row 1, row 3 ln 2 (tie, predicted class 0)
  const logits = [
    [2, 0],
    [2, 0],
    [0, 2],
    [0, 0],
  ];
  const y = [0, 1, 0, 1];
  const t = topLosses(logits, y, 'logits', { count: 3 });
  assert.deepEqual(
    t.map((r) => [r.index, r.actual, r.predicted]),
    [
      [1, 1, 0],
      [2, 0, 1],
      [3, 1, 0],
    ],
  );
  const big = 1 / (1 + Math.exp(-2));
  close(t[0]!.loss, Math.log(1 + Math.exp(2)));
  close(t[0]!.predictedProbability, big);
  close(t[0]!.actualProbability, 1 - big);
  close(t[2]!.loss, Math.log(2));
  close(t[2]!.actualProbability, 0.5);
  assert.equal(topLosses(logits, y, 'logits').length, 4);
  assert.equal(topLosses(logits, y, 'logits', { count: 0 }).length, 0);
});
