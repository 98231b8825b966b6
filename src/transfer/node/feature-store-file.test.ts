import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileFeatureStore } from './feature-store-file.js';
import { namesInUse } from '../../node/in-use.js';

test('file feature store persists vectors across opens and rejects a damaged file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'graft-fs-'));
  const a = FileFeatureStore.open(dir, 'model-abc.prep-1', 3);
  a.set('hash1', Float32Array.of(1, 2, 3));
  a.set('hash2', Float32Array.of(4, 5, 6));
  await a.flush();
  const b = FileFeatureStore.open(dir, 'model-abc.prep-1', 3);
  assert.equal(b.size, 2);
  assert.deepEqual([...b.get('hash2')!], [4, 5, 6]);
  assert.equal(b.get('nope'), undefined);
  assert.deepEqual(
    readdirSync(dir).filter((n) => n !== 'in-use'),
    ['model-abc.prep-1.features'],
    'no temp files left behind',
  );
  assert.throws(() => b.set('x', Float32Array.of(1)), /wrong length/);
  writeFileSync(join(dir, 'model-abc.prep-1.features'), Buffer.from('GRFT garbage'));
  assert.throws(() => FileFeatureStore.open(dir, 'model-abc.prep-1', 3), /damaged[\s\S]*delete the file/);
  assert.throws(() => FileFeatureStore.open(dir, '../evil', 3), /safe file name/);
});

test('file feature store: refuses non-finite vectors; a stored one makes the whole store not reused', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'graft-fs-'));
  const a = FileFeatureStore.open(dir, 'ns', 2);
  assert.throws(() => a.set('k', Float32Array.of(1, NaN)), /non-finite feature for the input k/);
  a.set('k1', Float32Array.of(1, 2));
  a.set('k2', Float32Array.of(3, 4));
  await a.flush();
  // a store written before NaN was refused (or damaged on disk): poke a NaN into the second vector
  const file = join(dir, 'ns.features');
  const bytes = readFileSync(file);
  bytes.writeFloatLE(NaN, bytes.length - 4);
  writeFileSync(file, bytes);
  const b = FileFeatureStore.open(dir, 'ns', 2);
  assert.equal(b.size, 0, 'no vector of a poisoned store is reused');
  assert.equal(b.get('k1'), undefined);
  assert.match(b.discarded ?? '', /non-finite value in the vector of k2/);
  b.set('k1', Float32Array.of(5, 6));
  await b.flush();
  const c = FileFeatureStore.open(dir, 'ns', 2);
  assert.equal(c.discarded, undefined);
  assert.deepEqual([...c.get('k1')!], [5, 6]);
  assert.equal(c.get('k2'), undefined);
});

test('file feature store: opening marks the store in use by this process', () => {
  const dir = mkdtempSync(join(tmpdir(), 'graft-fs-'));
  FileFeatureStore.open(dir, 'ns-used', 2);
  assert.equal(namesInUse(dir).get('features:ns-used'), process.pid);
});

test('file feature store: two stores of one namespace (shards sharing a cache) keep each other’s vectors', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'graft-fs-'));
  const a = FileFeatureStore.open(dir, 'shared', 2);
  const b = FileFeatureStore.open(dir, 'shared', 2);
  a.set('from-a', Float32Array.of(1, 2));
  b.set('from-b', Float32Array.of(3, 4));
  await a.flush();
  await b.flush();
  const c = FileFeatureStore.open(dir, 'shared', 2);
  assert.deepEqual([...c.get('from-a')!], [1, 2], "b's flush kept a's vector");
  assert.deepEqual([...c.get('from-b')!], [3, 4]);
});
