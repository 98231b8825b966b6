import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { scanImages } from './images.js';
import { loadImageArrays } from './loader.js';

const ROOT = 'fixtures/fashion-mnist-small';

test('the committed Fashion-MNIST subset scans clean: 10 classes, 100 train and 50 test each, 28x28 grey', async () => {
  const ds = await scanImages(ROOT);
  assert.equal(ds.layout, 'split-folders');
  assert.deepEqual(ds.report.issues, []);
  const folders = JSON.parse(readFileSync(`${ROOT}/classes.json`, 'utf8')) as string[];
  assert.deepEqual(ds.labels.names, [...folders].sort());
  for (const c of folders) assert.deepEqual(ds.report.counts.perClass[c], { train: 100, val: 0, test: 50 });
  assert.ok(ds.items.every((i) => i.width === 28 && i.height === 28 && i.channels === 1 && i.format === 'png'));
  // grey in, grey replicated to RGB out: every pixel has r = g = b
  const some = ds.items.filter((i) => i.split === 'test').slice(0, 20);
  const r = await loadImageArrays(some, {
    preprocessing: {
      size: [28, 28],
      resize: 'squash',
      scale: 1,
      mean: [0, 0, 0],
      std: [1, 1, 1],
      layout: 'NHWC',
      channels: 3,
    },
    labels: ds.labels,
  });
  assert.equal(r.labels.length, 20);
  for (let i = 0; i < r.x.length; i += 3) assert.ok(r.x[i] === r.x[i + 1] && r.x[i] === r.x[i + 2]);
});
