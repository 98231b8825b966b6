// graft export --format onnx of a model whose weights live in an external data file (issue 10, item 8).
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { GraftError } from '../errors.js';
import { externalTensors, loadOnnxFile } from '../node/onnx-file.js';
import { tinyClassifier, writeTinyClassifierWithExternalData } from '../node/test-utils/classifier-fixture.js';
import { exportClassifier } from './export.js';

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'graft-export-ext-'));
  dirs.push(d);
  return d;
}

test('export --format onnx writes the external weights inline: one file that holds them', () => {
  const dir = tempDir();
  mkdirSync(join(dir, 'run'));
  writeTinyClassifierWithExternalData(join(dir, 'run', 'model.onnx'));
  assert.ok(externalTensors(loadOnnxFile(join(dir, 'run', 'model.onnx')).graph).length > 0);
  const r = exportClassifier(join(dir, 'run', 'model.onnx'), join(dir, 'out', 'model.onnx'), 'onnx');
  assert.deepEqual(r.files, [join(dir, 'out', 'model.onnx')]);
  assert.deepEqual(readdirSync(join(dir, 'out')), ['model.onnx'], 'no data file needed beside it');
  const exported = loadOnnxFile(join(dir, 'out', 'model.onnx'));
  assert.equal(externalTensors(exported.graph).length, 0);
  assert.deepEqual(
    exported.graph.initializers.get('head.w')!.toNumbers(),
    tinyClassifier().graph.initializers.get('head.w')!.toNumbers(),
  );
});

test('export refuses a model whose external data is a symlink to a file outside its folder', () => {
  const dir = tempDir();
  mkdirSync(join(dir, 'run'));
  const data = writeTinyClassifierWithExternalData(join(dir, 'run', 'model.onnx'));
  renameSync(data, join(dir, 'elsewhere.bin'));
  symlinkSync(join(dir, 'elsewhere.bin'), data);
  for (const format of ['onnx', 'transformers.js'] as const) {
    assert.throws(
      () => exportClassifier(join(dir, 'run', 'model.onnx'), join(dir, `out-${format}`, 'model.onnx'), format),
      (e: unknown) => e instanceof GraftError && e.code === 'BAD_MODEL' && /outside the model folder/.test(e.message),
      format,
    );
  }
});
