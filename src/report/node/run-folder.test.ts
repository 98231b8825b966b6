import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import sharp from 'sharp';
import { GraftError } from '../../errors.js';
import { saveOnnxFile } from '../../node/onnx-file.js';
import { GraphBuilder } from '../../onnx/builder.js';
import { HISTORY_CSV_COLUMNS, RUN_FILES } from '../run-folder.js';
import { writeSyntheticRun } from '../test-utils/synthetic-run.js';
import { readRunFolder, writeRunFolder } from './run-folder.js';

const root = mkdtempSync(join(tmpdir(), 'graft-run-folder-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const fresh = (): string => join(root, `run${n++}`);

async function rejectsWith(p: Promise<unknown>, code: string, ...fragments: (string | RegExp)[]): Promise<GraftError> {
  let caught: unknown;
  try {
    await p;
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof GraftError, `expected a GraftError, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  for (const f of fragments) {
    if (typeof f === 'string') assert.ok(caught.message.includes(f), `message lacks "${f}":\n${caught.message}`);
    else assert.match(caught.message, f);
  }
  return caught;
}

// any: the tests poke arbitrary (wrong) values into parsed JSON on purpose
function edit(dir: string, file: string, change: (o: any) => void): void {
  const o = JSON.parse(readFileSync(join(dir, file), 'utf8'));
  change(o);
  writeFileSync(join(dir, file), JSON.stringify(o));
}

describe('run folder round trip', () => {
  it('reads back exactly what writeRunFolder wrote, with 96px thumbnails of the top-loss images', async () => {
    const dir = fresh();
    const written = await writeSyntheticRun(dir);
    const folder = await readRunFolder(dir);
    assert.deepEqual(folder.run, { format: 1, ...written.run });
    assert.deepEqual(folder.history, written.history);
    assert.deepEqual(folder.metrics, JSON.parse(JSON.stringify(written.metrics)));
    assert.deepEqual(folder.labels, written.run.data.classes);
    assert.equal(folder.topLosses.length, written.topLosses!.length);
    assert.ok(folder.topLosses.length >= 10);
    for (const [i, t] of folder.topLosses.entries()) {
      const { thumbnail, ...entry } = t;
      assert.deepEqual(entry, written.topLosses![i]);
      assert.ok(thumbnail?.startsWith('data:image/jpeg;base64,'), `entry ${i} has no thumbnail`);
      const meta = await sharp(Buffer.from(thumbnail!.split(',')[1]!, 'base64')).metadata();
      // the synthetic images are 160x120: fitted inside 96x96 they become 96x72
      assert.deepEqual([meta.format, meta.width, meta.height], ['jpeg', 96, 72]);
    }
    assert.deepEqual(folder.warnings, [
      `${RUN_FILES.model} is missing: the run did not get as far as exporting, or the file was moved.`,
    ]);
  });

  it('writes history.csv with one row per epoch and empty cells for absent values', async () => {
    const dir = fresh();
    const written = await writeSyntheticRun(dir, { val: false, epochs: 3 });
    const lines = readFileSync(join(dir, RUN_FILES.historyCsv), 'utf8').trimEnd().split('\n');
    assert.equal(lines[0], HISTORY_CSV_COLUMNS.join(','));
    assert.equal(lines.length, 4);
    const cells = lines[2]!.split(',');
    const row = written.history[1]!;
    assert.equal(cells[0], '2');
    assert.equal(Number(cells[1]), row.trainLoss);
    assert.equal(cells[3], '', 'valLoss is absent');
    assert.equal(cells[4], '', 'valAcc is absent');
    assert.equal(Number(cells[5]), row.lr);
  });

  it('resolves relative data roots from the run folder', async () => {
    const dir = fresh();
    await writeSyntheticRun(dir, { topLosses: 3 });
    for (const [field, value] of [
      ['root', 'data'],
      ['source', './data'],
      ['source', 'data/manifest.csv'],
    ] as const) {
      edit(dir, RUN_FILES.run, (o) => {
        delete o.data.source;
        delete o.data.root;
        o.data[field] = value;
      });
      if (value.endsWith('.csv')) writeFileSync(join(dir, value), 'path,label\n');
      const folder = await readRunFolder(dir);
      assert.equal(folder.topLosses.filter((t) => t.thumbnail).length, 3, `${field} ${value}`);
    }
  });

  it('makes no thumbnails for text runs and keeps the text snippets', async () => {
    const dir = fresh();
    await writeSyntheticRun(dir, { kind: 'text' });
    const folder = await readRunFolder(dir);
    assert.ok(folder.topLosses.length > 0);
    for (const t of folder.topLosses) {
      assert.equal(t.thumbnail, undefined);
      assert.match(t.text!, /^Example \d+ about/);
    }
  });

  it('turns unreadable images into one warning, not an error', async () => {
    const dir = fresh();
    await writeSyntheticRun(dir);
    rmSync(join(dir, 'data'), { recursive: true });
    const folder = await readRunFolder(dir);
    assert.ok(folder.topLosses.every((t) => t.thumbnail === undefined));
    const w = folder.warnings.find((x) => x.includes('could not be read for a preview'));
    assert.ok(w, folder.warnings.join('\n'));
    assert.match(w, /^12 top-loss images/);
  });

  it('reports the size, opset, node count, parameters and metadata of model.onnx', async () => {
    const dir = fresh();
    await writeSyntheticRun(dir);
    const b = new GraphBuilder('head');
    const x = b.input('features', 'float32', ['N', 4]);
    const w = b.initializer('W', new Float32Array(20), [4, 5]);
    const bias = b.initializer('B', new Float32Array(5), [5]);
    b.output(b.op('Gemm', [x, w, bias], {}, { outputs: ['logits'] }), 'float32', ['N', 5]);
    const model = b.build({ opset: 17 });
    model.metadata.set('graft.labels', '["cat","dog","fox","owl","yak"]');
    saveOnnxFile(join(dir, RUN_FILES.model), model);
    const folder = await readRunFolder(dir, { thumbnails: false });
    assert.deepEqual(folder.warnings, []);
    const info = folder.model!;
    assert.equal(info.bytes, readFileSync(join(dir, RUN_FILES.model)).byteLength);
    assert.equal(info.nodes, 1);
    assert.equal(info.parameters, 25);
    assert.equal(info.opset, model.opset);
    assert.deepEqual(info.metadata, { 'graft.labels': '["cat","dog","fox","owl","yak"]' });
    assert.equal(info.error, undefined);
  });

  it('keeps going with a warning when model.onnx does not decode', async () => {
    const dir = fresh();
    await writeSyntheticRun(dir);
    writeFileSync(join(dir, RUN_FILES.model), new Uint8Array([0xff, 0xff, 0xff, 0x0f, 1, 2, 3]));
    const folder = await readRunFolder(dir, { thumbnails: false });
    assert.equal(folder.model?.bytes, 7);
    assert.match(folder.model!.error!, /Not a valid ONNX model/);
    assert.ok(folder.warnings.some((w) => w.startsWith(`${RUN_FILES.model} could not be read`)));
  });
});

describe('run folder errors', () => {
  it('a missing folder, or a file in its place', async () => {
    await rejectsWith(readRunFolder(join(root, 'nope')), 'NOT_FOUND', 'does not exist', 'no such file');
    const file = join(root, 'plain.txt');
    writeFileSync(file, 'x');
    await rejectsWith(readRunFolder(file), 'BAD_INPUT', 'a folder, not a file');
  });

  it('a folder without run.json lists what it does hold', async () => {
    const dir = fresh();
    mkdirSync(dir);
    writeFileSync(join(dir, 'cat.jpg'), 'x');
    const e = await rejectsWith(readRunFolder(dir), 'NOT_FOUND', 'has no run.json', 'found:    cat.jpg');
    assert.match(e.fields.fix!, /not the data set/);
  });

  for (const name of [RUN_FILES.labels, RUN_FILES.history, RUN_FILES.metrics]) {
    it(`a missing ${name}`, async () => {
      const dir = fresh();
      await writeSyntheticRun(dir);
      rmSync(join(dir, name));
      await rejectsWith(readRunFolder(dir), 'NOT_FOUND', `has no ${name}`, 'interrupted');
    });
  }

  it('a truncated run.json', async () => {
    const dir = fresh();
    await writeSyntheticRun(dir);
    const text = readFileSync(join(dir, RUN_FILES.run), 'utf8');
    writeFileSync(join(dir, RUN_FILES.run), text.slice(0, text.length / 2));
    await rejectsWith(readRunFolder(dir), 'BAD_INPUT', 'run.json is not valid JSON', 'truncated');
  });

  // any: as in edit()
  const fieldCases: [string, string, (o: any) => void, string[]][] = [
    [
      'run.json',
      'config.epochs',
      (o) => (o.config.epochs = '12'),
      ['config.epochs', 'an integer >= 0', 'the string "12"'],
    ],
    ['run.json', 'format', (o) => (o.format = 2), ['format', 'expected: 1', 'the number 2']],
    ['run.json', 'data.kind', (o) => (o.data.kind = 'audio'), ['data.kind', '"image", "text"']],
    ['run.json', 'counts of a class', (o) => delete o.data.counts.dog, ['data.counts.dog', 'an object', 'missing']],
    ['run.json', 'timing', (o) => (o.timing.trainSeconds = -1), ['timing.trainSeconds', '>= 0']],
    ['labels.json', 'order', (o) => o.reverse(), ['labels.json', 'same order']],
    ['metrics.json', 'confusion', (o) => o.test.confusion.pop(), ['test.confusion', 'a 5x5 matrix']],
    ['metrics.json', 'accuracy', (o) => (o.val.accuracy = null), ['val.accuracy', 'a finite number >= 0 <= 1', 'null']],
    ['metrics.json', 'calibration split', (o) => (o.calibration.split = 'train'), ['calibration.split']],
    ['top-losses.json', 'unknown class', (o) => (o[3].actual = 'emu'), ['[3].actual', 'labels.json', '"emu"']],
  ];
  for (const [file, what, change, fragments] of fieldCases) {
    it(`${file}: a wrong ${what} is named with its JSON path`, async () => {
      const dir = fresh();
      await writeSyntheticRun(dir);
      edit(dir, file, change);
      const e = await rejectsWith(readRunFolder(dir, { thumbnails: false }), 'BAD_INPUT', file, ...fragments);
      assert.equal(e.fields.file, join(dir, file));
    });
  }

  it('history.jsonl errors carry the line number', async () => {
    const dir = fresh();
    await writeSyntheticRun(dir, { epochs: 4 });
    const path = join(dir, RUN_FILES.history);
    const lines = readFileSync(path, 'utf8').split('\n');
    writeFileSync(path, [lines[0], lines[1], '{"epoch": 3, "trainLoss": "x"}', lines[3]].join('\n'));
    await rejectsWith(readRunFolder(dir), 'BAD_INPUT', 'history.jsonl:3', 'trainLoss');
    writeFileSync(path, [lines[1], lines[0]].join('\n'));
    await rejectsWith(readRunFolder(dir), 'BAD_INPUT', 'history.jsonl:2', 'an epoch after 2');
    writeFileSync(path, [lines[0], lines[1]!.slice(0, 20)].join('\n'));
    await rejectsWith(readRunFolder(dir), 'BAD_INPUT', 'history.jsonl:2 is not valid JSON');
  });

  it('writeRunFolder refuses contents the reader would reject, before writing anything', async () => {
    const dir = fresh();
    const good = await writeSyntheticRun(join(root, 'template'));
    const bad = structuredClone(good);
    bad.metrics.test!.accuracy = Number.NaN;
    assert.throws(() => writeRunFolder(dir, bad), /test\.accuracy/);
    assert.throws(() => readFileSync(join(dir, RUN_FILES.run)), /ENOENT/);
  });
});
