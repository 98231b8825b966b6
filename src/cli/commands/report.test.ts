import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { writeSyntheticRun } from '../../report/test-utils/synthetic-run.js';
import { syntheticStudy } from '../../report/test-utils/synthetic-study.js';
import { memoryIo } from '../io.js';
import { runCli } from '../run.js';

const root = mkdtempSync(join(tmpdir(), 'graft-cli-report-'));
after(() => rmSync(root, { recursive: true, force: true }));

test('graft report RUN_DIR writes RUN_DIR/report.html and prints the headline numbers', async () => {
  const written = await writeSyntheticRun(join(root, 'run'));
  const io = memoryIo({}, root);
  assert.equal(await runCli(['report', 'run'], io), 0, io.err);
  const file = join(root, 'run', 'report.html');
  assert.match(readFileSync(file, 'utf8'), /^<!doctype html>/);
  const acc = (written.metrics.test!.accuracy * 100).toFixed(1);
  assert.match(io.out, new RegExp(`^report written to ${file} \\(\\d+ KB\\)\\n  test accuracy ${acc}%`));
  assert.match(io.err, /^warning: model\.onnx is missing/);
});

test('graft report --json --out FILE prints one JSON summary', async () => {
  const written = await writeSyntheticRun(join(root, 'run2'), { test: false });
  const io = memoryIo({}, root);
  assert.equal(await runCli(['report', 'run2', '--json', '-o', 'out/r.html'], io), 0, io.err);
  const summary = JSON.parse(io.out);
  assert.equal(summary.report, join(root, 'out', 'r.html'));
  assert.ok(existsSync(summary.report));
  assert.equal(summary.split, 'val');
  assert.equal(summary.accuracy, written.metrics.val!.accuracy);
  assert.deepEqual(summary.ece, {
    before: written.metrics.calibration!.eceBefore,
    after: written.metrics.calibration!.eceAfter,
    temperature: written.metrics.calibration!.temperature,
  });
  assert.equal(summary.bytes, readFileSync(summary.report).byteLength);
});

test('graft report on a folder that is not a run folder fails with the message, no stack', async () => {
  const io = memoryIo({}, root);
  assert.equal(await runCli(['report', 'nowhere'], io), 1);
  assert.match(io.err, /^error: The run folder does not exist \[file .*nowhere\]/);
  assert.doesNotMatch(io.err, /\n\s+at /);
  const json = memoryIo({}, root);
  assert.equal(await runCli(['report', 'nowhere', '--json'], json), 1);
  assert.equal(JSON.parse(json.out).error.code, 'NOT_FOUND');
});

test('graft report takes a study too: study.json or the folder graft compare wrote', async () => {
  const dir = join(root, 'study');
  mkdirSync(dir);
  writeFileSync(join(dir, 'study.json'), JSON.stringify(syntheticStudy()));
  const io = memoryIo({}, root);
  assert.equal(await runCli(['report', 'study'], io), 0, io.err);
  const file = join(dir, 'compare.html');
  assert.match(io.out, new RegExp(`^study report written to ${file} \\(\\d+ KB\\)`));
  assert.match(readFileSync(file, 'utf8'), /data-chart="accuracy"/);
  const json = memoryIo({}, root);
  assert.equal(await runCli(['report', 'study/study.json', '--out', 'study.html', '--json'], json), 0, json.err);
  assert.equal(JSON.parse(json.out).report, join(root, 'study.html'));
  // a broken study is a GraftError naming the file, with a non-zero exit code
  writeFileSync(join(dir, 'study.json'), '{"model": "m"}');
  const bad = memoryIo({}, root);
  assert.notEqual(await runCli(['report', 'study'], bad), 0);
  assert.match(bad.err, /study\.json/);
});
