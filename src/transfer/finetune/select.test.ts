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

test('with a preferred candidate, another replaces it only when it gets more right by more than two standard errors', () => {
  // 20 examples of two classes; each candidate's logits put the right class first where it is right
  const labels = Int32Array.from({ length: 20 }, (_, i) => i % 2);
  const logitsRightOn = (right: (i: number) => boolean) =>
    Float32Array.from({ length: 40 }, (_, j) => {
      const i = j >> 1;
      const answer = right(i) ? labels[i]! : 1 - labels[i]!;
      return (j & 1) === answer ? 1 : 0;
    });
  const choose = (probe: (i: number) => boolean, fineTune: (i: number) => boolean, prefer?: string) =>
    selectCandidate(
      [
        { name: 'probe', logits: logitsRightOn(probe) },
        { name: 'fine-tune', logits: logitsRightOn(fineTune) },
      ],
      labels,
      2,
      { method: 'cross-validation', folds: 5, ...(prefer ? { prefer } : {}) },
    );
  // the probe right on 0-17, the fine-tune on 0-11: only the probe 6, only the fine-tune 0; 6 > 2 sqrt(6) = 4.9
  const clear = choose(
    (i) => i < 18,
    (i) => i < 12,
    'fine-tune',
  );
  assert.equal(clear.kept, 'probe');
  assert.match(
    clear.reason,
    /^kept probe: accuracy 90\.0% vs 60\.0% for fine-tune .*, more than two standard errors above fine-tune$/,
  );
  // the probe right on 0-17, the fine-tune on 0-12: 5 > 2 sqrt(5) = 4.47: still the probe
  assert.equal(
    choose(
      (i) => i < 18,
      (i) => i < 13,
      'fine-tune',
    ).kept,
    'probe',
  );
  // the probe right on 0-17, the fine-tune on 0-13: 4 is not above 2 sqrt(4) = 4: the fine-tune stays
  const noise = choose(
    (i) => i < 18,
    (i) => i < 14,
    'fine-tune',
  );
  assert.equal(noise.kept, 'fine-tune');
  assert.match(
    noise.reason,
    /^kept fine-tune: accuracy 70\.0% vs 90\.0% for probe .*; fine-tune is kept unless another gets more examples right by more than two standard errors, and none did$/,
  );
  // without a preference the one with more right is kept
  assert.equal(
    choose(
      (i) => i < 18,
      (i) => i < 14,
    ).kept,
    'probe',
  );
  // identical predictions: the preferred one
  assert.equal(
    choose(
      (i) => i < 12,
      (i) => i < 12,
      'fine-tune',
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
