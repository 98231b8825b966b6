import assert from 'node:assert/strict';
import { test } from 'node:test';
import { selectCandidate } from './select.js';

test('auto keeps the candidate with more held-out examples right, and on a tie the lower log loss', () => {
  const labels = Int32Array.of(0, 1, 1, 0);
  // a: 3 of 4 right; b: 4 of 4 right
  const a = Float32Array.of(2, 0, 0, 2, 2, 0, 2, 0);
  const b = Float32Array.of(1, 0, 0, 1, 0, 1, 1, 0);
  const s = selectCandidate(
    [
      { name: 'probe', logits: a },
      { name: 'fine-tune', logits: b },
    ],
    labels,
    2,
    { method: 'cross-validation', folds: 4 },
  );
  assert.equal(s.kept, 'fine-tune');
  assert.deepEqual(
    s.scores.map((x) => [x.name, x.accuracy]),
    [
      ['probe', 0.75],
      ['fine-tune', 1],
    ],
  );
  assert.match(
    s.reason,
    /^kept fine-tune: accuracy 100\.0% vs 75\.0% for probe out of fold in 4-fold cross-validation on 4 labelled examples$/,
  );
  // equal accuracy: the sharper right answers (lower log loss) win, and the reason says it was a tie
  const sharper = Float32Array.from(b, (v) => v * 3);
  const t = selectCandidate(
    [
      { name: 'probe', logits: sharper },
      { name: 'fine-tune', logits: b },
    ],
    labels,
    2,
    { method: 'validation' },
  );
  assert.equal(t.kept, 'probe');
  assert.match(t.reason, /on 4 validation examples, a tie broken by log loss/);
  // a full tie keeps the first listed (the probe)
  assert.equal(
    selectCandidate(
      [
        { name: 'probe', logits: b },
        { name: 'fine-tune', logits: b },
      ],
      labels,
      2,
      { method: 'validation' },
    ).kept,
    'probe',
  );
});

test('with a preferred candidate, another replaces it only when it gets more right by more than one standard error', () => {
  // 20 examples of two classes; each candidate's logits put the right class first where it is right
  const labels = Int32Array.from({ length: 20 }, (_, i) => i % 2);
  const logitsRightOn = (right: (i: number) => boolean) =>
    Float32Array.from({ length: 40 }, (_, j) => {
      const i = j >> 1;
      const cls = j & 1;
      const answer = right(i) ? labels[i]! : 1 - labels[i]!;
      return cls === answer ? 1 : 0;
    });
  const choose = (probe: (i: number) => boolean, fineTune: (i: number) => boolean) =>
    selectCandidate(
      [
        { name: 'probe', logits: logitsRightOn(probe) },
        { name: 'fine-tune', logits: logitsRightOn(fineTune) },
      ],
      labels,
      2,
      { method: 'cross-validation', folds: 5, prefer: 'fine-tune' },
    );
  // the probe right on 0-15, the fine-tune on 0-13: b = 0, c = 2, 2 > sqrt(2) = 1.41: the probe is kept
  const clear = choose(
    (i) => i < 16,
    (i) => i < 14,
  );
  assert.equal(clear.kept, 'probe');
  assert.match(
    clear.reason,
    /^kept probe: accuracy 80\.0% vs 70\.0% for fine-tune .*, more than one standard error above fine-tune$/,
  );
  // the probe right on 0-15, the fine-tune on 0-14 and 19: b = 1, c = 2, 1 < sqrt(3): the fine-tune stays
  const noise = choose(
    (i) => i < 16,
    (i) => i < 15 || i === 19,
  );
  assert.equal(noise.kept, 'fine-tune');
  assert.match(
    noise.reason,
    /^kept fine-tune: accuracy 80\.0% vs 80\.0% for probe .*; fine-tune is kept unless another gets more examples right by more than one standard error, and none did$/,
  );
  // the probe right on 0-16 (17), the fine-tune on 0-14 and 19 (16): only the probe 15 and 16, only the
  // fine-tune 19: one more right is within the noise (1 < sqrt(3))
  const worse = choose(
    (i) => i < 17,
    (i) => i < 15 || i === 19,
  );
  assert.equal(worse.kept, 'fine-tune', 'one example more right is within the noise');
  // the same comparison without a preference keeps the one with more right
  assert.equal(
    selectCandidate(
      [
        { name: 'probe', logits: logitsRightOn((i) => i < 17) },
        { name: 'fine-tune', logits: logitsRightOn((i) => i < 15 || i === 19) },
      ],
      labels,
      2,
      { method: 'cross-validation', folds: 5 },
    ).kept,
    'probe',
  );
  // identical predictions: the preferred one
  assert.equal(
    choose(
      (i) => i < 12,
      (i) => i < 12,
    ).kept,
    'fine-tune',
  );
  assert.throws(() =>
    selectCandidate([{ name: 'probe', logits: logitsRightOn(() => true) }], labels, 2, {
      method: 'validation',
      prefer: 'fine-tune',
    }),
  );
});
