import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileFeatureStore } from './feature-store-file.js';

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
  assert.deepEqual(readdirSync(dir), ['model-abc.prep-1.features'], 'no temp files left behind');
  assert.throws(() => b.set('x', Float32Array.of(1)), /wrong length/);
  writeFileSync(join(dir, 'model-abc.prep-1.features'), Buffer.from('GRFT garbage'));
  assert.throws(() => FileFeatureStore.open(dir, 'model-abc.prep-1', 3), /damaged[\s\S]*delete the file/);
  assert.throws(() => FileFeatureStore.open(dir, '../evil', 3), /safe file name/);
});
