import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GraftError } from '../errors.js';
import { type Candidate, countItems, resolveCandidates } from './dataset.js';
import { LabelMap } from './labels.js';
import { type DatasetIssue, summariseIssues, summariseReport } from './report.js';
import { parseJsonl, recordsToExamples } from './text.js';

const c = (id: string, label: string, hash = id, split?: Candidate['split']): Candidate =>
  split ? { id, label, hash, split } : { id, label, hash };

const kinds = (issues: DatasetIssue[]) => issues.map((i) => i.kind).sort();

test('duplicates: extra copies in one split go, copies in evaluation splits go, conflicting labels drop all', () => {
  const issues: DatasetIssue[] = [];
  const r = resolveCandidates(
    [
      c('a/1', 'a', 'h1', 'train'),
      c('a/1-copy', 'a', 'h1', 'train'),
      c('a/2', 'a', 'h2', 'train'),
      c('a/3', 'a', 'h3', 'val'),
      c('a/leak', 'a', 'h2', 'val'),
      c('b/1', 'b', 'h4', 'train'),
      c('b/2', 'b', 'h5', 'train'),
      c('b/same-as-a', 'b', 'h6', 'train'),
      c('a/same-as-b', 'a', 'h6', 'train'),
    ],
    issues,
  );
  assert.deepEqual(r.items.map((i) => i.id).sort(), ['a/1', 'a/2', 'a/3', 'b/1', 'b/2']);
  assert.deepEqual(kinds(issues), ['conflicting-labels', 'duplicate', 'duplicate-across-splits']);
  assert.deepEqual(issues.find((i) => i.kind === 'duplicate')!.files, ['a/1-copy']);
  assert.deepEqual(issues.find((i) => i.kind === 'duplicate-across-splits')!.files, ['a/leak']);
  assert.deepEqual(issues.find((i) => i.kind === 'conflicting-labels')!.files.sort(), ['a/same-as-b', 'b/same-as-a']);
  assert.deepEqual(r.labels.names, ['a', 'b']);
});

test('empty classes and single-example classes are reported; unseen evaluation classes are dropped', () => {
  const issues: DatasetIssue[] = [];
  const r = resolveCandidates(
    [
      c('a/1', 'a', 'h1', 'train'),
      c('a/2', 'a', 'h2', 'train'),
      c('b/1', 'b', 'h3', 'train'),
      c('z/1', 'z', 'h4', 'test'),
    ],
    issues,
    { declaredClasses: ['a', 'b', 'empty'] },
  );
  assert.deepEqual(r.labels.names, ['a', 'b']);
  assert.deepEqual(kinds(issues), ['empty-class', 'single-example-class', 'unknown-class']);
  const single = issues.find((i) => i.kind === 'single-example-class')!;
  assert.equal(single.label, 'b');
  assert.equal(single.skipped, false);
  assert.equal(issues.find((i) => i.kind === 'empty-class')!.label, 'empty');
  assert.deepEqual(issues.find((i) => i.kind === 'unknown-class')!.files, ['z/1']);
  const counts = countItems(r.items, r.labels.names);
  assert.deepEqual(counts.perSplit, { train: 3, val: 0, test: 0 });
  assert.deepEqual(counts.perClass.a, { train: 2, val: 0, test: 0 });
});

test('a seeded split is applied when the layout has none, and refused when it has', () => {
  const xs = Array.from({ length: 20 }, (_, i) => c(`${i % 2 ? 'a' : 'b'}/${i}`, i % 2 ? 'a' : 'b'));
  const r = resolveCandidates(xs, [], { split: { val: 0.2, seed: 1 } });
  assert.equal(r.items.filter((i) => i.split === 'val').length, 4);
  assert.throws(
    () => resolveCandidates([c('a/1', 'a', 'x', 'train')], [], { split: { val: 0.2, seed: 1 } }),
    (e: unknown) => e instanceof GraftError && e.code === 'CONFIG',
  );
});

test('too few classes or no usable examples is a GraftError carrying the issue summary; strict fails on any issue', () => {
  const issues: DatasetIssue[] = [{ kind: 'corrupt', files: ['a/bad.jpg'], skipped: true, detail: 'x' }];
  assert.throws(
    () => resolveCandidates([c('a/1', 'a')], issues),
    (e: unknown) =>
      e instanceof GraftError && e.code === 'BAD_INPUT' && /1 corrupt files skipped: a\/bad\.jpg/.test(e.message),
  );
  assert.throws(() => resolveCandidates([], []), /No usable examples/);
  assert.equal(resolveCandidates([c('a/1', 'a')], [], { minClasses: 1 }).items.length, 1);
  assert.throws(
    () => resolveCandidates([c('a/1', 'a'), c('a/2', 'a', 'a/1'), c('b/1', 'b'), c('b/2', 'b')], [], { strict: true }),
    /strict/,
  );
});

test('summaries count per kind and list the first few names', () => {
  const issues: DatasetIssue[] = Array.from({ length: 7 }, (_, i) => ({
    kind: 'corrupt' as const,
    files: [`x/${i}.jpg`],
    skipped: true,
    detail: 'bad',
  }));
  issues.push({ kind: 'empty-class', files: [], skipped: true, detail: '', label: 'ghost' });
  const lines = summariseIssues(issues, 3);
  assert.deepEqual(lines, [
    '7 corrupt files skipped: x/0.jpg, x/1.jpg, x/2.jpg and 4 more',
    '1 classes with no usable examples left out: ghost',
  ]);
  const text = summariseReport({
    source: '/d',
    kind: 'image',
    layout: 'class-folders',
    classes: ['a', 'b'],
    counts: { found: 10, usable: 3, skipped: 7, perSplit: { train: 3, val: 0, test: 0 }, perClass: {} },
    issues,
  });
  assert.match(text, /3 usable of 10, 2 classes, train\/val\/test 3\/0\/0/);
});

test('label maps sort by code point and name valid choices on a miss', () => {
  const m = LabelMap.fromLabels(['b', 'B', 'a', 'b']);
  assert.deepEqual(m.names, ['B', 'a', 'b']);
  assert.deepEqual([...m.encode(['a', 'b', 'B'])], [1, 2, 0]);
  assert.throws(
    () => m.indexOf('c'),
    (e: unknown) => e instanceof GraftError && /valid choices: B, a, b/.test(e.message),
  );
  assert.throws(() => new LabelMap(['x', 'x']), GraftError);
});

test('text records: numbers become labels, bad rows, empty texts and unknown splits are reported', () => {
  const issues: DatasetIssue[] = [];
  const out = recordsToExamples(
    [
      { text: 'good', label: 1 },
      { text: 'no label' },
      { label: 'x' },
      { text: '   ', label: 'x' },
      { text: 'held out', label: 'y', split: 'validation' },
      { text: 'where', label: 'y', split: 'holdout' },
      'not an object',
    ],
    'data.csv',
    {},
    issues,
    (i) => i + 2,
  );
  assert.deepEqual(out, [
    { id: 'data.csv:2', text: 'good', label: '1' },
    { id: 'data.csv:6', text: 'held out', label: 'y', split: 'val' },
  ]);
  assert.deepEqual(
    issues.map((i) => [i.kind, i.files[0]]),
    [
      ['bad-row', 'data.csv:3'],
      ['bad-row', 'data.csv:4'],
      ['empty-text', 'data.csv:5'],
      ['bad-row', 'data.csv:7'],
      ['bad-row', 'data.csv:8'],
    ],
  );
});

test('JSON Lines: blank lines skipped, broken lines reported with their line number, custom fields', () => {
  const issues: DatasetIssue[] = [];
  const out = parseJsonl(
    '{"body":"hi","y":"a"}\n\n{broken\n{"body":"yo","y":"b"}\r\n',
    't.jsonl',
    { text: 'body', label: 'y' },
    issues,
  );
  assert.deepEqual(out, [
    { id: 't.jsonl:1', text: 'hi', label: 'a' },
    { id: 't.jsonl:4', text: 'yo', label: 'b' },
  ]);
  assert.equal(issues.length, 1);
  assert.equal(issues[0]!.files[0], 't.jsonl:3');
});
