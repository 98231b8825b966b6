// graft inspect on valid models: exit 0 with no problems, for a plain backbone and for the classifier
// `graft train` writes (Graft's own exports must pass its validation). Broken and hostile models are in
// the adversarial corpus (src/cli/adversarial/onnx.cases.ts).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fashionSlice, removeTempDirs, tempDir, writeTinyBackbone } from '../../app/test-utils/fixtures.js';
import { memoryIo } from '../io.js';
import { runCli } from '../run.js';

let dir: string;
let model: string;

async function cli(args: string[]) {
  const io = memoryIo({ HOME: dir }, dir);
  const code = await runCli([...args, '--cache-dir', join(dir, 'cache')], io);
  return { code, out: io.out, err: io.err };
}

before(() => {
  dir = tempDir('graft-cli-inspect-');
  model = writeTinyBackbone(join(dir, 'tiny.onnx'));
});
after(removeTempDirs);

test('graft inspect: a valid model exits 0 and says its checks found nothing', async () => {
  const r = await cli(['inspect', model]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /checks \(structure, opset \d+, ops, declared shapes\)\n {2}no problems found\n$/);
  const j = await cli(['inspect', model, '--json']);
  assert.equal(j.code, 0, j.err);
  const report = JSON.parse(j.out) as { valid: boolean; problems: unknown[] };
  assert.equal(report.valid, true);
  assert.deepEqual(report.problems, []);
});

test('graft inspect: the classifier graft train writes is valid', async () => {
  const data = fashionSlice(join(dir, 'data'), { train: 4, test: 0, classes: 3 });
  const run = join(dir, 'run');
  const t = await cli(['train', data, '--model', model, '--epochs', '2', '--out', run, '--quiet']);
  assert.equal(t.code, 0, t.err);
  const r = await cli(['inspect', join(run, 'model.onnx'), '--json']);
  assert.equal(r.code, 0, r.err);
  assert.deepEqual((JSON.parse(r.out) as { problems: unknown[] }).problems, []);
});
