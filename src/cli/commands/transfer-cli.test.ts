// graft train / predict / eval / embed / export through the CLI (in-process with runCli, plus one real
// process), with a small ONNX backbone on a slice of the committed Fashion-MNIST subset. Every user error
// must end in a message and a non-zero exit code, never a stack trace.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { fashionSlice, removeTempDirs, tempDir, writeTinyBackbone } from '../../app/test-utils/fixtures.js';
import { memoryIo } from '../io.js';
import { runCli } from '../run.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
/** a line of a JavaScript stack trace */
const STACK = /^\s+at .+:\d+:\d+\)?$/m;

let dir: string;
let model: string;
let data: string;
let runDir: string;
let common: string[];

async function cli(args: string[]) {
  const io = memoryIo({ HOME: dir }, dir);
  const code = await runCli(args, io);
  return { code, out: io.out, err: io.err };
}

before(async () => {
  dir = tempDir('graft-cli-transfer-');
  model = writeTinyBackbone(join(dir, 'tiny.onnx'));
  data = fashionSlice(join(dir, 'data'), { train: 10, test: 3 });
  runDir = join(dir, 'run');
  common = ['--model', model, '--cache-dir', join(dir, 'cache')];
});
after(removeTempDirs);

test('graft train --json: one result object on stdout, progress with rate and ETA on stderr', async () => {
  const r = await cli(['train', data, ...common, '--epochs', '20', '--seed', '3', '--out', runDir, '--json']);
  assert.equal(r.code, 0, r.err);
  const res = JSON.parse(r.out) as {
    modelPath: string;
    test: { accuracy: number; examples: number };
    counts: Record<string, { train: number; val: number; test: number }>;
    features: { computed: number };
    epochs: number;
  };
  assert.equal(res.modelPath, join(runDir, 'model.onnx'));
  assert.equal(res.test.examples, 30);
  assert.equal(res.features.computed, 130);
  assert.equal(res.epochs, 20);
  assert.deepEqual(res.counts.coat, { train: 9, val: 1, test: 3 });
  assert.match(r.err, /features \[#+-*\] +\d+% \d+\/130 +[\d.]+ img\/s +ETA/);
  assert.match(r.err, /epoch 20\/20 +loss/);
  assert.ok(existsSync(join(runDir, 'run.json')));
});

test('graft train (text): per-class counts, cache reuse and where the model is', async () => {
  const r = await cli(['train', data, ...common, '--strategy', 'knn', '--head', 'knn:3', '--out', join(dir, 'knn')]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /class +train +val +test\n +ankle_boot +9 +1 +3\n/);
  assert.match(r.out, /features: 130 from the cache, backbone not run/);
  assert.match(r.out, /test accuracy +\d+\.\d\d%/);
  assert.match(r.out, new RegExp(`model +${join(dir, 'knn', 'model.onnx')}`));
  assert.match(r.err, /features: all 130 from the cache/);
  const q = await cli(['train', data, ...common, '--strategy', 'prototype', '--out', join(dir, 'proto'), '-q']);
  assert.equal(q.code, 0);
  assert.equal(q.err, '', '--quiet prints no progress');
});

test('graft predict, eval, embed and export', async () => {
  const files = readdirSync(join(data, 'test', 'sandal')).map((f) => join(data, 'test', 'sandal', f));
  const p = await cli(['predict', join(runDir, 'model.onnx'), ...files, '--top', '2']);
  assert.equal(p.code, 0, p.err);
  const lines = p.out.trim().split('\n');
  assert.equal(lines.length, 3);
  assert.match(lines[0]!, /sandal\/\d+\.png\t\S+ \d+\.\d% +\S+ \d+\.\d%$/);

  const pj = await cli(['predict', runDir, files[0]!, join(dir, 'nope.png'), '--json']);
  assert.equal(pj.code, 1, 'a file that could not be classified makes the exit code 1');
  const preds = JSON.parse(pj.out) as { predictions: { file: string; top?: unknown[]; error?: string }[] };
  assert.equal(preds.predictions[0]!.top!.length, 3);
  assert.equal(preds.predictions[1]!.error, 'file not found');
  assert.match(pj.err, /^error: .*nope\.png: file not found$/m);
  assert.doesNotMatch(pj.err, STACK);

  const e = await cli(['eval', join(runDir, 'model.onnx'), data, '--json']);
  assert.equal(e.code, 0, e.err);
  const ev = JSON.parse(e.out) as { split: string; report: { numExamples: number; accuracy: number } };
  assert.deepEqual([ev.split, ev.report.numExamples], ['test', 30]);
  const train = JSON.parse(readFileSync(join(runDir, 'metrics.json'), 'utf8')) as { test: { accuracy: number } };
  assert.equal(ev.report.accuracy, train.test.accuracy);
  const et = await cli(['eval', runDir, join(data, 'test'), '-q']);
  assert.equal(et.code, 0, et.err);
  assert.match(et.out, /\(all\): accuracy \d+\.\d\d%[\s\S]*precision/);

  const emb = await cli(['embed', data, ...common, '--out', join(dir, 'f.csv'), '--json']);
  assert.equal(emb.code, 0, emb.err);
  assert.deepEqual((JSON.parse(emb.out) as { rows: number; computed: number }).rows, 130);

  const x = await cli(['export', runDir, '--out', join(dir, 'web'), '--format', 'transformers.js']);
  assert.equal(x.code, 0, x.err);
  assert.ok(existsSync(join(dir, 'web', 'onnx', 'model.onnx')));
  assert.ok(existsSync(join(dir, 'web', 'preprocessor_config.json')));
});

test('graft train on a folder with corrupt, empty, non-image and misplaced files lists them and trains', async () => {
  const messy = join(dir, 'messy');
  fashionSlice(messy, { train: 5, classes: 2 });
  const [a, b] = readdirSync(messy).sort();
  writeFileSync(join(messy, a!, 'zero.jpg'), '');
  writeFileSync(join(messy, a!, 'broken.png'), 'garbage');
  writeFileSync(join(messy, b!, 'readme.md'), '# not an image');
  writeFileSync(join(messy, 'loose.png'), readFileSync(join(messy, b!, readdirSync(join(messy, b!))[0]!)));
  const r = await cli([
    'train',
    messy,
    ...common,
    '--strategy',
    'prototype',
    '--val-split',
    '0.2',
    '--out',
    join(dir, 'messy-run'),
  ]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /4 file\(s\) left out:/);
  for (const [file, kind] of [
    [`${a}/zero.jpg`, 'empty-file'],
    [`${a}/broken.png`, 'corrupt'],
    [`${b}/readme.md`, 'unsupported'],
    ['loose.png', 'unlabelled'],
  ]) {
    assert.match(r.out, new RegExp(`^  ${file!.replace('.', '\\.')}  \\(${kind}: `, 'm'), file);
  }
  assert.match(r.err, /warning: 1 empty \(0-byte\) files skipped/);
  assert.doesNotMatch(r.err, STACK);
});

test('user errors: a message with a fix and a non-zero exit code, never a stack trace', async () => {
  const one = join(dir, 'one-class');
  fashionSlice(one, { train: 3, classes: 1 });
  const broken = join(dir, 'broken');
  for (const c of ['a', 'b']) {
    mkdirSync(join(broken, c), { recursive: true });
    writeFileSync(join(broken, c, 'x.png'), 'not an image');
  }
  const strangers = join(dir, 'strangers');
  mkdirSync(join(strangers, 'zebra'), { recursive: true });
  writeFileSync(
    join(strangers, 'zebra', 'z.png'),
    readFileSync(join(data, 'test', 'bag', readdirSync(join(data, 'test', 'bag'))[0]!)),
  );
  const png = join(data, 'test', 'bag', readdirSync(join(data, 'test', 'bag'))[0]!);
  const out = ['--out', join(dir, 'never')];
  const cases: [string[], number, RegExp][] = [
    [['train', join(dir, 'missing'), ...out], 1, /Data set not found[\s\S]*fix:/],
    [
      ['train', data, '--model', 'no_such.model', '--cache-dir', join(dir, 'cache'), ...out],
      1,
      /no_such\.model[\s\S]*valid choices/,
    ],
    [['train', data, ...common, '--head', 'svm', ...out], 2, /Cannot read the head 'svm'[\s\S]*fix:/],
    [['train', data, ...common, '--strategy', 'knn', '--head', 'mlp:10', ...out], 2, /does not fit --strategy knn/],
    [['train', data, ...common], 2, /needs --out RUN_DIR[\s\S]*fix:/],
    [['train', data, ...common, '--val-split', '1.5', ...out], 2, /--val-split must be a fraction/],
    [['train', data, '--strategy', 'magic', ...out], 2, /Bad value for --strategy[\s\S]*linear-probe/],
    [['train', one, ...common, ...out], 2, /Too few classes[\s\S]*fix:/],
    [['train', broken, ...common, ...out], 2, /No usable examples[\s\S]*2 corrupt files skipped/],
    [['predict', runDir], 2, /needs FILES[\s\S]*fix:/],
    [['predict', png, png], 1, /ONNX|model/i],
    [['predict', model, png], 1, /not a Graft classifier[\s\S]*fix:/],
    [['predict', join(dir, 'nothing.onnx'), png], 1, /Model not found[\s\S]*fix:/],
    [['eval', runDir, strangers], 2, /None of the classes[\s\S]*zebra/],
    [['export', runDir], 2, /needs --out PATH/],
    [['embed', data, ...common, '--out', join(dir, 'f.bin')], 2, /Cannot tell the embedding file format/],
  ];
  for (const [args, code, re] of cases) {
    const r = await cli(args);
    const what = `graft ${args.join(' ')}`;
    assert.equal(r.code, code, `${what}: exit ${r.code}\n${r.err}`);
    assert.match(r.err, /^error: /m, what);
    assert.match(r.err, re, what);
    assert.doesNotMatch(r.err, STACK, what);
    assert.doesNotMatch(r.err, /unexpected failure/, what);
    assert.equal(r.out, '', `${what}: nothing on stdout`);
  }
});

test('text data is told apart from images: it reaches the text trainer (GloVe, not the image backbone)', async () => {
  const csv = join(dir, 'reviews.csv');
  writeFileSync(csv, 'text,label\n"a fine film",pos\n"a dull film",neg\n"great",pos\n"awful",neg\n');
  const r = await cli(['train', csv, '--out', join(dir, 'text-run'), '--offline', '--cache-dir', join(dir, 'cache')]);
  assert.doesNotMatch(r.err, STACK);
  // an empty cache and --offline: the text trainer's default backbone is the one it cannot fetch
  assert.equal(r.code, 1, r.err);
  assert.match(r.err, /offline[\s\S]*wink-embeddings|glove/i);
  assert.doesNotMatch(r.err, /efficientnet/);
});

test('the graft binary: a user error in a real process prints no stack trace', () => {
  const png = join(data, 'test', 'bag', readdirSync(join(data, 'test', 'bag'))[0]!);
  const r = spawnSync(process.execPath, [join(root, 'bin/graft.js'), 'predict', model, png], {
    env: { ...process.env, GRAFT_FROM_SOURCE: '1' },
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /^error: The model has no 'graft\.labels' metadata/);
  assert.doesNotMatch(r.stderr, STACK);
});
