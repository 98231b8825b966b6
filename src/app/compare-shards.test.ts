// A study split over array-job shards: shards 0/2 and 1/2 into one folder, then graft merge, give the study one
// local graft compare gives (every number but wall times); a finished shard does nothing again; a shard of
// other settings is refused; a merge before every shard finished names the missing ones.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { isGraftError } from '../errors.js';
import { parseStudy } from '../report/compare.js';
import { runCompare } from './compare.js';
import { runCompareShard } from './compare-shards.js';
import { mergeShards } from './merge.js';
import { fashionSlice, removeTempDirs, tempDir, writeTinyBackbone } from './test-utils/fixtures.js';
import { studyNumbers } from './test-utils/study.js';

let dir: string;
let base: Parameters<typeof runCompare>[0];

before(() => {
  dir = tempDir('graft-compare-shards-');
  const model = writeTinyBackbone(join(dir, 'tiny.onnx'));
  const data = fashionSlice(join(dir, 'data'), { train: 8, test: 3, classes: 5 });
  base = {
    data,
    out: join(dir, 'local'),
    model,
    cacheDir: join(dir, 'cache'),
    strategies: ['linear-probe', 'prototype'],
    fractions: [0.5, 1],
    seeds: [0, 1],
    epochs: 5,
    env: { HOME: dir },
    cwd: dir,
  };
});
after(removeTempDirs);

test('compare shards 0/2 + 1/2, merged, equal one local study; a finished shard is a no-op', async () => {
  const local = await runCompare(base);
  const out = join(dir, 'sharded');
  // each shard on its own cache, as on its own machine
  const s1 = await runCompareShard({ ...base, out, cacheDir: join(dir, 'cache-1'), shard: '1/2' });
  await assert.rejects(
    mergeShards(out),
    (e: unknown) => isGraftError(e) && /1 of 2 shards have not finished/.test(e.message) && /0\/2/.test(e.message),
  );
  const s0 = await runCompareShard({ ...base, out, cacheDir: join(dir, 'cache-0'), shard: '0/2' });
  assert.equal(s0.runs.length + s1.runs.length, 8);
  assert.deepEqual(
    s0.runs.map((r) => r.strategy),
    ['linear-probe', 'linear-probe', 'linear-probe', 'linear-probe'],
    'round robin: shard 0 takes every other run of the study order',
  );
  assert.equal(existsSync(join(out, 'study.json')), false, 'shards write no study.json');

  const merged = await mergeShards(out);
  assert.equal(merged.kind, 'compare');
  if (merged.kind !== 'compare') return;
  assert.equal(merged.shards, 2);
  const study = parseStudy(readFileSync(merged.studyFile, 'utf8'), merged.studyFile);
  assert.deepEqual(studyNumbers(study.runs), studyNumbers(local.study.runs));
  assert.deepEqual({ ...study, runs: [], createdAt: '' }, { ...local.study, runs: [], createdAt: '' });
  assert.ok(existsSync(merged.reportFile));

  const again = await runCompareShard({ ...base, out, cacheDir: join(dir, 'cache-0'), shard: '0/2' });
  assert.equal(again.shard.alreadyDone, true);
  assert.deepEqual(studyNumbers(again.runs), studyNumbers(s0.runs));
});

test('a shard of another study (or another split) is refused before it runs anything', async () => {
  const out = join(dir, 'mixed');
  await runCompareShard({ ...base, out, strategies: ['prototype'], fractions: [1], seeds: [0], shard: '0/2' });
  await assert.rejects(
    runCompareShard({ ...base, out, strategies: ['prototype'], fractions: [1], seeds: [0, 1], shard: '1/2' }),
    (e: unknown) => isGraftError(e) && /holds the shards of another study/.test(e.message),
  );
  await assert.rejects(
    runCompareShard({ ...base, out, strategies: ['prototype'], fractions: [1], seeds: [0], shard: '1/3' }),
    (e: unknown) => isGraftError(e) && /split 2 ways/.test(e.message),
  );
  await assert.rejects(
    runCompareShard({ ...base, out, shard: '0/2', queue: 'redis://127.0.0.1:1' }),
    /two ways to split a study/,
  );
});
