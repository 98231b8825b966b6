// Fine-tuning end to end on a slice of the committed Fashion-MNIST subset with a small residual CNN saved
// as a user model: run folder, exported model, the freeze-boundary cache on disk and its reuse,
// augmentation (no cache), from scratch, and the LR finder.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { GraftError } from '../errors.js';
import { readRunFolder } from '../report/node/run-folder.js';
import { tinyCnn } from '../transfer/finetune/test-utils.js';
import { saveOnnxFile } from '../node/onnx-file.js';
import { evaluateClassifier } from './evaluate.js';
import { type FineTuneImageResult, fineTuneImageClassifier } from './finetune.js';
import { lrFindImages } from './finetune-lr-find.js';
import { STRATEGY_DEFAULTS } from '../transfer/strategies/phases.js';
import { TINY_PREPROCESSING, fashionSlice, removeTempDirs, tempDir } from './test-utils/fixtures.js';

let dir: string;
let model: string;
let data: string;
let cacheDir: string;
let first: FineTuneImageResult;
const session = { threads: 1 };

before(async () => {
  dir = tempDir('graft-finetune-');
  const { model: cnn } = tinyCnn({ size: 32, channels: 8, blocks: 2 });
  cnn.metadata.set('graft.preprocessing', JSON.stringify(TINY_PREPROCESSING));
  model = join(dir, 'cnn.onnx');
  saveOnnxFile(model, cnn);
  data = fashionSlice(join(dir, 'data'), { train: 20, test: 8, classes: 4 });
  cacheDir = join(dir, 'cache');
  first = await fineTuneImageClassifier({
    data,
    out: join(dir, 'run-ft'),
    model,
    cacheDir,
    strategy: 'fine-tune',
    unfreeze: 'last:2',
    epochs: 3,
    probeEpochs: 3,
    seed: 1,
    ...session,
  });
});
after(removeTempDirs);

test('fine-tune writes a run folder graft report reads, with the freeze report, phases and cache in the log', async () => {
  const run = await readRunFolder(first.runDir);
  assert.equal(run.run.strategy, 'fine-tune');
  assert.equal(run.run.config.unfreeze, 'last:2');
  assert.equal(run.run.config.activations, 'cache');
  assert.equal(run.history.length, 3 + 3, 'probe epochs then the fine-tune phase, numbered on');
  assert.deepEqual(
    run.history.map((h) => h.phase),
    ['probe', 'probe', 'probe', 'fine-tune', 'fine-tune', 'fine-tune'],
  );
  assert.deepEqual(
    run.history.map((h) => h.epoch),
    Array.from({ length: 6 }, (_, i) => i + 1),
  );
  assert.equal(first.activations.kind, 'cache');
  assert.equal(first.activations.at, 'layers/block_1/out/Relu_out');
  assert.deepEqual(first.activations.sampleDims, [8, 32, 32]);
  assert.equal(first.activations.computed, 4 * 28);
  assert.ok(
    existsSync(first.activations.storePath!) && statSync(first.activations.storePath!).size > 4 * 28 * 8192 * 4,
  );
  const log = readFileSync(join(first.runDir, 'train.log'), 'utf8');
  assert.match(log, /freeze report:\n {2}block +trainable +params +BN/);
  assert.match(log, /layers\/block_1 +- +1,200 +2 x inference +frozen/);
  assert.match(log, /freeze-boundary cache: activations at layers\/block_1\/out\/Relu_out \[8x32x32\] computed once/);
  assert.match(
    log,
    /phase fine-tune: [\d,]+ trainable parameters, inputs cached \(at layers\/block_1\/out\/Relu_out\)/,
  );
  // which epoch the saved model is, in the log, run.json and the result
  assert.deepEqual(
    { epoch: first.kept.epoch, epochs: first.kept.epochs, phase: first.kept.phase },
    { epoch: 6, epochs: 6, phase: 'fine-tune' },
  );
  assert.match(
    first.kept.reason,
    /^the last epoch of phase fine-tune \(phases that train blocks keep their last epoch/,
  );
  assert.deepEqual(run.run.kept, first.kept);
  assert.match(log, /kept: epoch 6 of 6 \(phase fine-tune\): the last epoch of phase fine-tune/);
  const ft = JSON.parse(readFileSync(join(first.runDir, 'finetune.json'), 'utf8')) as {
    blocks: { name: string; trainable: number }[];
    phases: { name: string }[];
  };
  assert.deepEqual(
    ft.blocks.map((b) => b.name),
    ['stem', 'layers/block_1', 'layers/block_2', 'top', 'head'],
  );
  assert.deepEqual(
    ft.phases.map((p) => p.name),
    ['probe', 'fine-tune'],
  );
  assert.match(first.freezeReport[0]!, /^ {2}block +trainable +params +BN$/);
  assert.equal(
    first.freezeReport.length,
    1 + 5 + 3,
    'a header, one line per block, then totals, BN and where training begins',
  );
});

test('the exported model scores the test images as the run reported, from pixels', async () => {
  const ev = await evaluateClassifier({ model: first.runDir, data, split: 'test', session: { intraOpThreads: 1 } });
  assert.equal(ev.report.numExamples, first.test!.examples);
  assert.ok(
    Math.abs(ev.report.accuracy - first.test!.accuracy) < 1e-9,
    `${ev.report.accuracy} vs ${first.test!.accuracy}`,
  );
});

test('a second run at the same boundary reuses every cached activation (lp-ft, interpolated halfway back); augmentation recomputes them each epoch', async () => {
  const again = await fineTuneImageClassifier({
    data,
    out: join(dir, 'run-lpft'),
    model,
    cacheDir,
    strategy: 'lp-ft',
    unfreeze: 'last:2',
    epochs: 2,
    probeEpochs: 5,
    interpolate: 0.5,
    ...session,
  });
  assert.equal(again.activations.computed, 0);
  assert.equal(again.activations.reused, 4 * 28);
  // WiSE-FT: run.json and the kept model's reason say the weights were moved back halfway
  assert.equal((await readRunFolder(again.runDir)).run.config.interpolate, 0.5);
  assert.match(again.kept.reason, /start \+ 0\.5 x \(trained - start\).*WiSE-FT, --interpolate/);
  assert.equal(
    (await readRunFolder(first.runDir)).run.config.interpolate,
    STRATEGY_DEFAULTS.fineTune.interpolate,
    "fine-tune's own default",
  );
  const aug = await fineTuneImageClassifier({
    data,
    out: join(dir, 'run-aug'),
    model,
    cacheDir,
    unfreeze: 'last:1',
    epochs: 2,
    probeEpochs: 1,
    augment: true,
    ...session,
  });
  assert.equal(aug.activations.kind, 'recompute');
  assert.match(
    readFileSync(join(aug.runDir, 'train.log'), 'utf8'),
    /augmentation on: activations at .* recomputed every epoch/,
  );
  assert.equal(aug.test!.examples, 32, 'test images without cached activations run through the whole model');
});

test('from scratch: every weight re-initialised, the whole network trains on images held in memory', async () => {
  const r = await fineTuneImageClassifier({
    data,
    out: join(dir, 'run-scratch'),
    model,
    cacheDir,
    fromScratch: true,
    epochs: 2,
    ...session,
  });
  assert.equal(r.strategy, 'scratch');
  assert.equal(r.activations.kind, 'images');
  assert.equal(r.trainableParams, r.totalParams);
  const ft = JSON.parse(readFileSync(join(r.runDir, 'finetune.json'), 'utf8')) as { reinitialized: { params: number } };
  assert.equal(ft.reinitialized.params, 26);
  await assert.rejects(
    () => fineTuneImageClassifier({ data, out: join(dir, 'x'), model, cacheDir, fromScratch: true, strategy: 'lp-ft' }),
    (e: unknown) => e instanceof GraftError && /needs a pretrained one[\s\S]*--strategy scratch/.test(e.message),
  );
});

test('lr-find sweeps the head on cached pooled features by default and writes the sweep', async () => {
  const out = join(dir, 'sweep.csv');
  const r = await lrFindImages({ data, model, cacheDir, steps: 30, out, seed: 2, ...session });
  assert.equal(r.phase, 'fine-tune');
  assert.equal(r.activations.at, 'features');
  assert.equal(r.trainableParams, 4 * 16 + 4);
  assert.ok(r.points.length >= 8 && r.points.length <= 30);
  const csv = readFileSync(out, 'utf8').trim().split('\n');
  assert.equal(csv[0], 'step,lr,loss,smoothed');
  assert.equal(csv.length, r.points.length + 1);
  assert.match(r.freezeReport.join('\n'), /unfreeze none/);
});
