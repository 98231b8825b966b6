// The studio's data step runs in the page, but it is browser-safe code (Blob and Web Crypto exist in Node):
// here it reads the fixture folder as a directory input hands it over, and must find what `graft train`'s
// scanner finds: the same items, labels, hashes and split, and the same files left out.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import sharp from 'sharp';
import { scanAndSplitImages } from '../app/data.js';
import { type PickedFile, placeFiles, readPickedFiles } from './dataset.js';
import { imageHeader } from './image-header.js';

const FIXTURE = fileURLToPath(new URL('../../fixtures/fashion-mnist-small', import.meta.url));

/** A folder's files as a directory input lists them: paths under the picked folder's own name. */
function picked(dir: string): PickedFile[] {
  const out: PickedFile[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out.push({ path: `picked/${relative(dir, p)}`, file: new Blob([readFileSync(p)]) });
    }
  };
  walk(dir);
  return out;
}

test('the fixture read as picked files is the data set and split graft train scans', async () => {
  const [page, cli] = await Promise.all([
    readPickedFiles(picked(FIXTURE), { seed: 0 }),
    scanAndSplitImages(FIXTURE, { valSplit: 0.1, testSplit: 0, seed: 0 }),
  ]);
  assert.equal(page.root, 'picked');
  assert.equal(page.layout, 'split-folders');
  assert.deepEqual(page.labels.names, cli.labels.names);
  const key = (i: { id: string; label: string; hash: string; split: string }) =>
    `${i.split}:${i.label}:${i.id}:${i.hash}`;
  assert.deepEqual(page.items.map(key), cli.items.map(key), 'the same items in the same order');
  assert.deepEqual(page.report.counts.perClass, cli.report.counts.perClass);
  assert.deepEqual(
    page.report.issues.flatMap((i) => i.files).sort(),
    ['LICENSE', 'README.md', 'classes.json'],
    'the files beside train/ and test/ are listed as left out',
  );
});

test('files are checked before any decode: size, header, pixel limit; one bad file does not stop the rest', async () => {
  const png = (w: number, h: number, v = 0) =>
    sharp(Buffer.alloc(w * h, v), { raw: { width: w, height: h, channels: 1 } })
      .png()
      .toBuffer();
  const files: PickedFile[] = [
    { path: 'd/cat/a.png', file: new Blob([await png(8, 8, 1)]) },
    { path: 'd/cat/b.png', file: new Blob([await png(8, 8, 2)]) },
    { path: 'd/cat/copy.png', file: new Blob([await png(8, 8, 2)]) },
    { path: 'd/cat/big.png', file: new Blob([await png(200, 200)]) },
    { path: 'd/cat/text.png', file: new Blob(['not an image at all']) },
    { path: 'd/cat/notes.txt', file: new Blob(['x']) },
    { path: 'd/dog/a.png', file: new Blob([await png(8, 8, 3)]) },
    { path: 'd/dog/b.png', file: new Blob([await png(8, 8, 4)]) },
    { path: 'd/loose.png', file: new Blob([await png(8, 8, 5)]) },
  ];
  const ds = await readPickedFiles(files, { maxImagePixels: 100 * 100, valSplit: 0 });
  const why = Object.fromEntries(ds.report.issues.flatMap((i) => i.files.map((f) => [f, i.kind])));
  assert.deepEqual(why, {
    'cat/big.png': 'too-large',
    'cat/text.png': 'corrupt',
    'cat/notes.txt': 'unsupported',
    'cat/copy.png': 'duplicate',
    'loose.png': 'unsupported',
  });
  assert.deepEqual(ds.items.map((i) => i.id).sort(), ['cat/a.png', 'cat/b.png', 'dog/a.png', 'dog/b.png']);
});

test('image headers give the size of PNG, JPEG, GIF and WebP without decoding; others are refused', async () => {
  const img = sharp({ create: { width: 37, height: 23, channels: 3, background: '#808080' } });
  for (const format of ['png', 'jpeg', 'gif', 'webp'] as const) {
    const bytes = new Uint8Array(await img.clone().toFormat(format).toBuffer());
    assert.deepEqual(imageHeader(bytes), { format, width: 37, height: 23 }, format);
  }
  const lossless = new Uint8Array(await img.clone().webp({ lossless: true }).toBuffer());
  assert.deepEqual(imageHeader(lossless), { format: 'webp', width: 37, height: 23 });
  assert.ok('problem' in imageHeader(new TextEncoder().encode('<svg></svg>')));
  assert.ok('problem' in imageHeader(new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 0, 2, 0, 0, 0, 0, 0])));
  // a PNG header that claims 100000 x 100000 pixels is read as such (the caller refuses it)
  const bomb = new Uint8Array(await img.clone().png().toBuffer());
  new DataView(bomb.buffer).setUint32(16, 100_000);
  new DataView(bomb.buffer).setUint32(20, 100_000);
  assert.deepEqual(imageHeader(bomb), { format: 'png', width: 100_000, height: 100_000 });
});

test('placeFiles: class folders, split folders, and what is not an example', () => {
  const p = placeFiles(['x/train/a/1.png', 'x/test/a/2.png', 'x/README.md', 'x/train/.DS_Store', 'x/other/a/3.png']);
  assert.equal(p.layout, 'split-folders');
  assert.deepEqual(
    p.placed.map((f) => `${f.split}:${f.label}:${f.id}`),
    ['train:a:train/a/1.png', 'test:a:test/a/2.png'],
  );
  assert.deepEqual(
    p.ignored.map((f) => f.id),
    ['README.md', 'other/a/3.png'],
  );
  const c = placeFiles(['y/cat/1.png', 'y/dog/2.png']);
  assert.equal(c.layout, 'class-folders');
  assert.deepEqual(
    c.placed.map((f) => f.label),
    ['cat', 'dog'],
  );
});
