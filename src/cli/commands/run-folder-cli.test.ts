// The run folder's life at the CLI: a new run refuses a folder that holds another, --overwrite replaces it
// without leaving stale files, and a fine-tune killed mid-run continues with --resume to the same model.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { RESUME_DIR } from '../../app/run-folder.js';
import { TINY_PREPROCESSING, fashionSlice, removeTempDirs, tempDir } from '../../app/test-utils/fixtures.js';
import { loadOnnxFile, saveOnnxFile } from '../../node/onnx-file.js';
import { tinyCnn } from '../../transfer/finetune/test-utils.js';
import { memoryIo } from '../io.js';
import { runCli } from '../run.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
let dir: string;
let data: string;
let common: string[];

async function cli(args: string[]) {
  const io = memoryIo({ HOME: dir }, dir);
  const code = await runCli(args, io);
  return { code, out: io.out, err: io.err };
}

before(() => {
  dir = tempDir('graft-cli-runfolder-');
  const { model } = tinyCnn({ size: 32, channels: 8 });
  model.metadata.set('graft.preprocessing', JSON.stringify(TINY_PREPROCESSING));
  saveOnnxFile(join(dir, 'cnn.onnx'), model);
  data = fashionSlice(join(dir, 'data'), { train: 10, test: 3, classes: 4 });
  common = ['--model', join(dir, 'cnn.onnx'), '--cache-dir', join(dir, 'cache'), '--threads', '1'];
});
after(removeTempDirs);

test('a new run refuses a folder that holds another; --overwrite replaces it and leaves no stale file', async () => {
  const out = join(dir, 'run');
  const ft = await cli([
    'train',
    data,
    ...common,
    '--strategy',
    'fine-tune',
    '--epochs',
    '1',
    '--probe-epochs',
    '1',
    '--out',
    out,
  ]);
  assert.equal(ft.code, 0, ft.err);
  assert.ok(existsSync(join(out, 'finetune.json')));
  writeFileSync(join(out, 'report.html'), '<html></html>');
  writeFileSync(join(out, 'notes.txt'), 'mine');
  const refused = await cli(['train', data, ...common, '--out', out]);
  assert.equal(refused.code, 2);
  assert.match(refused.err, /The run folder is not empty[\s\S]*--overwrite/);
  assert.ok(existsSync(join(out, 'finetune.json')), 'nothing was touched');
  const lp = await cli(['train', data, ...common, '--out', out, '--overwrite']);
  assert.equal(lp.code, 0, lp.err);
  assert.equal(JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')).strategy, 'linear-probe');
  assert.ok(!existsSync(join(out, 'finetune.json')), 'the old fine-tune file is gone');
  assert.ok(!existsSync(join(out, 'report.html')), 'the old report is gone');
  assert.equal(readFileSync(join(out, 'notes.txt'), 'utf8'), 'mine', "the user's own file stays");
  const both = await cli(['train', data, ...common, '--out', out, '--overwrite', '--resume', out]);
  assert.equal(both.code, 2);
  const nothing = await cli(['train', '--resume', out]);
  assert.equal(nothing.code, 2);
  assert.match(nothing.err, /no interrupted run to resume/);
});

/** Runs graft in a child process and kills it (SIGKILL) once `ready` says so. */
function runUntil(args: string[], ready: () => boolean): Promise<{ killed: boolean; stderr: string }> {
  return new Promise((res) => {
    const child = spawn(process.execPath, [join(root, 'bin/graft.js'), ...args], {
      env: { ...process.env, HOME: dir, GRAFT_DEBUG: '' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    let killed = false;
    const poll = setInterval(() => {
      if (!killed && ready()) {
        killed = true;
        child.kill('SIGKILL');
      }
    }, 20);
    child.on('close', () => {
      clearInterval(poll);
      res({ killed, stderr });
    });
  });
}

test('a fine-tune killed mid-phase continues with graft train --resume RUN to the model an uninterrupted run makes', async () => {
  const settings = [
    '--strategy',
    'gradual',
    '--unfreeze',
    'last:2',
    '--epochs',
    '6',
    '--head-epochs',
    '1',
    '--seed',
    '3',
  ];
  const whole = join(dir, 'whole');
  const w = await cli(['train', data, ...common, ...settings, '--out', whole]);
  assert.equal(w.code, 0, w.err);

  const cut = join(dir, 'cut');
  mkdirSync(cut);
  const progress = join(cut, RESUME_DIR, 'progress.ckpt');
  // killed once the second block-training epoch has been saved: mid-phase or between phases
  const killedRun = await runUntil(['train', data, ...common, ...settings, '--out', cut], () => {
    try {
      return readFileSync(progress).includes(Buffer.from('"epoch":2'));
    } catch {
      return false;
    }
  });
  assert.ok(killedRun.killed, `the run was killed before its end\n${killedRun.stderr}`);
  assert.ok(!existsSync(join(cut, 'model.onnx')), 'it had not finished');
  const again = await cli(['train', data, ...common, ...settings, '--out', cut]);
  assert.equal(again.code, 2, 'a new run does not silently replace an interrupted one');
  assert.match(again.err, /interrupted run[\s\S]*--resume/);

  const r = await cli(['train', '--resume', cut, '--cache-dir', join(dir, 'cache'), '--threads', '1']);
  assert.equal(r.code, 0, r.err);
  assert.match(r.err, /resuming after \d+ finished epoch/);
  assert.ok(!existsSync(join(cut, RESUME_DIR)), 'a finished run keeps no resume state');
  const values = (file: string) =>
    [...loadOnnxFile(file).graph.initializers].map(([n, t]) => [n, Buffer.from(t.toArray().buffer).toString('base64')]);
  assert.deepEqual(values(join(cut, 'model.onnx')), values(join(whole, 'model.onnx')));
  const losses = (run: string) =>
    readFileSync(join(run, 'history.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { trainLoss: number }).trainLoss);
  assert.deepEqual(losses(cut), losses(whole));
  const stray = await cli(['train', '--resume', cut, '--epochs', '9']);
  assert.equal(stray.code, 2);
});
