import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { GraftError } from '../../errors.js';
import { mulberry32 } from '../../util/rng.js';
import { type AugmentSpec, standardAugment } from '../augment.js';
import type { Preprocessing } from '../preprocessing.js';
import type { DatasetIssue } from '../report.js';
import { type ImageDataset, scanImages } from './images.js';
import { ImageLoader, loadImageArrays } from './loader.js';
import { pattern, put, raw, tempDir, writeImage } from './test-utils/images.js';

let dir: string;
let cleanup: () => void;
let ds: ImageDataset;

const spec: Preprocessing = {
  size: [8, 8],
  resize: 'squash',
  scale: 1 / 255,
  mean: [0.5, 0.5, 0.5],
  std: [0.25, 0.25, 0.25],
  layout: 'NCHW',
  channels: 3,
};

before(async () => {
  ({ dir, cleanup } = tempDir());
  const root = join(dir, 'set');
  // solid colours per class make expected tensor values easy to state
  mkdirSync(join(root, 'white'), { recursive: true });
  mkdirSync(join(root, 'black'), { recursive: true });
  // different sizes keep the files from being duplicates of each other
  for (let i = 0; i < 5; i++) {
    const w = 16 + i;
    await raw(new Uint8Array(w * 12 * 3).fill(255), w, 12)
      .png()
      .toFile(join(root, 'white', `${i}.png`));
    await raw(new Uint8Array(w * 12 * 3).fill(0), w, 12)
      .png()
      .toFile(join(root, 'black', `${i}.png`));
  }
  // distinct bytes so they are not duplicates of each other
  for (let i = 0; i < 5; i++) await writeImage(join(root, 'mixed', `${i}.jpg`), 'jpeg', pattern(40, 30, i), 40, 30);
  const good = readFileSync(await writeImage(join(dir, 'full.jpg'), 'jpeg', pattern(64, 64, 9), 64, 64));
  put(join(root, 'mixed', 'truncated.jpg'), good.subarray(0, Math.floor(good.length * 0.7)));
  ds = await scanImages(root);
});
after(() => cleanup());

test('batches carry normalised pixels in the layout, labels by label map, and a short last batch', async () => {
  const loader = new ImageLoader(
    ds.items.filter((i) => i.label !== 'mixed'),
    { preprocessing: spec, labels: ds.labels, batchSize: 4 },
  );
  const batches = [];
  for await (const b of loader.epoch()) batches.push(b);
  assert.deepEqual(
    batches.map((b) => b.dims),
    [
      [4, 3, 8, 8],
      [4, 3, 8, 8],
      [2, 3, 8, 8],
    ],
  );
  for (const b of batches) {
    b.items.forEach((it, k) => {
      assert.equal(b.labels[k], ds.labels.indexOf(it.label));
      // white: (1 - 0.5) / 0.25 = 2; black: (0 - 0.5) / 0.25 = -2
      const want = it.label === 'white' ? 2 : -2;
      const per = 3 * 64;
      for (let j = 0; j < per; j++) assert.ok(Math.abs(b.x[k * per + j]! - want) < 1e-6);
    });
  }
  const nhwc = new ImageLoader(ds.items.slice(0, 3), {
    preprocessing: { ...spec, layout: 'NHWC' },
    labels: ds.labels,
    batchSize: 3,
  });
  for await (const b of nhwc.epoch()) assert.deepEqual(b.dims, [3, 8, 8, 3]);
  const dropped = new ImageLoader(ds.items.slice(0, 10), {
    preprocessing: spec,
    labels: ds.labels,
    batchSize: 4,
    dropLast: true,
  });
  let n = 0;
  for await (const b of dropped.epoch()) n += b.labels.length;
  assert.equal(n, 8);
});

test('a file failing to decode is skipped, reported once, and not retried', async () => {
  const issues: DatasetIssue[] = [];
  const loader = new ImageLoader(ds.items, {
    preprocessing: spec,
    labels: ds.labels,
    batchSize: 5,
    onIssue: (i) => issues.push(i),
  });
  for (let epoch = 0; epoch < 2; epoch++) {
    let count = 0;
    for await (const b of loader.epoch()) {
      count += b.labels.length;
      assert.ok(!b.items.some((i) => i.id.endsWith('truncated.jpg')));
    }
    assert.equal(count, 15);
  }
  assert.equal(issues.length, 1);
  assert.equal(issues[0]!.kind, 'decode-failed');
  assert.deepEqual(issues[0]!.files, ['mixed/truncated.jpg']);
  assert.deepEqual(loader.issues, issues);
  assert.equal(loader.size, 15);
});

test('shuffle + augmentation are deterministic per seed and independent of decode concurrency', async () => {
  const run = async (seed: number, concurrency: number, augment: AugmentSpec | undefined) => {
    const loader = new ImageLoader(ds.items, { preprocessing: spec, labels: ds.labels, batchSize: 4, concurrency });
    const rng = mulberry32(seed);
    const xs: number[] = [];
    const order: string[] = [];
    for await (const b of loader.epoch({ rng, shuffle: true, augment })) {
      xs.push(...b.x);
      order.push(...b.items.map((i) => i.id));
    }
    return { xs, order };
  };
  const a = await run(21, 1, standardAugment);
  const b = await run(21, 6, standardAugment);
  const c = await run(22, 4, standardAugment);
  assert.deepEqual(a.order, b.order);
  assert.deepEqual(a.xs, b.xs);
  assert.notDeepEqual(a.order, c.order);
  // the shuffle is drawn first, so the same seed without augmentation gives the same order, other pixels
  const plain = await run(21, 2, undefined);
  assert.deepEqual(plain.order, a.order);
  assert.notDeepEqual(plain.xs, a.xs);
  await assert.rejects(
    (async () => {
      for await (const _ of new ImageLoader(ds.items, { preprocessing: spec, labels: ds.labels, batchSize: 2 }).epoch({
        shuffle: true,
      }));
    })(),
    (e: unknown) => e instanceof GraftError && e.code === 'CONFIG',
  );
});

test('loadImageArrays decodes a small set into one array', async () => {
  const r = await loadImageArrays(ds.items, { preprocessing: spec, labels: ds.labels });
  assert.deepEqual(r.dims, [15, 3, 8, 8]);
  assert.equal(r.labels.length, 15);
  assert.equal(r.issues.length, 1);
});
