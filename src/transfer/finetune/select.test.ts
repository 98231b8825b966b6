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
