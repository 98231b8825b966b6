// graft compare through the CLI (in-process): a tiny study on a slice of the committed Fashion-MNIST
// subset with the small test backbone writes study.json and compare.html and prints the table; user
// errors end in a message listing the valid choices and the usage exit code (2), never a stack trace.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fashionSlice, removeTempDirs, tempDir, writeTinyBackbone } from '../../app/test-utils/fixtures.js';
import { parseStudy } from '../../report/compare.js';
import { memoryIo } from '../io.js';
import { EXIT_USAGE, runCli } from '../run.js';
import { parsePercentages } from './compare.js';

/** a line of a JavaScript stack trace */
const STACK = /^\s+at .+:\d+:\d+\)?$/m;

let dir: string;
let data: string;
let common: string[];

async function cli(args: string[]) {
  const io = memoryIo({ HOME: dir }, dir);
  const code = await runCli(args, io);
  return { code, out: io.out, err: io.err };
}

before(() => {
  dir = tempDir('graft-cli-compare-');
  const model = writeTinyBackbone(join(dir, 'tiny.onnx'));
  data = fashionSlice(join(dir, 'data'), { train: 20, test: 4 });
  common = ['--model', model, '--cache-dir', join(dir, 'cache')];
});
after(removeTempDirs);

test('parsePercentages: percent list to fractions; anything else is a user error', () => {
  assert.deepEqual(parsePercentages('1, 5,10,100'), [0.01, 0.05, 0.1, 1]);
  for (const bad of ['', '0,10', '150', '10,abc', '-5']) assert.throws(() => parsePercentages(bad), /--fractions/);
});

test('graft compare: table on stdout, progress on stderr, study.json and compare.html in --out', async () => {
  const out = join(dir, 'study');
  const r = await cli([
    'compare',
    data,
    ...common,
    '--strategies',
    'linear-probe,prototype',
    '--fractions',
    '10,100',
    '--epochs',
    '10',
    '--out',
    out,
  ]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^strategy +10% \(2\/cl\) +100% \(20\/cl\)$/m);
  assert.match(r.out, /^linear-probe +\d+\.\d% +\d+\.\d%$/m);
  assert.match(r.out, /^prototype +\d+\.\d% +\d+\.\d%$/m);
  assert.match(r.out, new RegExp(`report +${join(out, 'compare.html')}`));
  assert.match(r.err, /\[4\/4\] test accuracy \d+\.\d\d%/);
  const study = parseStudy(readFileSync(join(out, 'study.json'), 'utf8'));
  assert.equal(study.runs.length, 4);
  assert.deepEqual(study.seeds, [0]);
  const html = readFileSync(join(out, 'compare.html'), 'utf8');
  const charts = [...html.matchAll(/<figure class="chart" data-chart="([\w-]+)"><svg/g)].map((m) => m[1]);
  assert.deepEqual(charts, ['accuracy', 'loss', 'time']);

  const j = await cli(['compare', data, ...common, '--strategies', 'knn', '--fractions', '50', '--seeds', '2']);
  assert.equal(j.code, EXIT_USAGE, 'no --out');
  assert.match(j.err, /needs --out DIR/);
  const k = await cli([
    'compare',
    data,
    ...common,
    '--strategies',
    'knn',
    '--fractions',
    '50',
    '--seeds',
    '2',
    '--out',
    join(dir, 'k'),
    '--json',
    '-q',
  ]);
  assert.equal(k.code, 0, k.err);
  assert.equal(k.err, '', '--quiet prints no progress');
  const res = JSON.parse(k.out) as { studyFile: string; accuracy: { n: number; perClass: number }[] };
  assert.equal(res.studyFile, join(dir, 'k', 'study.json'));
  assert.deepEqual(
    res.accuracy.map((a) => [a.n, a.perClass]),
    [[2, 10]],
  );
  assert.ok(existsSync(join(dir, 'k', 'compare.html')));
});

test('graft compare: an unknown strategy exits with the usage code, the valid ones listed, no stack trace', async () => {
  const r = await cli(['compare', data, ...common, '--strategies', 'linear-probe,transfer', '--out', join(dir, 'x')]);
  assert.equal(r.code, EXIT_USAGE, 'a usage error, as graft train --strategy with an unknown name');
  assert.match(r.err, /Unknown strategy: transfer/);
  assert.match(r.err, /valid choices: feature-extract, linear-probe, knn, prototype/);
  assert.doesNotMatch(r.err, STACK);
  assert.equal(existsSync(join(dir, 'x')), false, 'nothing written before the check');
  const f = await cli(['compare', data, ...common, '--fractions', '0,10', '--out', join(dir, 'y')]);
  assert.equal(f.code, EXIT_USAGE);
  assert.match(f.err, /--fractions takes percentages/);
  assert.doesNotMatch(f.err, STACK);
});
