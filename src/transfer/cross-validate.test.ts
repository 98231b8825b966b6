import assert from 'node:assert/strict';
import { test } from 'node:test';
import { concatFeatures, crossValidateHead, featureRows, foldCount, stratifiedFolds } from './cross-validate.js';
import { mulberry32 } from '../util/rng.js';
import { runHead, trainHead } from './pipeline-head.js';

test('stratified folds: every class spread over every fold, deterministic in the seed', () => {
  const labels = Int32Array.from({ length: 53 }, (_, i) => (i < 30 ? 0 : i < 45 ? 1 : 2));
  const folds = stratifiedFolds(labels, 5, 3);
  assert.deepEqual([...folds], [...stratifiedFolds(labels, 5, 3)]);
  assert.notDeepEqual([...folds], [...stratifiedFolds(labels, 5, 4)]);
  for (const c of [0, 1, 2]) {
    const per = [0, 0, 0, 0, 0];
    labels.forEach((l, i) => l === c && per[folds[i]!]!++);
    assert.ok(Math.max(...per) - Math.min(...per) <= 1, `class ${c}: ${per}`);
  }
  const sizes = [0, 0, 0, 0, 0];
  for (const f of folds) sizes[f]!++;
  assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, `fold sizes ${sizes}`);
  // never more folds than the rarest class has examples (each fold's rest must hold every class)
  assert.equal(foldCount(Int32Array.of(0, 0, 0, 1, 1, 1, 1, 1, 1)), 3);
  assert.equal(foldCount(Int32Array.from({ length: 40 }, (_, i) => i % 2)), 5);
  assert.throws(() => stratifiedFolds(labels, 1, 0), /at least 2 folds/);
});

test('out-of-fold logits: each example scored by a head that never saw it', async () => {
  // two Gaussian blobs in 4-d; a head trained on the other folds gets them right
  const rnd = mulberry32(5);
  const n = 60;
  const features = new Float32Array(n * 4);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    labels[i] = i % 2;
    for (let j = 0; j < 4; j++) features[i * 4 + j] = (labels[i] ? 1.5 : -1.5) + (rnd() - 0.5);
  }
  const pool = { features, dim: 4, labels, numClasses: 2 };
  assert.deepEqual([...featureRows(pool, [2, 0]).labels], [0, 0]);
  assert.equal(concatFeatures(pool, featureRows(pool, [1])).labels.length, n + 1);
  const oof = await crossValidateHead(
    pool,
    { head: { kind: 'linear' }, numClasses: 2, epochs: 30, seed: 1, session: { intraOpThreads: 1 } },
    { seed: 2 },
  );
  assert.equal(oof.folds, 5);
  assert.equal(oof.logits.length, n * 2);
  let right = 0;
  for (let i = 0; i < n; i++) if ((oof.logits[i * 2 + 1]! > oof.logits[i * 2]! ? 1 : 0) === labels[i]) right++;
  assert.ok(right >= 57, `${right}/${n} right out of fold`);
  // a prototype head (closed form) cross-validates the same way
  const proto = await crossValidateHead(pool, { head: { kind: 'prototype' }, numClasses: 2 }, { folds: 3 });
  assert.equal(proto.folds, 3);
});

test("stopAfter: a head stops where a longer run stood then, so a fold's head is trained as far as the run's", async () => {
  const rnd = mulberry32(8);
  const n = 40;
  const features = new Float32Array(n * 4);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    labels[i] = i % 2;
    for (let j = 0; j < 4; j++) features[i * 4 + j] = (labels[i] ? 0.5 : -0.5) + (rnd() - 0.5);
  }
  const train = { features, dim: 4, labels, numClasses: 2 };
  const settings = { head: { kind: 'linear' as const }, numClasses: 2, epochs: 30, seed: 3, train };
  const session = { intraOpThreads: 1 };
  const full = await trainHead({ ...settings, session });
  const cut = await trainHead({ ...settings, stopAfter: 4, session });
  assert.equal(full.history.length, 30);
  assert.equal(cut.history.length, 4);
  assert.equal(cut.stopReason, 'stopped after epoch 4');
  // the same four epochs, on the 30-epoch schedule (not a schedule compressed into four)
  assert.deepEqual(
    cut.history.map((r) => [r.trainLoss, r.lr]),
    full.history.slice(0, 4).map((r) => [r.trainLoss, r.lr]),
  );
  const scores = async (m: typeof full.model) => [...(await runHead(m, features, 4, { session }))];
  assert.notDeepEqual(await scores(cut.model), await scores(full.model));
});
