import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GraphBuilder } from '../onnx/builder.js';
import { Session } from '../runtime/session.js';
import { GraftError } from '../errors.js';
import { MemoryFeatureStore } from './feature-store.js';
import { extractFeatures, type ExtractItem } from './extract.js';

async function doubler() {
  const b = new GraphBuilder('backbone');
  const x = b.input('x', 'float32', ['N', 2]);
  b.output(b.op('Mul', [x, b.scalar(2)], undefined, { outputs: ['feat'] }), 'float32', ['N', 2]);
  return Session.create(b.build());
}

test('extractFeatures computes missing vectors, reuses cached ones, and reports failed inputs', async () => {
  const session = await doubler();
  const store = new MemoryFeatureStore('ns', 2);
  let loads = 0;
  const item = (key: string, v: number, fail = false): ExtractItem => ({
    key,
    label: `${key}.png`,
    load: async () => {
      loads++;
      if (fail) throw new Error('corrupt file');
      return Float32Array.of(v, -v);
    },
  });
  const items = [item('a', 1), item('b', 2), item('bad', 0, true), item('c', 3), item('a', 1)];
  const progress: number[] = [];
  const r1 = await extractFeatures({
    session,
    inputName: 'x',
    outputName: 'feat',
    itemDims: [2],
    items,
    store,
    batchSize: 2,
    onProgress: (p) => progress.push(p.done),
  });
  assert.equal(r1.computed, 3);
  assert.equal(r1.failed.length, 1);
  assert.equal(r1.failed[0]!.label, 'bad.png');
  assert.deepEqual([...r1.vectors[3]!], [6, -6]);
  assert.deepEqual([...r1.vectors[4]!], [2, -2], 'duplicate content shares the vector');
  assert.equal(r1.vectors[2], undefined);
  assert.equal(loads, 4, 'the duplicate key is loaded once');
  assert.ok(progress.length >= 2);

  loads = 0;
  const r2 = await extractFeatures({
    session,
    inputName: 'x',
    outputName: 'feat',
    itemDims: [2],
    items: [items[0]!, items[1]!, items[3]!],
    store,
  });
  assert.equal(r2.batchesRun, 0, 'no backbone run when everything is cached');
  assert.equal(loads, 0);
  assert.equal(r2.reused, 3);
  await session.dispose();
});

test('a non-finite feature stops extraction, names the image and is never stored', async () => {
  // log(x) of a negative input is NaN: a backbone that outputs NaN for one image
  const b = new GraphBuilder('backbone');
  const x = b.input('x', 'float32', ['N', 2]);
  b.output(b.op('Log', [x], undefined, { outputs: ['feat'] }), 'float32', ['N', 2]);
  const session = await Session.create(b.build());
  const store = new MemoryFeatureStore('ns', 2);
  const item = (key: string, v: number): ExtractItem => ({
    key,
    label: `cats/${key}.png`,
    load: async () => Float32Array.of(v, v),
  });
  await assert.rejects(
    extractFeatures({
      session,
      inputName: 'x',
      outputName: 'feat',
      itemDims: [2],
      items: [item('good', 1), item('nan', -1)],
      store,
      batchSize: 1,
    }),
    (e: unknown) =>
      e instanceof GraftError && e.code === 'BAD_MODEL' && /non-finite feature for cats\/nan\.png/.test(e.message),
  );
  assert.equal(store.get('nan'), undefined, 'the NaN vector is not stored');
  assert.deepEqual([...store.get('good')!], [0, 0]);
  assert.throws(() => store.set('direct', Float32Array.of(1, Infinity)), /non-finite/, 'stores refuse them too');
  await session.dispose();
});
