// A transformer text classifier through the CLI (in-process runCli, the real App): graft train on
// use_lite.en (features and fine-tuning), then predict --text, predict a table, eval, embed and export,
// on the committed review fixtures (scripts/fixtures/make_reviews.py). The model comes from the zoo cache.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { removeTempDirs, tempDir } from '../../app/test-utils/fixtures.js';
import { memoryIo } from '../io.js';
import { runCli } from '../run.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const TRAIN = join(root, 'fixtures/text/reviews.csv');
const TEST = join(root, 'fixtures/text/reviews-test.csv');
const STACK = /^\s+at .+:\d+:\d+\)?$/m;

let dir: string;
let run: string;

async function cli(args: string[]) {
  const io = memoryIo({ ...process.env }, dir);
  const code = await runCli(args, io);
  return { code, out: io.out, err: io.err };
}

before(async () => {
  dir = tempDir('graft-cli-text-');
  run = join(dir, 'run');
  const r = await cli(['train', TRAIN, '--model', 'use_lite.en', '--out', run, '--seed', '1', '--json']);
  assert.equal(r.code, 0, r.err);
});
after(removeTempDirs);

test('graft predict on a text model: --text and a table of texts, top classes with probabilities', async () => {
  const one = await cli(['predict', run, '--text', 'The kettle broke on the first day.', '--json']);
  assert.equal(one.code, 0, one.err);
  const p = JSON.parse(one.out) as { predictions: { source: string; top: { label: string; probability: number }[] }[] };
  assert.equal(p.predictions.length, 1);
  assert.equal(p.predictions[0]!.source, 'text #1');
  assert.equal(p.predictions[0]!.top[0]!.label, 'negative');
  const sum = p.predictions[0]!.top.reduce((a, t) => a + t.probability, 0);
  assert.ok(Math.abs(sum - 1) < 1e-5, 'two classes: the top 2 are all of the probability');
  const table = await cli(['predict', join(run, 'model.onnx'), TEST]);
  assert.equal(table.code, 0, table.err);
  const lines = table.out.trim().split('\n');
  assert.equal(lines.length, 60);
  assert.match(lines[0]!, /reviews-test\.csv:2\t(positive|negative) \d+\.\d%  (positive|negative) \d+\.\d%\t\S/);
  assert.match(table.err, /predicting \[#+\] 100% 60\/60 +[\d.]+ texts\/s/);
});

test('graft eval on a text model: held-out accuracy and the report, misclassified texts named', async () => {
  const r = await cli(['eval', run, TEST, '--json']);
  assert.equal(r.code, 0, r.err);
  const res = JSON.parse(r.out) as {
    report: { accuracy: number; numExamples: number };
    files: string[];
    texts: string[];
  };
  assert.equal(res.report.numExamples, 60);
  assert.ok(res.report.accuracy >= 0.9, `accuracy ${res.report.accuracy}`);
  assert.equal(res.texts.length, 60);
  const plain = await cli(['eval', run, TEST]);
  assert.match(plain.out, /accuracy \d+\.\d+%/);
  assert.match(plain.out, /top losses\n.*reviews-test\.csv:\d+ {2}\S/);
});

test('graft embed texts: 512-d use_lite.en embeddings as .npy with a row index, tokens/s reported', async () => {
  const out = join(dir, 'reviews.npy');
  const r = await cli(['embed', TEST, '--model', 'use_lite.en', '--out', out, '--json']);
  assert.equal(r.code, 0, r.err);
  const res = JSON.parse(r.out) as { rows: number; dim: number; tokensPerSecond: number; index: string };
  assert.deepEqual([res.rows, res.dim], [60, 512]);
  assert.ok(res.tokensPerSecond > 0);
  const bytes = readFileSync(out);
  const headerLength = 10 + bytes.readUInt16LE(8);
  assert.equal(statSync(out).size, headerLength + 60 * 512 * 4);
  const first = new Float32Array(
    bytes.buffer.slice(bytes.byteOffset + headerLength, bytes.byteOffset + headerLength + 2048),
  );
  const norm = Math.sqrt(first.reduce((a, v) => a + v * v, 0));
  assert.ok(Math.abs(norm - 1) < 1e-4, `use_lite.en embeddings are unit vectors (${norm})`);
  assert.equal(readFileSync(res.index, 'utf8').trim().split('\n').length, 60);
});

test('graft export of a text model: one .onnx that predicts the same; the transformers.js layout is refused', async () => {
  const out = join(dir, 'exported.onnx');
  const r = await cli(['export', run, '--out', out]);
  assert.equal(r.code, 0, r.err);
  assert.ok(existsSync(out));
  const a = await cli(['predict', out, '--text', 'The screen is excellent.', '--json']);
  const b = await cli(['predict', run, '--text', 'The screen is excellent.', '--json']);
  assert.deepEqual(JSON.parse(a.out).predictions, JSON.parse(b.out).predictions);
  const web = await cli(['export', run, '--format', 'transformers.js', '--out', join(dir, 'web')]);
  assert.notEqual(web.code, 0);
  assert.match(web.err, /cannot be exported as transformers\.js/);
  assert.doesNotMatch(web.err, STACK);
});

test('graft train --strategy fine-tune --unfreeze last:1 on use_lite.en; a bad --unfreeze is a usage error', async () => {
  const ft = join(dir, 'ft');
  const r = await cli([
    'train',
    TRAIN,
    '--model',
    'use_lite.en',
    '--strategy',
    'fine-tune',
    '--unfreeze',
    'last:1',
    '--epochs',
    '2',
    '--out',
    ft,
    '--json',
  ]);
  assert.equal(r.code, 0, r.err);
  const config = (JSON.parse(readFileSync(join(ft, 'run.json'), 'utf8')) as { config: Record<string, unknown> }).config;
  assert.equal(config.unfreeze, 'last:1');
  assert.equal(config.trainedEncoderWeights, 14, "Layer_1's 12 weights and the tanh projection's 2");
  const bad = await cli([
    'train',
    TRAIN,
    '--model',
    'use_lite.en',
    '--strategy',
    'fine-tune',
    '--unfreeze',
    'first:2',
    '--out',
    join(dir, 'bad'),
  ]);
  assert.equal(bad.code, 2);
  assert.match(bad.err, /--unfreeze 'first:2'/);
  assert.doesNotMatch(bad.err, STACK);
});

test('graft report of a text run lists misclassified texts, escaped', async () => {
  // the test split holds texts written as markup, labelled against their meaning: the worst examples
  const rows = readFileSync(TRAIN, 'utf8')
    .trim()
    .split('\n')
    .slice(1, 121)
    .map((l) => `${l},train`);
  const hostile = [
    '"<script>alert(1)</script> The battery is excellent.",negative,test',
    '"<img src=x onerror=alert(2)> The camera works perfectly.",negative,test',
    '"The zipper is terrible & broke.",negative,test',
    '"The seller made my day.",positive,test',
  ];
  const data = join(dir, 'hostile.csv');
  writeFileSync(data, ['text,label,split', ...rows, ...hostile].join('\n') + '\n');
  const out = join(dir, 'hostile-run');
  const r = await cli(['train', data, '--model', 'use_lite.en', '--out', out, '--json']);
  assert.equal(r.code, 0, r.err);
  const rep = await cli(['report', out]);
  assert.equal(rep.code, 0, rep.err);
  const html = readFileSync(join(out, 'report.html'), 'utf8');
  assert.ok(html.includes('&lt;script&gt;alert(1)&lt;/script&gt; The battery is excellent.'), 'the text, escaped');
  assert.ok(html.includes('&lt;img src=x onerror=alert(2)&gt;'));
  assert.ok(!html.includes('<script>alert(1)') && !html.includes('<img src=x'), 'never raw');
});
