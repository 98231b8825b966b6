import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { GraftError } from '../../errors.js';
import { loadTextDataset } from './text.js';
import { put, tempDir } from './test-utils/images.js';

let dir: string;
let cleanup: () => void;
before(() => ({ dir, cleanup } = tempDir('graft-text-')));
after(() => cleanup());

const kinds = (issues: { kind: string; files: string[] }[]) =>
  issues.map((i) => `${i.kind}:${i.files.join('|')}`).sort();

test('CSV: quoted commas, quotes and newlines, a BOM, numeric labels, bad rows', async () => {
  const file = put(
    join(dir, 'reviews.csv'),
    '\ufefftext,label\n' +
      '"Great, really great",1\n' +
      '"She said ""wow""\nand left",0\n' +
      'plain,1\n' +
      ',0\n' +
      'no label here,\n' +
      'fine again,0\n',
  );
  const ds = await loadTextDataset(file);
  assert.equal(ds.layout, 'table');
  assert.deepEqual(ds.labels.names, ['0', '1']);
  assert.deepEqual(
    ds.items.map((i) => [i.text, i.label]),
    [
      ['Great, really great', '1'],
      ['She said "wow"\nand left', '0'],
      ['plain', '1'],
      ['fine again', '0'],
    ],
  );
  assert.deepEqual(kinds(ds.report.issues), ['bad-row:reviews.csv:7', 'empty-text:reviews.csv:6']);
  assert.equal(ds.items[0]!.id, 'reviews.csv:2');
});

test('TSV and JSON Lines with custom fields and a split column; duplicate texts across splits', async () => {
  const tsv = put(join(dir, 'd.tsv'), 'body\tcls\nhello there\tgreet\nbye now\tpart\nhi\tgreet\nsee you\tpart\n');
  const t = await loadTextDataset(tsv, { fields: { text: 'body', label: 'cls' } });
  assert.equal(t.items.length, 4);
  const jl = put(
    join(dir, 'd.jsonl'),
    [
      { text: 'a1', label: 'a', split: 'train' },
      { text: 'a2', label: 'a', split: 'train' },
      { text: 'b1', label: 'b', split: 'train' },
      { text: 'b2', label: 'b', split: 'train' },
      { text: 'a1', label: 'a', split: 'test' },
      { text: 'b3', label: 'b', split: 'dev' },
    ]
      .map((o) => JSON.stringify(o))
      .join('\n'),
  );
  const j = await loadTextDataset(jl);
  assert.deepEqual(j.report.counts.perSplit, { train: 4, val: 1, test: 0 });
  assert.deepEqual(kinds(j.report.issues), ['duplicate-across-splits:d.jsonl:5']);
});

test('malformed CSV is a GraftError naming the file and line', async () => {
  const bad = put(join(dir, 'bad.csv'), 'text,label\n"never closed,1\nnext,0\n');
  await assert.rejects(loadTextDataset(bad), (e: unknown) => {
    assert.ok(e instanceof GraftError && e.code === 'BAD_INPUT');
    assert.match(e.message, /Malformed CSV/);
    assert.match(e.message, /bad\.csv/);
    return true;
  });
});

test('class folders of text files: non-UTF-8, empty and non-.txt files are reported', async () => {
  const root = join(dir, 'folders');
  put(join(root, 'spam/1.txt'), 'WIN A PRIZE');
  put(join(root, 'spam/2.txt'), 'cheap pills');
  put(join(root, 'spam/nested/3.txt'), 'click here');
  put(join(root, 'ham/1.txt'), 'lunch at noon?');
  put(join(root, 'ham/2.txt'), 'minutes attached');
  put(join(root, 'ham/latin1.txt'), Uint8Array.of(0x63, 0x61, 0x66, 0xe9)); // "café" in Latin-1
  put(join(root, 'ham/empty.txt'), '');
  put(join(root, 'ham/blank.txt'), '   \n');
  put(join(root, 'ham/mail.eml'), 'From: x');
  const ds = await loadTextDataset(root);
  assert.equal(ds.layout, 'class-folders');
  assert.deepEqual(ds.labels.names, ['ham', 'spam']);
  assert.deepEqual(ds.report.counts.perClass, {
    ham: { train: 2, val: 0, test: 0 },
    spam: { train: 3, val: 0, test: 0 },
  });
  assert.deepEqual(kinds(ds.report.issues), [
    'corrupt:ham/latin1.txt',
    'empty-file:ham/empty.txt',
    'empty-text:ham/blank.txt',
    'unsupported:ham/mail.eml',
  ]);
  // taking .eml too, and merging classes
  const merged = await loadTextDataset(root, {
    extensions: ['.txt', '.eml'],
    mapLabel: (l) => (l === 'ham' ? 'ok' : l),
  });
  assert.deepEqual(merged.labels.names, ['ok', 'spam']);
  assert.equal(merged.report.counts.perClass.ok!.train, 3);
});

test('JSON-per-file folders (one object per example) and lenient UTF-8', async () => {
  const root = join(dir, 'mails');
  put(join(root, 'spam-1/a.json'), JSON.stringify({ id: 'a', text: 'Buy now', group: 'spam-1' }));
  put(join(root, 'spam-2/b.json'), JSON.stringify({ id: 'b', text: 'Free money', group: 'spam-2' }));
  put(join(root, 'easy-ham-1/c.json'), JSON.stringify({ id: 'c', text: 'Meeting notes' }));
  put(join(root, 'easy-ham-1/d.json'), '{"text": ');
  put(join(root, 'easy-ham-1/e.json'), JSON.stringify({ body: 'wrong field' }));
  put(join(root, 'easy-ham-1/f.json'), JSON.stringify({ text: 'Lunch?' }));
  const ds = await loadTextDataset(root, {
    extensions: ['.json'],
    mapLabel: (l) => (l.startsWith('spam') ? 'spam' : 'ham'),
  });
  assert.deepEqual(ds.labels.names, ['ham', 'spam']);
  assert.deepEqual(ds.items.map((i) => i.text).sort(), ['Buy now', 'Free money', 'Lunch?', 'Meeting notes']);
  assert.deepEqual(kinds(ds.report.issues), ['bad-row:easy-ham-1/e.json', 'corrupt:easy-ham-1/d.json']);

  const lenient = await loadTextDataset(join(dir, 'folders'), { invalidUtf8: 'replace' });
  const cafe = lenient.items.find((i) => i.id === 'ham/latin1.txt')!;
  assert.equal(cafe.text, 'caf\ufffd');
});
