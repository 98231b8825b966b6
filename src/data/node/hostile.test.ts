// Hostile data sets (issue 10): special files, links that loop, files over the limits, decoder bombs. Each
// of these hung the scan, or took gigabytes, before the defences; the tests run under a short timeout.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { GraftError } from '../../errors.js';
import type { DatasetIssue } from '../report.js';
import { summariseIssues } from '../report.js';
import { readTable } from './files.js';
import { dataLimits } from '../limits.js';
import { scanImages } from './images.js';
import { ImageLoader } from './loader.js';
import { loadTextDataset } from './text.js';
import { gifBomb, pngBomb } from './test-utils/bombs.js';
import { put, tempDir, writeImage, pattern } from './test-utils/images.js';

let dir: string;
let cleanup: () => void;
before(() => ({ dir, cleanup } = tempDir()));
after(() => cleanup());

const quick = { timeout: 20_000 };
const SECRET = 'HOSTILE-SECRET-7f3a';

function byKind(issues: readonly DatasetIssue[]): Record<string, string[]> {
  const m: Record<string, string[]> = {};
  for (const i of issues) (m[i.kind] ??= []).push(...i.files);
  for (const k of Object.keys(m)) m[k]!.sort();
  return m;
}

const fifo = (path: string) => {
  mkdirSync(join(path, '..'), { recursive: true });
  execFileSync('mkfifo', [path]);
};

const sparse = (path: string, bytes: number) => {
  put(path, '');
  truncateSync(path, bytes);
};

test(
  'image class folders: FIFO, /dev/zero link, looping links, huge file and bombs are skipped and listed',
  quick,
  async () => {
    const root = join(dir, 'images');
    for (const [k, c] of ['cat', 'dog'].entries()) {
      await writeImage(join(root, c, 'a.png'), 'png', pattern(12, 8, 2 * k));
      await writeImage(join(root, c, 'b.png'), 'png', pattern(12, 8, 2 * k + 1));
    }
    fifo(join(root, 'cat/x.png'));
    symlinkSync('/dev/zero', join(root, 'cat/z.png'));
    // two links to '.': the walk was exponential (2^32 paths) before folders were entered once
    symlinkSync('.', join(root, 'cat/loop1'));
    symlinkSync('.', join(root, 'cat/loop2'));
    // a link from one class into another would give cat's files the label dog
    symlinkSync('../cat', join(root, 'dog/cats'));
    // a top-level link to the root is a "class" that is the whole data set again
    symlinkSync('.', join(root, 'all'));
    sparse(join(root, 'dog/huge.png'), 100 * 1024 ** 2);
    put(join(root, 'dog/bomb.gif'), gifBomb());
    put(join(root, 'dog/bomb.png'), await pngBomb(9000, 9000));

    const ds = await scanImages(root);
    assert.deepEqual(ds.labels.names, ['cat', 'dog']);
    assert.deepEqual(ds.items.map((i) => i.id).sort(), ['cat/a.png', 'cat/b.png', 'dog/a.png', 'dog/b.png']);
    const issues = byKind(ds.report.issues);
    assert.deepEqual(issues['not-a-file'], ['cat/x.png', 'cat/z.png']);
    assert.deepEqual(issues['skipped-folder'], ['all/', 'cat/loop1/', 'cat/loop2/', 'dog/cats/']);
    assert.deepEqual(issues['too-large'], ['dog/bomb.gif', 'dog/bomb.png', 'dog/huge.png']);
    assert.equal(issues['empty-class'], undefined);

    const detail = (f: string) => ds.report.issues.find((i) => i.files.includes(f))!.detail;
    assert.match(detail('cat/x.png'), /FIFO/);
    assert.match(detail('cat/z.png'), /character device/);
    assert.match(detail('cat/loop1/'), /same folder as cat\/ \(a link\)/);
    assert.match(detail('all/'), /same folder as the data set root/);
    assert.match(detail('dog/bomb.gif'), /^16383x16383 \(268.4 megapixels\), over the 67.1 megapixels limit/);
    assert.match(detail('dog/bomb.png'), /^9000x9000/);
    assert.match(detail('dog/huge.png'), /^100 MiB, over the 64 MiB limit/);
    // the console summary shows each special file with its reason
    const lines = summariseIssues(ds.report.issues, 10).join('\n');
    assert.match(lines, /2 special files .* cat\/x\.png \(a FIFO \(named pipe\), not a regular file\)/);
  },
);

test('the limits can be raised and lowered per scan', quick, async () => {
  const root = join(dir, 'limits');
  for (const [k, c] of ['cat', 'dog'].entries()) {
    await writeImage(join(root, c, 'a.png'), 'png', pattern(12, 8, 3 * k));
    await writeImage(join(root, c, 'b.png'), 'png', pattern(12, 8, 3 * k + 1));
    await writeImage(join(root, c, 'big.png'), 'png', pattern(40, 40, 3 * k + 2), 40, 40);
  }
  sparse(join(root, 'dog/huge.png'), 70 * 1024 ** 2);
  const low = await scanImages(root, { limits: { maxImagePixels: 100 } });
  assert.equal(low.items.length, 4);
  assert.deepEqual(byKind(low.report.issues)['too-large'], ['cat/big.png', 'dog/big.png', 'dog/huge.png']);
  // raised: the 70 MiB file is read (and found not to be an image); the 1600-pixel images pass
  const high = await scanImages(root, { limits: { maxImageBytes: 80 * 1024 ** 2 } });
  assert.equal(high.items.length, 6);
  assert.deepEqual(byKind(high.report.issues)['corrupt'], ['dog/huge.png']);
  assert.throws(() => dataLimits({ maxImagePixels: 0 }), /Invalid data limit maxImagePixels/);
});

test('split folders: val linked to train is scanned once', quick, async () => {
  const root = join(dir, 'splits');
  for (const [k, c] of ['cat', 'dog'].entries()) {
    await writeImage(join(root, 'train', c, 'a.png'), 'png', pattern(12, 8, 2 * k));
    await writeImage(join(root, 'train', c, 'b.png'), 'png', pattern(12, 8, 2 * k + 1));
  }
  symlinkSync('train', join(root, 'val'));
  const ds = await scanImages(root);
  assert.equal(ds.layout, 'split-folders');
  assert.deepEqual(ds.report.counts.perSplit, { train: 4, val: 0, test: 0 });
  assert.deepEqual(byKind(ds.report.issues)['skipped-folder'], ['val/']);
});

test('a manifest naming /dev/zero, a FIFO and a folder lists them as special files, opening none', quick, async () => {
  const root = join(dir, 'manifest');
  for (const n of ['a', 'b', 'c', 'd'])
    await writeImage(join(root, `${n}.png`), 'png', pattern(12, 8, n.charCodeAt(0)));
  fifo(join(root, 'pipe.png'));
  mkdirSync(join(root, 'folder.png'));
  const csv = put(
    join(root, 'data.csv'),
    'path,label\na.png,cat\nb.png,cat\nc.png,dog\nd.png,dog\n/dev/zero,cat\npipe.png,dog\nfolder.png,dog\ngone.png,cat\n',
  );
  const ds = await scanImages(csv);
  assert.equal(ds.items.length, 4);
  const issues = byKind(ds.report.issues);
  assert.deepEqual(issues['not-a-file'], ['/dev/zero', 'folder.png', 'pipe.png']);
  assert.deepEqual(issues['missing-file'], ['gone.png']);
  assert.match(ds.report.issues.find((i) => i.files[0] === '/dev/zero')!.detail, /character device.*data\.csv/);
});

test(
  'text class folders: FIFO, /dev/zero link, looping link and an over-size file are skipped and listed',
  quick,
  async () => {
    const root = join(dir, 'texts');
    put(join(root, 'spam/1.txt'), 'win a prize');
    put(join(root, 'spam/2.txt'), 'cheap pills');
    put(join(root, 'ham/1.txt'), 'lunch at noon?');
    put(join(root, 'ham/2.txt'), 'minutes attached');
    put(join(root, 'ham/long.txt'), 'x'.repeat(2000));
    fifo(join(root, 'spam/pipe.txt'));
    symlinkSync('/dev/zero', join(root, 'ham/zero.txt'));
    symlinkSync('.', join(root, 'ham/again'));
    put(join(root, 'ham/bad.json'), `{"text": "${SECRET}" oops}`);
    const ds = await loadTextDataset(root, { extensions: ['.txt', '.json'], limits: { maxTextBytes: 1000 } });
    assert.equal(ds.items.length, 4);
    const issues = byKind(ds.report.issues);
    assert.deepEqual(issues['not-a-file'], ['ham/zero.txt', 'spam/pipe.txt']);
    assert.deepEqual(issues['too-large'], ['ham/long.txt']);
    assert.deepEqual(issues['skipped-folder'], ['ham/again/']);
    assert.deepEqual(issues.corrupt, ['ham/bad.json']);
    assert.ok(!JSON.stringify(ds.report).includes(SECRET), 'a report quotes a file');
  },
);

test('tables have byte, row and row-length limits; their errors never quote the table', quick, async () => {
  const rows = (n: number) => ['text,label', ...Array.from({ length: n }, (_, i) => `t${i},${i % 2}`)].join('\n');
  const csv = put(join(dir, 'tables/t.csv'), rows(10));
  const jsonl = put(
    join(dir, 'tables/t.jsonl'),
    Array.from({ length: 10 }, (_, i) => JSON.stringify({ text: `t${i}`, label: i % 2 })).join('\n'),
  );
  for (const f of [csv, jsonl]) {
    await assert.rejects(
      loadTextDataset(f, { limits: { maxTableBytes: 50 } }),
      (e: unknown) =>
        e instanceof GraftError && /table is too large/.test(e.message) && /over the 50 bytes/.test(e.message),
    );
    await assert.rejects(
      loadTextDataset(f, { limits: { maxTableRows: 9 } }),
      (e: unknown) => e instanceof GraftError && /too many rows[\s\S]*at most 9 rows/.test(e.message),
    );
    assert.equal((await loadTextDataset(f, { limits: { maxTableRows: 10 } })).items.length, 10);
  }
  // a record over the length limit: an error at its line for CSV, a skipped row for JSON Lines
  const long = put(join(dir, 'tables/long.csv'), `text,label\nshort,0\n${'y'.repeat(500)},1\nok,1\n`);
  await assert.rejects(
    loadTextDataset(long, { limits: { maxRowChars: 100 } }),
    (e: unknown) => e instanceof GraftError && /row of the data set table is too long[\s\S]*at line 3/.test(e.message),
  );
  const longJ = put(
    join(dir, 'tables/long.jsonl'),
    [
      { text: 'a', label: 0 },
      { text: 'y'.repeat(500), label: 1 },
      { text: 'b', label: 1 },
      { text: 'c', label: 0 },
    ]
      .map((o) => JSON.stringify(o))
      .join('\n'),
  );
  const j = await loadTextDataset(longJ, { limits: { maxRowChars: 100 } });
  assert.equal(j.items.length, 3);
  assert.deepEqual(byKind(j.report.issues)['bad-row'], ['long.jsonl:2']);
  // csv-parse and JSON.parse messages quote the offending text; Graft's do not
  const quote = put(join(dir, 'tables/quote.csv'), `text,label\nab"${SECRET}",1\n`);
  await assert.rejects(loadTextDataset(quote), (e: unknown) => {
    assert.ok(e instanceof GraftError);
    assert.match(e.message, /Malformed CSV[\s\S]*a quote inside an unquoted field at line 2/);
    assert.ok(!e.message.includes(SECRET) && !JSON.stringify(e.toJSON()).includes(SECRET));
    return true;
  });
  const badJ = put(
    join(dir, 'tables/bad.jsonl'),
    `{"text":"a","label":0}\n{"text": ${SECRET}}\n{"text":"b","label":1}\n`,
  );
  const b = await loadTextDataset(badJ);
  assert.ok(!JSON.stringify(b.report).includes(SECRET));
  assert.match(b.report.issues.find((i) => i.kind === 'bad-row')!.detail, /^not valid JSON/);
});

test('a table path swapped for a FIFO or device is refused by the read itself', quick, async () => {
  const pipe = join(dir, 'swap/t.csv');
  fifo(pipe);
  await assert.rejects(readTable(pipe, [], 't.csv', dataLimits()), /not a regular file[\s\S]*FIFO/);
  const zero = join(dir, 'swap/z.jsonl');
  symlinkSync('/dev/zero', zero);
  await assert.rejects(readTable(zero, [], 'z.jsonl', dataLimits()), /character device/);
  // and as a data set argument, before any read
  await assert.rejects(loadTextDataset(zero), /neither a file nor a folder[\s\S]*character device/);
  sparse(join(dir, 'swap/huge.csv'), 300 * 1024 ** 2);
  await assert.rejects(loadTextDataset(join(dir, 'swap/huge.csv')), /300 MiB, over the 256 MiB limit/);
});

test(
  'files swapped for a bomb or a FIFO after the scan fail to decode in the loader; the rest load',
  quick,
  async () => {
    const root = join(dir, 'swapped');
    for (const [k, c] of ['cat', 'dog'].entries()) {
      for (let i = 0; i < 3; i++) await writeImage(join(root, c, `${i}.png`), 'png', pattern(12, 8, 3 * k + i));
    }
    const ds = await scanImages(root);
    writeFileSync(join(root, 'cat/0.png'), gifBomb());
    rmSync(join(root, 'dog/0.png'));
    fifo(join(root, 'dog/0.png'));
    const preprocessing = {
      size: [8, 8] as [number, number],
      resize: 'squash' as const,
      scale: 1 / 255,
      mean: [0, 0, 0],
      std: [1, 1, 1],
      layout: 'NCHW' as const,
      channels: 3 as const,
    };
    const loader = new ImageLoader(ds.items, { preprocessing, labels: ds.labels, batchSize: 2 });
    let n = 0;
    for await (const b of loader.epoch()) n += b.labels.length;
    assert.equal(n, 4);
    const why = Object.fromEntries(loader.issues.map((i) => [i.files[0], i.detail]));
    assert.match(why['cat/0.png']!, /^Image too large: 16383x16383/);
    assert.match(why['dog/0.png']!, /^Image not read: a FIFO/);
    // a model input over the limit is refused before any image is decoded
    assert.throws(
      () =>
        new ImageLoader(ds.items, {
          preprocessing: { ...preprocessing, size: [30000, 30000] },
          labels: ds.labels,
          batchSize: 2,
        }),
      /Invalid preprocessing: size[\s\S]*at most 4.2 megapixels/,
    );
  },
);
