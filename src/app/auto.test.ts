// issue 13 end to end on small data: `--strategy auto` keeps the probe or the fine-tune and says why (on the
// validation split, or by cross-validation when it is small), the temperature is chosen by the rule and
// its choice recorded, and a model trained on 90 images does not call random noise a class with certainty.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import sharp from 'sharp';
import { readRunFolder } from '../report/node/run-folder.js';
import { renderHtmlReport } from '../report/html.js';
import { tinyCnn } from '../transfer/finetune/test-utils.js';
import { saveOnnxFile } from '../node/onnx-file.js';
import { mulberry32 } from '../util/rng.js';
import { loadClassifier, predictFiles } from './classifier.js';
import { fineTuneImageClassifier } from './finetune.js';
import { TINY_PREPROCESSING, fashionSlice, removeTempDirs, tempDir, writeTinyBackbone } from './test-utils/fixtures.js';
import { trainImageClassifier } from './train-image.js';

let dir: string;
let cnn: string;
let data: string;
let cacheDir: string;
const session = { threads: 1 };

before(() => {
  dir = tempDir('graft-auto-');
  const { model } = tinyCnn({ size: 32, channels: 8, blocks: 2 });
  model.metadata.set('graft.preprocessing', JSON.stringify(TINY_PREPROCESSING));
  cnn = join(dir, 'cnn.onnx');
  saveOnnxFile(cnn, model);
  data = fashionSlice(join(dir, 'data'), { train: 20, test: 8, classes: 4 });
  cacheDir = join(dir, 'cache');
});
after(removeTempDirs);

const settings = { unfreeze: 'last:2', epochs: 2, probeEpochs: 20, seed: 1, ...session };

test('auto with a small validation split cross-validates probe and fine-tune, keeps one, says why, and calibrates out of fold', async () => {
  const r = await fineTuneImageClassifier({
    data,
    out: join(dir, 'auto-cv'),
    model: cnn,
    cacheDir,
    strategy: 'auto',
    ...settings,
  });
  assert.equal(r.strategy, 'auto');
  const sel = r.kept.selection!;
  assert.equal(sel.method, 'cross-validation');
  assert.equal(sel.examples, 80, 'every labelled image (train + val) scored out of fold');
  assert.equal(sel.folds, 5);
  assert.deepEqual(
    sel.candidates.map((c) => c.name),
    ['probe', 'fine-tune'],
  );
  assert.ok(['probe', 'fine-tune'].includes(r.kept.phase!));
  // the kept candidate has at least the other's out-of-fold accuracy
  const [probe, ft] = sel.candidates;
  const kept = r.kept.phase === 'probe' ? probe! : ft!;
  assert.ok(kept.accuracy >= Math.max(probe!.accuracy, ft!.accuracy));
  assert.match(
    r.kept.reason,
    /^kept (probe|fine-tune): accuracy [\d.]+% vs [\d.]+% for (probe|fine-tune) out of fold in 5-fold cross-validation on 80 labelled examples/,
  );
  // the probe's epoch, or the fine-tune's last; numbered as history.jsonl numbers them
  assert.equal(r.kept.epoch, r.kept.phase === 'probe' ? (r.phases[0]!.bestEpoch ?? 20) : 22);
  const folder = await readRunFolder(r.runDir, { thumbnails: false });
  assert.deepEqual(folder.run.kept, r.kept);
  const log = readFileSync(join(r.runDir, 'train.log'), 'utf8');
  assert.match(
    log,
    /auto: 8 validation images are fewer than the 300 a decision needs: cross-validating probe and fine-tune on all 80 labelled images/,
  );
  assert.match(log, /kept: epoch \d+ of 22 \(phase (probe|fine-tune)\): kept /);
  // the temperature was chosen on the 80 out-of-fold predictions of the kept candidate
  const cal = folder.metrics.calibration!;
  assert.equal(cal.fit!.method, 'out-of-fold');
  assert.equal(cal.fit!.examples, 80);
  assert.equal(cal.fit!.cvFolds, 5);
  assert.equal(cal.temperature, r.temperature);
  assert.equal(cal.fit!.kept, cal.temperature !== 1);
  assert.deepEqual(r.calibration, cal.fit);
  // the report says which model was kept, shades the phases and names the temperature's origin
  const html = await renderHtmlReport(folder);
  assert.match(
    html,
    /<h3>The saved model<\/h3><p>The saved model comes from epoch <b>\d+<\/b> of 22, phase <b>(probe|fine-tune)<\/b>: kept /,
  );
  assert.match(html, /Phases: probe \(epochs 1–20\), fine-tune \(epochs 21–22\); the curves shade them/);
  assert.match(html, /out of fold in 5-fold cross-validation on 80 labelled examples/);
  assert.match(html, /out-of-fold predictions \(5-fold cross-validation on the labelled data\)/);
});

test('auto with enough validation examples decides on them alone', async () => {
  const r = await fineTuneImageClassifier({
    data,
    out: join(dir, 'auto-val'),
    model: cnn,
    cacheDir,
    strategy: 'auto',
    autoMinHeldOut: 8,
    ...settings,
  });
  const sel = r.kept.selection!;
  assert.equal(sel.method, 'validation');
  assert.equal(sel.examples, 8);
  assert.equal(sel.folds, undefined);
  assert.match(r.kept.reason, /on 8 validation examples/);
  // too few validation predictions to fit a temperature on, and no cross-validation ran: T = 1, said why
  assert.equal(r.temperature, 1);
  assert.equal(r.calibration!.outcome, 'too-few');
  assert.match(
    readFileSync(join(r.runDir, 'train.log'), 'utf8'),
    /calibration: no temperature fitted: 8 held-out predictions, fewer than the 100 a fit needs; T = 1, on the validation split/,
  );
  // the same seed and settings: fine-tune's final model is auto's fine-tune candidate
  const ft = await fineTuneImageClassifier({
    data,
    out: join(dir, 'ft'),
    model: cnn,
    cacheDir,
    strategy: 'fine-tune',
    ...settings,
  });
  if (r.kept.phase === 'fine-tune') assert.equal(r.test!.accuracy, ft.test!.accuracy);
});

test('a model trained on 90 images does not give 99% to random noise', async () => {
  // the tiny fixed CNN on three Fashion-MNIST classes, 33 images each, 10% held out: 90 train, 9 validation,
  // all nine right with a margin. Fitted on them, a temperature runs to its bound (0.001) and the exported
  // model is certain of everything (issue 13); the rule keeps T = 1 on so few predictions.
  const model = writeTinyBackbone(join(dir, 'tiny.onnx'));
  const small = fashionSlice(join(dir, 'small'), { train: 33, classes: 3 });
  const r = await trainImageClassifier({ data: small, out: join(dir, 'ood'), model, cacheDir, seed: 1, ...session });
  assert.equal(
    Object.values(r.counts).reduce((a, c) => a + c.train, 0),
    90,
  );
  assert.equal(r.val!.examples, 9);
  assert.equal(r.val!.accuracy, 1);
  // too few validation images: the temperature is chosen on out-of-fold predictions of heads trained as far
  // as the run's own head (to the epoch it kept), not on nine images
  assert.equal(r.calibration!.method, 'out-of-fold');
  assert.match(
    readFileSync(join(r.runDir, 'train.log'), 'utf8'),
    /gave out-of-fold predictions for all 99 labelled images, each fold's head trained to epoch \d+ as the run's was/,
  );
  const rnd = mulberry32(3);
  const files: string[] = [];
  for (let i = 0; i < 24; i++) {
    const px = Buffer.from(Array.from({ length: 32 * 32 * 3 }, () => Math.floor(rnd() * 256)));
    const file = join(dir, `noise-${i}.png`);
    await sharp(px, { raw: { width: 32, height: 32, channels: 3 } })
      .png()
      .toFile(file);
    files.push(file);
  }
  const c = await loadClassifier(r.runDir, { session: { intraOpThreads: 1 } });
  try {
    const top = (await predictFiles(c, files)).map((p) => p.top![0]!.probability);
    assert.ok(
      Math.max(...top) < 0.99,
      `top probabilities on noise: ${top.map((p) => p.toFixed(3)).join(' ')} (T ${r.temperature}: ${r.calibration?.reason})`,
    );
  } finally {
    await c.dispose();
  }
});
