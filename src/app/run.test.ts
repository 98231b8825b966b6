// The run layer end to end on the committed Fashion-MNIST subset with a small convolutional backbone:
// train -> run folder -> predict / eval / embed, the feature cache, and data sets with bad files.
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import sharp from 'sharp';
import { GraftError } from '../errors.js';
import { attachThumbnails, readRunFolder } from '../report/node/run-folder.js';
import { CLASSIFIER_INPUT } from '../transfer/pipeline-graft.js';
import { loadOnnxFile } from '../node/onnx-file.js';
import { loadBackbone } from './backbone.js';
import { loadClassifier, predictFiles } from './classifier.js';
import { detectDataKind } from './data.js';
import { embedImages } from './embed.js';
import { evaluateClassifier } from './evaluate.js';
import { exportClassifier } from './export.js';
import { FASHION, TINY_DIM, fashionSlice, removeTempDirs, tempDir, writeTinyBackbone } from './test-utils/fixtures.js';
import { type TrainImageResult, trainImageClassifier } from './train-image.js';

let dir: string;
let model: string;
let data: string;
let cacheDir: string;
let first: TrainImageResult;

before(async () => {
  dir = tempDir();
  model = writeTinyBackbone(join(dir, 'tiny.onnx'));
  data = fashionSlice(join(dir, 'data'), { train: 20, test: 10 });
  cacheDir = join(dir, 'cache');
  first = await trainImageClassifier({ data, out: join(dir, 'run-lp'), model, cacheDir, seed: 1 });
});
after(removeTempDirs);

test('the backbone is cut before its classifier and pooled features are cached by content', async () => {
  const b = await loadBackbone({ model, cacheDir });
  assert.equal(b.featureValue, 'features', 'the Gemm classifier of the tiny model is cut off');
  assert.equal(b.dim, TINY_DIM);
  assert.deepEqual(b.itemDims, [3, 32, 32]);
  assert.equal(b.preprocessing.resize, 'squash');
  const squash = await loadBackbone({ model, cacheDir, resize: 'pad' });
  assert.notEqual(squash.namespace, b.namespace, 'another preprocessing is another cache namespace');
  await assert.rejects(
    loadBackbone({ model: 'no_such_model.zoo' }),
    (e: unknown) => e instanceof GraftError && e.code === 'NOT_FOUND',
  );
});

test('train writes a complete run folder that graft report reads', async () => {
  const r = first;
  assert.equal(r.strategy, 'linear-probe');
  assert.equal(r.head, 'linear');
  assert.equal(r.classes.length, 10);
  assert.equal(r.features.computed, 300);
  assert.ok(r.features.backboneLoaded);
  assert.deepEqual(r.counts.bag, { train: 18, val: 2, test: 10 });
  assert.ok(r.test!.accuracy > 0.4, `test accuracy ${r.test!.accuracy} (chance is 0.1)`);
  assert.ok(r.temperature! > 0);
  for (const f of [
    'run.json',
    'labels.json',
    'history.jsonl',
    'history.csv',
    'metrics.json',
    'top-losses.json',
    'model.onnx',
    'train.log',
    'dataset-report.json',
  ]) {
    assert.ok(existsSync(join(r.runDir, f)), f);
  }
  const folder = await readRunFolder(r.runDir, { thumbnails: false });
  assert.deepEqual(folder.labels, r.classes);
  assert.equal(folder.history.length, 100);
  assert.equal(folder.run.config.epochs, 100);
  assert.equal(folder.run.temperature, r.temperature);
  assert.equal(folder.metrics.test!.accuracy, r.test!.accuracy);
  assert.equal(folder.metrics.calibration!.temperature, r.temperature);
  assert.ok(folder.topLosses.length > 0 && existsSync(join(data, folder.topLosses[0]!.file)));
  assert.equal(folder.model!.metadata['graft.temperature'], String(r.temperature));
  assert.deepEqual(JSON.parse(folder.model!.metadata['graft.labels']!), r.classes);
  const prov = JSON.parse(folder.model!.metadata['graft.provenance']!) as Record<string, unknown>;
  assert.equal(prov.strategy, 'linear-probe');
  assert.equal(prov.featureValue, 'features');
  assert.match(readFileSync(join(r.runDir, 'train.log'), 'utf8'), /epoch 100\/100[\s\S]*test accuracy/);
  const m = loadOnnxFile(r.modelPath);
  assert.deepEqual(
    m.graph.dataInputs.map((i) => i.name),
    [CLASSIFIER_INPUT],
  );
});

test('the grafted model run on image files agrees with the head run on cached features', async () => {
  const ev = await evaluateClassifier({ model: first.modelPath, data });
  assert.equal(ev.split, 'test');
  assert.equal(ev.report.numExamples, 100);
  assert.equal(ev.report.accuracy, first.test!.accuracy);
  assert.ok(Math.abs(ev.report.logLoss - first.test!.logLoss) < 1e-4, `${ev.report.logLoss} vs ${first.test!.logLoss}`);

  const c = await loadClassifier(first.runDir);
  try {
    const files = readdirSync(join(data, 'test', 'trouser'))
      .slice(0, 3)
      .map((f) => join(data, 'test', 'trouser', f));
    const preds = await predictFiles(c, [...files, join(dir, 'missing.png'), join(dir, 'tiny.onnx')], { top: 2 });
    for (const p of preds.slice(0, 3)) {
      assert.equal(p.top!.length, 2);
      assert.ok(p.top![0]!.probability >= p.top![1]!.probability);
    }
    assert.equal(preds[3]!.error, 'file not found');
    assert.match(preds[4]!.error!, /image|format/i);
  } finally {
    await c.dispose();
  }
});

test('a second train with another head reuses every cached feature: the backbone is never loaded', async () => {
  for (const strategy of ['knn', 'prototype', 'feature-extract'] as const) {
    const r = await trainImageClassifier({
      data,
      out: join(dir, `run-${strategy}`),
      model,
      cacheDir,
      seed: 1,
      strategy,
      epochs: strategy === 'feature-extract' ? 20 : undefined,
    });
    assert.deepEqual(
      [r.features.computed, r.features.reused, r.features.batchesRun, r.features.backboneLoaded],
      [0, 300, 0, false],
      strategy,
    );
    assert.ok(r.test!.accuracy > 0.3, `${strategy}: ${r.test!.accuracy}`);
  }
});

test('changing one image recomputes only that image', async () => {
  const copy = join(dir, 'changed');
  fashionSlice(copy, { train: 20, test: 10 });
  const cls = join(copy, 'train', 'bag');
  const victim = join(cls, readdirSync(cls).sort()[0]!);
  writeFileSync(victim, await sharp(victim).flop().png().toBuffer());
  const r = await trainImageClassifier({ data: copy, out: join(dir, 'run-changed'), model, cacheDir, seed: 1 });
  assert.deepEqual([r.features.computed, r.features.reused, r.features.batchesRun], [1, 299, 1]);
});

test('bad files are skipped and listed; training succeeds on the good ones', async () => {
  const messy = join(dir, 'messy');
  fashionSlice(messy, { train: 6, classes: 3 });
  const [a, b] = readdirSync(messy).sort();
  writeFileSync(join(messy, a!, 'empty.png'), '');
  writeFileSync(join(messy, a!, 'corrupt.png'), 'this is not a png at all');
  writeFileSync(join(messy, b!, 'notes.txt'), 'a stray note');
  writeFileSync(join(messy, 'unsorted.png'), readFileSync(join(messy, a!, readdirSync(join(messy, a!)).sort()[0]!)));
  // a JPEG whose header is fine but whose data is cut short: it passes the scan and fails to decode
  const jpeg = await sharp(join(FASHION, 'train', 'bag', readdirSync(join(FASHION, 'train', 'bag'))[0]!))
    .resize(64, 64)
    .jpeg()
    .toBuffer();
  writeFileSync(join(messy, b!, 'truncated.jpg'), jpeg.subarray(0, Math.floor(jpeg.length / 2)));
  const r = await trainImageClassifier({ data: messy, out: join(dir, 'run-messy'), model, cacheDir, valSplit: 0.2 });
  const reasons = Object.fromEntries(r.badFiles.map((f) => [f.path, f.reason.split(':')[0]]));
  assert.deepEqual(reasons, {
    [`${a}/empty.png`]: 'empty-file',
    [`${a}/corrupt.png`]: 'corrupt',
    [`${b}/notes.txt`]: 'unsupported',
    'unsorted.png': 'unlabelled',
    [`${b}/truncated.jpg`]: 'decode-failed',
  });
  assert.equal(r.classes.length, 3);
  const total = Object.values(r.counts).reduce((n, c) => n + c.train + c.val + c.test, 0);
  assert.equal(total, 18, 'exactly the good files were used');
  const run = JSON.parse(readFileSync(join(r.runDir, 'run.json'), 'utf8')) as { data: { badFiles: unknown[] } };
  assert.equal(run.data.badFiles.length, 5);
  // again with another head: the undecodable file is tried again, but no backbone is loaded for it
  const again = await trainImageClassifier({
    data: messy,
    out: join(dir, 'run-messy-knn'),
    model,
    cacheDir,
    valSplit: 0.2,
    strategy: 'knn',
  });
  assert.deepEqual(
    [again.features.computed, again.features.batchesRun, again.features.backboneLoaded, again.badFiles.length],
    [0, 0, false, 5],
  );
});

test('a manifest with missing files and unusable rows trains on the rows that point to images', async () => {
  const rows = ['path,label'];
  for (const c of ['bag', 'coat', 'dress']) {
    for (const f of readdirSync(join(data, 'train', c))
      .sort()
      .slice(0, 5))
      rows.push(`data/train/${c}/${f},${c}`);
  }
  rows.push('data/train/bag/does-not-exist.png,bag', ',coat', 'data/train/coat/x.png,');
  const manifest = join(dir, 'manifest.csv');
  writeFileSync(manifest, rows.join('\n') + '\n');
  const r = await trainImageClassifier({
    data: manifest,
    out: join(dir, 'run-manifest'),
    model,
    cacheDir,
    valSplit: 0.2,
  });
  const reasons = r.badFiles.map((f) => `${f.path} ${f.reason.split(':')[0]}`).sort();
  assert.deepEqual(
    reasons,
    [
      'data/train/bag/does-not-exist.png missing-file',
      `manifest.csv:${rows.length - 1} bad-row`,
      `manifest.csv:${rows.length} bad-row`,
    ].sort(),
  );
  assert.equal(r.features.computed, 0, 'the listed images were embedded before, under the same hashes');
  assert.deepEqual(r.classes, ['bag', 'coat', 'dress']);
});

test('embed writes .npy with a row index, .jsonl and .csv from the same cache', async () => {
  const npy = await embedImages({ data, out: join(dir, 'emb.npy'), model, cacheDir });
  assert.deepEqual([npy.rows, npy.dim, npy.computed, npy.reused], [300, TINY_DIM, 0, 300]);
  const bytes = readFileSync(npy.out);
  assert.deepEqual([...bytes.subarray(0, 6)], [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]);
  const hlen = bytes.readUInt16LE(8);
  assert.equal((10 + hlen) % 64, 0);
  assert.match(
    bytes.subarray(10, 10 + hlen).toString(),
    /'descr': '<f4', 'fortran_order': False, 'shape': \(300, 96\)/,
  );
  assert.equal(bytes.length, 10 + hlen + 300 * TINY_DIM * 4);
  const rows = readFileSync(npy.index!, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { file: string });
  assert.equal(rows.length, 300);
  const jsonl = await embedImages({ data, out: join(dir, 'emb.jsonl'), model, cacheDir });
  const line = JSON.parse(readFileSync(jsonl.out, 'utf8').split('\n')[0]!) as { file: string; embedding: number[] };
  assert.equal(line.file, rows[0]!.file);
  const m = new Float32Array(
    bytes.buffer.slice(bytes.byteOffset + 10 + hlen, bytes.byteOffset + 10 + hlen + TINY_DIM * 4),
  );
  assert.deepEqual(line.embedding, Array.from(m));
  const csv = await embedImages({ data, out: join(dir, 'emb.csv'), model, cacheDir });
  const [head, row] = readFileSync(csv.out, 'utf8').split('\n');
  assert.equal(head!.split(',').length, 3 + TINY_DIM);
  assert.equal(row!.split(',')[0], rows[0]!.file);
  await assert.rejects(
    embedImages({ data, out: join(dir, 'emb.bin'), model, cacheDir }),
    (e: unknown) => e instanceof GraftError && /\.npy, \.jsonl, \.csv/.test(e.message),
  );
});

test('export refuses what transformers.js cannot reproduce and data kinds are told apart', async () => {
  const pad = await trainImageClassifier({
    data,
    out: join(dir, 'run-pad'),
    model,
    cacheDir,
    resize: 'pad',
    strategy: 'prototype',
  });
  assert.throws(
    () => exportClassifier(pad.modelPath, join(dir, 'tj-pad'), 'transformers.js'),
    (e: unknown) => e instanceof GraftError && /'pad' resize mode/.test(e.message),
  );
  const onnx = exportClassifier(pad.runDir, join(dir, 'copy.onnx'), 'onnx');
  assert.deepEqual(readFileSync(onnx.out), readFileSync(pad.modelPath));
  assert.throws(() => exportClassifier(model, join(dir, 'x'), 'transformers.js'), /not a Graft classifier/);

  const csv = join(dir, 'texts.csv');
  writeFileSync(csv, 'text,label\n"good film",pos\n"bad film",neg\n');
  const manifest = join(dir, 'images.csv');
  writeFileSync(manifest, 'path,label\na.png,x\n');
  const txt = join(dir, 'txt');
  fashionSlice(txt, { train: 1, classes: 2 });
  for (const c of readdirSync(txt))
    for (const f of readdirSync(join(txt, c))) copyFileSync(join(txt, c, f), join(txt, c, `${f}.txt`));
  for (const c of readdirSync(txt)) writeFileSync(join(txt, c, 'more.txt'), 'words');
  assert.equal(await detectDataKind(csv), 'text');
  assert.equal(await detectDataKind(manifest), 'image');
  assert.equal(await detectDataKind(data), 'image');
  assert.equal(await detectDataKind(txt), 'text');
});

test('a manifest run records the manifest folder as its data root, so the report finds its images', async () => {
  // the manifest lives in its own folder and names the images relative to it
  const manifestDir = join(dir, 'manifest-root');
  const rows = ['path,label,split'];
  for (const split of ['train', 'test'] as const) {
    for (const cls of readdirSync(join(data, split)).slice(0, 3)) {
      for (const f of readdirSync(join(data, split, cls)).slice(0, 8))
        rows.push(`../data/${split}/${cls}/${f},${cls},${split}`);
    }
  }
  mkdirSync(manifestDir);
  writeFileSync(join(manifestDir, 'images.csv'), rows.join('\n') + '\n');
  const out = join(dir, 'run-manifest-root');
  await trainImageClassifier({ data: join(manifestDir, 'images.csv'), out, model, cacheDir, seed: 2 });
  const run = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as { data: { root: string; source: string } };
  assert.equal(run.data.root, manifestDir, 'the folder the manifest paths are relative to');
  assert.equal(run.data.source, join(manifestDir, 'images.csv'));
  const folder = await readRunFolder(out);
  const t = await attachThumbnails(folder);
  assert.ok(folder.topLosses.length > 0);
  assert.deepEqual(t.missing, [], 'every top-loss image is found');
  assert.equal(t.made, Math.min(24, folder.topLosses.length));
});
