// graft train --strategy fine-tune|full --from-scratch and graft lr-find through the CLI (in-process), with a
// small residual CNN on a slice of the committed Fashion-MNIST subset; user errors end in a message.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { saveOnnxFile } from '../../node/onnx-file.js';
import { TINY_PREPROCESSING, fashionSlice, removeTempDirs, tempDir } from '../../app/test-utils/fixtures.js';
import { tinyCnn } from '../../transfer/finetune/test-utils.js';
import { memoryIo } from '../io.js';
import { runCli } from '../run.js';

const STACK = /^\s+at .+:\d+:\d+\)?$/m;
let dir: string;
let common: string[];
let data: string;

async function cli(args: string[]) {
  const io = memoryIo({ HOME: dir }, dir);
  const code = await runCli(args, io);
  return { code, out: io.out, err: io.err };
}

before(() => {
  dir = tempDir('graft-cli-finetune-');
  const { model } = tinyCnn({ size: 32, channels: 8 });
  model.metadata.set('graft.preprocessing', JSON.stringify(TINY_PREPROCESSING));
  saveOnnxFile(join(dir, 'cnn.onnx'), model);
  data = fashionSlice(join(dir, 'data'), { train: 10, test: 3, classes: 4 });
  common = ['--model', join(dir, 'cnn.onnx'), '--cache-dir', join(dir, 'cache'), '--threads', '1'];
});
after(removeTempDirs);

test('graft train --strategy fine-tune prints the freeze report, the phases and the cache decision before training', async () => {
  const r = await cli([
    'train',
    data,
    ...common,
    '--strategy',
    'fine-tune',
    '--unfreeze',
    'last:2',
    '--epochs',
    '2',
    '--probe-epochs',
    '2',
    '--lr',
    '3e-3',
    '--out',
    join(dir, 'ft'),
  ]);
  assert.equal(r.code, 0, r.err);
  const err = r.err;
  const order = ['freeze report:', 'phases:', 'freeze-boundary cache:', 'phase probe:', 'phase fine-tune:'].map((s) =>
    err.indexOf(s),
  );
  assert.ok(
    order.every((i, k) => i >= 0 && (k === 0 || i > order[k - 1]!)),
    `in order: ${order.join(', ')}\n${err}`,
  );
  assert.match(err, /top +176 +176 +1 x inference +train/);
  assert.match(r.out, /trained fine-tune \(unfreeze last:2, linear head\)/);
  assert.match(r.out, /fine-tune: 2 epochs in [\d.]+s \([\d.]+s\/epoch\)/);
  assert.match(r.out, /test accuracy +\d+\.\d\d% +\(12 images/);
});

test('graft train --strategy full --from-scratch --json, and graft lr-find with a plot and a suggestion', async () => {
  const r = await cli([
    'train',
    data,
    ...common,
    '--strategy',
    'full',
    '--from-scratch',
    '--epochs',
    '1',
    '--json',
    '--out',
    join(dir, 'scratch'),
  ]);
  assert.equal(r.code, 0, r.err);
  const res = JSON.parse(r.out) as { strategy: string; activations: { kind: string }; unfreeze: string };
  assert.deepEqual([res.strategy, res.activations.kind, res.unfreeze], ['scratch', 'images', 'all']);
  const s = await cli(['lr-find', data, ...common, '--steps', '20']);
  assert.equal(s.code, 0, s.err);
  assert.match(s.out, /learning-rate sweep of phase fine-tune \(68 trainable parameters\)/);
  assert.match(s.out, /learning rate \(log scale\)/);
  assert.match(s.out, /suggested lr +\d\.\de-\d+|no suggestion/);
});

test('fine-tuning flags with a cached-feature strategy, bad --unfreeze and from-scratch lp-ft are messages, not stack traces', async () => {
  const cases: [string[], RegExp][] = [
    [['--unfreeze', 'last:2'], /--unfreeze does not apply to --strategy linear-probe[\s\S]*--strategy fine-tune/],
    [['--strategy', 'fine-tune', '--dropout', '0.3'], /--dropout does not apply to --strategy fine-tune/],
    [['--pool', 'mean'], /--pool only applies to text data/],
    [['--strategy', 'fine-tune', '--unfreeze', 'last'], /Cannot read --unfreeze 'last'/],
    [['--strategy', 'fine-tune', '--unfreeze', 'block:nothing*'], /No block matches 'nothing\*'/],
    [['--strategy', 'lp-ft', '--from-scratch'], /needs a pretrained one[\s\S]*--strategy scratch/],
    [['--strategy', 'fine-tune', '--head', 'knn:3'], /does not fit --strategy fine-tune[\s\S]*--strategy knn/],
  ];
  for (const [flags, message] of cases) {
    const r = await cli(['train', data, ...common, ...flags, '--out', join(dir, 'bad')]);
    assert.notEqual(r.code, 0, flags.join(' '));
    assert.match(r.err, message, flags.join(' '));
    assert.doesNotMatch(r.err, STACK);
  }
});
