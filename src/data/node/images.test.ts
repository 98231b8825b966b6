import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { GraftError } from '../../errors.js';
import type { DatasetIssue } from '../report.js';
import { scanImages } from './images.js';
import { pattern, put, tempDir, writeImage } from './test-utils/images.js';

let dir: string;
let cleanup: () => void;

before(async () => {
  ({ dir, cleanup } = tempDir());
  // A messy class-folder data set: every format, nesting, and every kind of bad file.
  const root = join(dir, 'folders');
  await writeImage(join(root, 'cat/a.jpg'), 'jpeg', pattern(12, 8, 1));
  await writeImage(join(root, 'cat/b.png'), 'png', pattern(12, 8, 2));
  await writeImage(join(root, 'cat/deep/er/c.webp'), 'webp', pattern(12, 8, 3));
  await writeImage(join(root, 'dog/a.gif'), 'gif', pattern(12, 8, 4));
  await writeImage(join(root, 'dog/b.tiff'), 'tiff', pattern(12, 8, 5));
  await writeImage(join(root, 'dog/c.jpg'), 'jpeg', pattern(12, 8, 6));
  copyFileSync(join(root, 'dog/c.jpg'), join(root, 'dog/c-copy.jpg'));
  await writeImage(join(root, 'owl/only.png'), 'png', pattern(12, 8, 7));
  mkdirSync(join(root, 'empty'));
  put(join(root, 'dog/zero.jpg'), new Uint8Array(0));
  put(join(root, 'dog/text.jpg'), 'this is not a jpeg');
  const big = await writeImage(join(dir, 'big.jpg'), 'jpeg', pattern(64, 64, 8), 64, 64);
  const jpeg = readFileSync(big);
  put(join(root, 'cat/truncated.jpg'), jpeg.subarray(0, Math.floor(jpeg.length * 0.7)));
  put(join(root, 'cat/notes.txt'), 'hello');
  put(join(root, 'cat/.DS_Store'), 'junk');
  put(join(root, 'dog/vector.png'), '<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"></svg>');
  await writeImage(join(root, 'stray.png'), 'png');
  symlinkSync(join(dir, 'nowhere.png'), join(root, 'dog/dangling.png'));
});

after(() => cleanup());

const byKind = (issues: DatasetIssue[]) => {
  const m: Record<string, string[]> = {};
  for (const i of issues) (m[i.kind] ??= []).push(...(i.files.length ? i.files : [`<${i.label}>`]));
  for (const k of Object.keys(m)) m[k]!.sort();
  return m;
};

test('class folders: formats and nesting load; every bad file is reported and left out', async () => {
  const seen: DatasetIssue[] = [];
  const ds = await scanImages(join(dir, 'folders'), { onIssue: (i) => seen.push(i) });
  assert.equal(ds.layout, 'class-folders');
  assert.deepEqual(ds.labels.names, ['cat', 'dog', 'owl']);
  assert.deepEqual(
    ds.items.map((i) => `${i.id}:${i.format}`).sort(),
    [
      'cat/a.jpg:jpeg',
      'cat/b.png:png',
      'cat/deep/er/c.webp:webp',
      'cat/truncated.jpg:jpeg', // header is fine; the loader catches it (or verify: 'decode')
      'dog/a.gif:gif',
      'dog/b.tiff:tiff',
      'dog/c-copy.jpg:jpeg',
      'owl/only.png:png',
    ].sort(),
  );
  assert.deepEqual(byKind(ds.report.issues), {
    unlabelled: ['stray.png'],
    unsupported: ['cat/notes.txt', 'dog/vector.png'],
    'empty-file': ['dog/zero.jpg'],
    unreadable: ['dog/dangling.png'],
    corrupt: ['dog/text.jpg'],
    duplicate: ['dog/c.jpg'],
    'empty-class': ['<empty>'],
    'single-example-class': ['owl/only.png'],
  });
  assert.equal(seen.length, ds.report.issues.length);
  // content hash is sha256 of the bytes, the feature cache key
  const a = ds.items.find((i) => i.id === 'cat/a.jpg')!;
  assert.equal(
    a.hash,
    createHash('sha256')
      .update(readFileSync(join(dir, 'folders/cat/a.jpg')))
      .digest('hex'),
  );
  assert.equal(a.width, 12);
  assert.equal(a.height, 8);
  assert.deepEqual(ds.report.counts.perSplit, { train: 8, val: 0, test: 0 });
  assert.equal(ds.report.counts.usable, 8);
  // 9 decodable files (one a duplicate) + 6 skipped before the data-set checks
  assert.equal(ds.report.counts.found, 15);
  assert.equal(ds.report.counts.skipped, 7);
});

test("verify: 'decode' catches truncated files during the scan", async () => {
  const ds = await scanImages(join(dir, 'folders'), { verify: 'decode' });
  const corrupt = ds.report.issues.filter((i) => i.kind === 'corrupt').flatMap((i) => i.files);
  assert.deepEqual(corrupt.sort(), ['cat/truncated.jpg', 'dog/text.jpg']);
  assert.ok(!ds.items.some((i) => i.id === 'cat/truncated.jpg'));
});

test('seeded stratified split of a class-folder data set is deterministic', async () => {
  const root = join(dir, 'many');
  for (const cls of ['x', 'y']) {
    for (let i = 0; i < 10; i++)
      await writeImage(join(root, cls, `${i}.png`), 'png', pattern(6, 6, i + (cls === 'y' ? 50 : 0)), 6, 6);
  }
  const a = await scanImages(root, { split: { val: 0.2, test: 0.2, seed: 4 } });
  const b = await scanImages(root, { split: { val: 0.2, test: 0.2, seed: 4 }, concurrency: 1 });
  assert.deepEqual(
    a.items.map((i) => [i.id, i.split]),
    b.items.map((i) => [i.id, i.split]),
  );
  assert.deepEqual(a.report.counts.perClass.x, { train: 6, val: 2, test: 2 });
  assert.deepEqual(a.report.counts.perClass.y, { train: 6, val: 2, test: 2 });
});

test('train/ val/ test/ folders: copies of training files in evaluation splits are dropped', async () => {
  const root = join(dir, 'splits');
  for (const cls of ['a', 'b']) {
    for (let i = 0; i < 3; i++)
      await writeImage(join(root, 'train', cls, `${i}.png`), 'png', pattern(6, 6, i + (cls === 'b' ? 9 : 0)), 6, 6);
    await writeImage(join(root, 'validation', cls, 'v.png'), 'png', pattern(6, 6, cls === 'b' ? 20 : 21), 6, 6);
  }
  mkdirSync(join(root, 'test/a'), { recursive: true });
  copyFileSync(join(root, 'train/a/0.png'), join(root, 'test/a/leak.png'));
  await writeImage(join(root, 'test/zebra/z.png'), 'png', pattern(6, 6, 30), 6, 6);
  const ds = await scanImages(root);
  assert.equal(ds.layout, 'split-folders');
  assert.deepEqual(ds.labels.names, ['a', 'b']);
  assert.deepEqual(ds.report.counts.perSplit, { train: 6, val: 2, test: 0 });
  assert.deepEqual(byKind(ds.report.issues), {
    'duplicate-across-splits': ['test/a/leak.png'],
    'unknown-class': ['test/zebra/z.png'],
  });
  await assert.rejects(scanImages(root, { split: { val: 0.1, seed: 1 } }), GraftError);
});

test('CSV and JSONL manifests: relative paths, quoted fields, missing files and bad rows', async () => {
  const root = join(dir, 'manifest');
  await writeImage(join(root, 'img/one, with comma.png'), 'png', pattern(6, 6, 1), 6, 6);
  await writeImage(join(root, 'img/two.png'), 'png', pattern(6, 6, 2), 6, 6);
  await writeImage(join(root, 'img/three.png'), 'png', pattern(6, 6, 3), 6, 6);
  await writeImage(join(root, 'img/four.png'), 'png', pattern(6, 6, 4), 6, 6);
  put(
    join(root, 'labels.csv'),
    'path,label\n"img/one, with comma.png",red\nimg/two.png,red\nimg/three.png,blue\nimg/four.png,blue\nimg/gone.png,blue\nimg/two.png,\n',
  );
  const csv = await scanImages(join(root, 'labels.csv'));
  assert.equal(csv.layout, 'manifest');
  assert.deepEqual(csv.items.map((i) => i.id).sort(), [
    'img/four.png',
    'img/one, with comma.png',
    'img/three.png',
    'img/two.png',
  ]);
  assert.deepEqual(byKind(csv.report.issues), { 'missing-file': ['img/gone.png'], 'bad-row': ['labels.csv:7'] });

  put(
    join(root, 'sets.jsonl'),
    [
      { file: 'img/one, with comma.png', cls: 'red', set: 'train' },
      { file: 'img/two.png', cls: 'red', set: 'test' },
      { file: 'img/three.png', cls: 'blue', set: 'train' },
      { file: 'img/four.png', cls: 'blue', set: 'val' },
    ]
      .map((o) => JSON.stringify(o))
      .join('\n'),
  );
  const jl = await scanImages(join(root, 'sets.jsonl'), { fields: { path: 'file', label: 'cls', split: 'set' } });
  assert.deepEqual(jl.items.map((i) => `${i.id}=${i.split}`).sort(), [
    'img/four.png=val',
    'img/one, with comma.png=train',
    'img/three.png=train',
    'img/two.png=test',
  ]);
  // both remaining classes are single-example in training
  assert.equal(jl.report.issues.filter((i) => i.kind === 'single-example-class').length, 2);
});

test('nothing usable, a missing root, and an unknown manifest type are GraftErrors', async () => {
  const root = join(dir, 'hopeless');
  put(join(root, 'a/x.jpg'), 'nope');
  put(join(root, 'b/y.jpg'), new Uint8Array(0));
  await assert.rejects(scanImages(root), (e: unknown) => {
    assert.ok(e instanceof GraftError && e.code === 'BAD_INPUT');
    assert.match(e.message, /1 corrupt files skipped: a\/x\.jpg/);
    assert.match(e.message, /1 empty \(0-byte\) files skipped: b\/y\.jpg/);
    return true;
  });
  await assert.rejects(
    scanImages(join(dir, 'does-not-exist')),
    (e: unknown) => e instanceof GraftError && e.code === 'NOT_FOUND',
  );
  put(join(dir, 'list.xml'), '<x/>');
  await assert.rejects(scanImages(join(dir, 'list.xml')), /Unsupported table format/);
});

test('mapLabel merges and drops classes', async () => {
  const ds = await scanImages(join(dir, 'folders'), {
    mapLabel: (l) => (l === 'owl' ? null : 'animal-' + (l === 'cat' ? 'a' : 'b')),
  });
  assert.deepEqual(ds.labels.names, ['animal-a', 'animal-b']);
  assert.ok(!ds.report.issues.some((i) => i.kind === 'single-example-class'));
});
