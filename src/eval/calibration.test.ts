import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GraftError } from '../errors.js';
import {
  TEMPERATURE_RULE,
  applyTemperature,
  calibration,
  chooseTemperature,
  expectedCalibrationError,
  fitTemperature,
} from './calibration.js';
import { softmax } from './scores.js';

const close = (a: number | null, b: number, tol = 1e-12, msg?: string): void =>
  assert.ok(a !== null && Math.abs(a - b) < tol, `${msg ?? ''} ${a} != ${b}`);

/** mulberry32: a tiny seeded generator, so the synthetic problems are the same on every run. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function gaussian(next: () => number): () => number {
  return () => Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next());
}

/**
 * Labels drawn from softmax(z) of well-calibrated logits z; the "model" reports z * trueT, so it is
 * over-confident for trueT > 1 and the best temperature is trueT itself.
 */
function syntheticProblem(seed: number, n: number, k: number, trueT: number): { logits: number[][]; labels: number[] } {
  const u = rng(seed);
  const g = gaussian(u);
  const logits: number[][] = [];
  const labels: number[] = [];
  for (let i = 0; i < n; i++) {
    const z = Array.from({ length: k }, () => 1.5 * g());
    const p = softmax([z]).data;
    let r = u();
    let c = 0;
    while (c < k - 1 && r >= p[c]!) r -= p[c++]!;
    labels.push(c);
    logits.push(z.map((v) => v * trueT));
  }
  return { logits, labels };
}

test('reliability bins and ECE of a hand-worked case', () => {
  // 5 bins of width 0.2; confidence = top probability, "right" = top class is the label
  //  conf .9  right -> bin 4     conf .85 wrong -> bin 4
  //  conf .7  right -> bin 3     conf .6  wrong -> bin 2 (upper edge belongs to the bin)
  //  conf .55 right -> bin 2
  // bin 4: n 2, conf .875, acc .5, gap .375; bin 3: n 1, conf .7, acc 1, gap .3; bin 2: n 2, conf .575, acc .5, gap .075
  // ECE = (2*.375 + .3 + 2*.075)/5 = 0.24; MCE = .375
  const probs = [
    [0.9, 0.1],
    [0.85, 0.15],
    [0.3, 0.7],
    [0.4, 0.6],
    [0.55, 0.45],
  ];
  const y = [0, 1, 1, 0, 0];
  const c = calibration(probs, y, 5);
  assert.deepEqual(
    c.bins.map((b) => b.count),
    [0, 0, 2, 1, 2],
  );
  assert.equal(c.bins[0]!.meanConfidence, null);
  assert.equal(c.bins[0]!.accuracy, null);
  close(c.bins[4]!.meanConfidence, 0.875);
  close(c.bins[4]!.accuracy, 0.5);
  close(c.bins[3]!.accuracy, 1);
  close(c.bins[2]!.meanConfidence, 0.575);
  close(c.ece, 0.24);
  close(c.maxCalibrationError, 0.375);
  close(c.bins[2]!.lower, 0.4);
  close(c.bins[2]!.upper, 0.6);
  close(expectedCalibrationError(probs, y, 5), 0.24);
  // default: 15 bins
  assert.equal(calibration(probs, y).bins.length, 15);
  assert.throws(() => calibration(probs, y, 0), GraftError);
});

test('a confidence on or just above a bin edge lands on the right side of it, for every edge', () => {
  // 25, 29, 35, 38, 39 bins include edges b/B where (b/B) * B rounds above b, so a plain
  // ceil(conf * B) would put the edge into the bin above
  const nextUp = (x: number): number => {
    const v = new DataView(new ArrayBuffer(8));
    v.setFloat64(0, x);
    v.setBigUint64(0, v.getBigUint64(0) + 1n);
    return v.getFloat64(0);
  };
  const binOf = (conf: number, numBins: number): number =>
    calibration([[conf, 1 - conf]], [0], numBins).bins.findIndex((bin) => bin.count === 1);
  for (const numBins of [3, 7, 10, 15, 20, 25, 29, 35, 38, 39]) {
    for (let b = 1; b <= numBins; b++) {
      const conf = b / numBins;
      if (conf < 0.5) continue; // a top probability of two classes is at least 0.5
      assert.equal(binOf(conf, numBins), b - 1, `conf ${b}/${numBins}`);
      if (b < numBins) assert.equal(binOf(nextUp(conf), numBins), b, `just above ${b}/${numBins}`);
    }
  }
});

test('ECE is 0 for a perfectly calibrated bin and the full gap for a wrong certain one', () => {
  // four examples at confidence .75, three right: accuracy .75 = confidence
  const probs = Array.from({ length: 4 }, () => [0.75, 0.25]);
  close(expectedCalibrationError(probs, [0, 0, 0, 1]), 0);
  close(expectedCalibrationError([[1, 0]], [1]), 1);
});

test('temperature scaling recovers the temperature of over-confident logits and lowers NLL and ECE', () => {
  const trueT = 2.5;
  const { logits, labels } = syntheticProblem(7, 4000, 5, trueT);
  const fit = fitTemperature(logits, labels);
  assert.ok(Math.abs(fit.temperature - trueT) / trueT < 0.08, `T ${fit.temperature} vs ${trueT}`);
  assert.ok(fit.nllAfter < fit.nllBefore, `NLL ${fit.nllAfter} !< ${fit.nllBefore}`);
  assert.ok(fit.eceAfter < fit.eceBefore, `ECE ${fit.eceAfter} !< ${fit.eceBefore}`);
  assert.ok(fit.eceAfter < 0.03, `ECE after ${fit.eceAfter}`);
  assert.equal(fit.clamped, undefined);
  console.log(
    `  trueT ${trueT}: fitted T ${fit.temperature.toFixed(4)} in ${fit.iterations} iterations; ` +
      `NLL ${fit.nllBefore.toFixed(4)} -> ${fit.nllAfter.toFixed(4)}; ECE ${fit.eceBefore.toFixed(4)} -> ${fit.eceAfter.toFixed(4)}`,
  );

  // the fit is a minimum: nudging T either way does not lower the NLL
  const nll = (t: number): number => fitTemperature(applyTemperature(logits, t), labels).nllBefore;
  const at = nll(fit.temperature);
  close(at, fit.nllAfter, 1e-12);
  assert.ok(nll(fit.temperature * 1.001) >= at && nll(fit.temperature / 1.001) >= at);

  // same input, same answer
  assert.equal(fitTemperature(logits, labels).temperature, fit.temperature);
});

test('temperature scaling finds T near 1 for calibrated logits and T < 1 for under-confident ones', () => {
  const calibrated = syntheticProblem(11, 4000, 4, 1);
  const t1 = fitTemperature(calibrated.logits, calibrated.labels).temperature;
  assert.ok(Math.abs(t1 - 1) < 0.08, `T ${t1}`);
  const under = syntheticProblem(13, 4000, 4, 0.5);
  const fit = fitTemperature(under.logits, under.labels);
  assert.ok(Math.abs(fit.temperature - 0.5) / 0.5 < 0.08, `T ${fit.temperature}`);
  assert.ok(fit.nllAfter < fit.nllBefore);
});

test('temperature scaling holds T at a bound when no finite optimum exists', () => {
  // labels always the lowest logit: sharper is always worse, flattest allowed wins
  const worse = fitTemperature(
    [
      [0, 1],
      [2, 0],
    ],
    [0, 1],
  );
  assert.equal(worse.clamped, 'max');
  assert.equal(worse.temperature, 1e3);
  assert.ok(worse.nllAfter < worse.nllBefore);
  // labels always the top logit with a margin: sharper is always better
  const perfect = fitTemperature(
    [
      [0, 1],
      [2, 0],
    ],
    [1, 0],
    { minTemperature: 0.01 },
  );
  assert.equal(perfect.clamped, 'min');
  close(perfect.temperature, 0.01);
  assert.ok(perfect.nllAfter < perfect.nllBefore);
  assert.throws(() => fitTemperature([[0, 1]], [0], { minTemperature: 2 }), GraftError);
  assert.throws(() => applyTemperature([[0, 1]], 0), GraftError);
});

test('the temperature rule: fitted and kept when it lowers cross-validated log loss on enough predictions', () => {
  const { logits, labels } = syntheticProblem(21, 2000, 5, 2.5);
  const c = chooseTemperature(logits, labels);
  assert.equal(c.outcome, 'fitted');
  assert.ok(c.kept);
  // the prior moves a fit on 2000 predictions very little
  assert.ok(Math.abs(c.temperature - 2.5) / 2.5 < 0.08, `T ${c.temperature}`);
  assert.ok(c.nllBefore - c.nllAfter > c.gainError, `${c.nllAfter} < ${c.nllBefore} by more than ${c.gainError}`);
  assert.ok(c.eceAfter < c.eceBefore);
  assert.equal(c.folds, TEMPERATURE_RULE.folds);
  assert.match(
    c.reason,
    /^T = 2\.\d{3} fitted on 2000 held-out predictions; it lowers their log loss in 5-fold cross-validation/,
  );
});

test('the temperature rule: T = 1 with too few predictions, or when a fit runs into its bound', () => {
  // nine validation images, all right with a margin: the plain fit runs to T = 0.001 (the case)
  const nine = Array.from({ length: 9 }, (_, i) => (i % 3 === 0 ? [4, 0, 0] : i % 3 === 1 ? [0, 4, 0] : [0, 0, 4]));
  const nineLabels = [0, 1, 2, 0, 1, 2, 0, 1, 2];
  assert.equal(fitTemperature(nine, nineLabels).clamped, 'min');
  const few = chooseTemperature(nine, nineLabels);
  assert.deepEqual([few.temperature, few.kept, few.outcome, few.folds], [1, false, 'too-few', 0]);
  assert.match(few.reason, /9 held-out predictions, fewer than the 100 a fit needs; T = 1$/);
  assert.equal(few.nllAfter, few.nllBefore);
  // 2000 predictions all right by a small margin: sharper is better all the way to T = 0.05, which describes
  // these examples (separable), not the model
  const sep = Array.from({ length: 2000 }, (_, i) => [0, 1, 2, 3].map((c) => (c === i % 4 ? 0.2 : 0)));
  const sepLabels = sep.map((_, i) => i % 4);
  const at = chooseTemperature(sep, sepLabels);
  assert.deepEqual([at.temperature, at.kept, at.outcome, at.fitted], [1, false, 'at-bound', 0.05]);
  assert.match(at.reason, /lower bound 0\.05 on 2000 held-out predictions \(sharper is still better there/);
  // always wrong by a margin: flattening helps all the way to T = 20
  const wrongBy = sep.map((row) => row.map((v) => v * 10));
  const wrong = chooseTemperature(
    wrongBy,
    sepLabels.map((l) => (l + 1) % 4),
  );
  assert.deepEqual([wrong.temperature, wrong.outcome, wrong.fitted], [1, 'at-bound', 20]);
});

test('the temperature rule: a fit that does not lower held-out log loss is not kept', () => {
  // calibrated logits: the fitted T is close to 1, and on 150 predictions the check decides; whichever way
  // it goes, a kept temperature lowered the cross-validated log loss and a rejected one reverts to T = 1
  let rejected = 0;
  for (const seed of [1, 2, 3, 4, 5, 6]) {
    const { logits, labels } = syntheticProblem(seed, 150, 4, 1);
    const c = chooseTemperature(logits, labels);
    if (c.kept) assert.ok(c.nllBefore - c.nllAfter > c.gainError);
    else {
      rejected++;
      assert.equal(c.outcome, 'no-gain');
      assert.equal(c.temperature, 1);
      assert.ok(c.nllBefore - c.nllAfter <= c.gainError);
      assert.equal(c.eceAfter, c.eceBefore);
      assert.match(
        c.reason,
        /did not lower the log loss of held-out predictions in 5-fold cross-validation by more than its standard error/,
      );
    }
  }
  assert.ok(rejected >= 1, 'on calibrated logits the check rejects at least one of six fits');
  assert.throws(() => chooseTemperature([[0, 1]], [0], { minTemperature: 1 }), GraftError);
});
