// Sharded embedding: the index from the array-job variables, contiguous blocks, and shards 0..N-1 merged into
// exactly the bytes one `graft embed` writes (npy with its row index, jsonl, csv), including a file that fails
// to decode inside one shard; a finished shard is a no-op, a killed one continues from the cache.
import assert from 'node:assert/strict';
import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import sharp from 'sharp';
import { isGraftError } from '../errors.js';
import { memoryIo } from '../cli/io.js';
import { runCli } from '../cli/run.js';
import { embedImages } from './embed.js';
import { embedShardFile, embedShardMarkerFile } from './embed-shards.js';
import { mergeShards } from './merge.js';
import { resolveShard, shardRange } from './shard.js';
import { fashionSlice, removeTempDirs, tempDir, writeTinyBackbone } from './test-utils/fixtures.js';

let dir: string;
let model: string;
let data: string;

before(async () => {
  dir = tempDir('graft-shard-');
  model = writeTinyBackbone(join(dir, 'tiny.onnx'));
  data = fashionSlice(join(dir, 'data'), { train: 4, classes: 5 });
  // a JPEG whose header reads fine but whose data stops early: the scan keeps it, the decode drops it, and
  // every output must leave its row out in the same place
  const jpeg = await sharp({ create: { width: 40, height: 40, channels: 3, background: '#884422' } })
    .jpeg()
    .toBuffer();
  writeFileSync(join(data, 'coat', 'zz-truncated.jpg'), jpeg.subarray(0, Math.floor(jpeg.length * 0.6)));
});
after(removeTempDirs);

test('resolveShard: i/N, N with the index from JOB_COMPLETION_INDEX, SLURM (relative to its first task), AWS Batch', () => {
  assert.deepEqual(resolveShard('2/4', {}), { index: 2, count: 4 });
  assert.deepEqual(resolveShard('4', { JOB_COMPLETION_INDEX: '3' }), { index: 3, count: 4 });
  assert.deepEqual(resolveShard('4', { SLURM_ARRAY_TASK_ID: '4', SLURM_ARRAY_TASK_MIN: '1' }), { index: 3, count: 4 });
  assert.deepEqual(resolveShard('4', { AWS_BATCH_JOB_ARRAY_INDEX: '0' }), { index: 0, count: 4 });
  assert.deepEqual(resolveShard('1/2', { JOB_COMPLETION_INDEX: '0' }), { index: 1, count: 2 }, 'an explicit i wins');
  for (const [spec, env, why] of [
    ['4/4', {}, /0\.\.N-1/],
    ['x/2', {}, /Cannot read the shard/],
    ['4', {}, /needs the shard index/],
    ['4', { JOB_COMPLETION_INDEX: '7' }, /0\.\.N-1/],
    ['4', { SLURM_ARRAY_TASK_ID: 'a' }, /not a whole number/],
  ] as const) {
    assert.throws(
      () => resolveShard(spec, env),
      (e: unknown) => isGraftError(e) && e.code === 'BAD_INPUT' && why.test(e.message),
      `${spec} ${JSON.stringify(env)}`,
    );
  }
});

test('shardRange: contiguous blocks that tile the items, sizes within one of each other', () => {
  for (const total of [0, 1, 7, 100, 101])
    for (const count of [1, 2, 3, 8]) {
      let at = 0;
      const sizes: number[] = [];
      for (let index = 0; index < count; index++) {
        const [s, e] = shardRange(total, { index, count });
        assert.equal(s, at);
        sizes.push(e - s);
        at = e;
      }
      assert.equal(at, total);
      assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, `${total}/${count}: ${sizes}`);
    }
});

for (const format of ['npy', 'jsonl', 'csv'] as const) {
  test(`embed shards 0/3 + 1/3 + 2/3 merged equal one graft embed byte for byte (${format})`, async () => {
    const common = { data, model, cacheDir: join(dir, `cache-${format}`), env: { HOME: dir }, cwd: dir };
    const single = await embedImages({ ...common, out: join(dir, `single-${format}`, `all.${format}`) });
    // 21 images scanned, the truncated one left out at decode
    assert.equal(single.rows, 20);
    assert.deepEqual(
      single.skipped.map((s) => s.path),
      ['coat/zz-truncated.jpg'],
    );
    const out = join(dir, `sharded-${format}`, `all.${format}`);
    // shards use their own cache, so nothing is shared with the single run but the model
    const sharded = { ...common, cacheDir: join(dir, `cache-shards-${format}`), out };
    const results = [];
    for (const i of [2, 0, 1]) results.push(await embedImages({ ...sharded, shard: `${i}/3` }));
    assert.deepEqual(
      results.map((r) => r.rows).sort(),
      [6, 7, 7],
      'blocks of 7 images, the truncated one in one of them',
    );
    const merged = await mergeShards(out, { cwd: dir });
    assert.equal(merged.kind, 'embed');
    if (merged.kind !== 'embed') return;
    assert.equal(merged.rows, 20);
    assert.equal(merged.shards, 3);
    assert.deepEqual(merged.skipped, single.skipped);
    assert.ok(readFileSync(out).equals(readFileSync(single.out)), `${format}: the merged file differs`);
    if (format === 'npy') {
      assert.ok(merged.index && single.index);
      assert.ok(readFileSync(merged.index).equals(readFileSync(single.index)), 'the row index differs');
    }
  });
}

test('a finished shard is a no-op; a killed one (no marker) continues from the cache; merge names missing shards', async () => {
  const out = join(dir, 'resume', 'feats.npy');
  const common = { data, model, cacheDir: join(dir, 'cache-resume'), env: { HOME: dir }, cwd: dir, out };
  const first = await embedImages({ ...common, shard: '0/2' });
  assert.equal(first.shard?.alreadyDone, false);
  assert.ok(first.computed > 0);
  const file = embedShardFile(out, 'npy', { index: 0, count: 2 });
  const mtime = statSync(file).mtimeMs;
  const again = await embedImages({ ...common, shard: '0/2' });
  assert.equal(again.shard?.alreadyDone, true);
  assert.equal(again.rows, first.rows);
  assert.equal(statSync(file).mtimeMs, mtime, 'a finished shard writes nothing');

  await assert.rejects(
    mergeShards(out),
    (e: unknown) => isGraftError(e) && /1 of 2 shards have not finished/.test(e.message) && /1\/2/.test(e.message),
  );

  // shard 0 killed after its vectors were cached but before its marker: it runs again, from the cache
  rmSync(embedShardMarkerFile(out, { index: 0, count: 2 }));
  const resumed = await embedImages({ ...common, shard: '0/2' });
  assert.equal(resumed.shard?.alreadyDone, false);
  assert.equal(resumed.computed, 0);
  // every vector of the block comes from the cache
  assert.equal(resumed.reused, first.rows);
  assert.equal(resumed.rows, first.rows);

  // other settings for the same shard are not "already done"
  const csv = await embedImages({ ...common, shard: '0/2', format: 'npy', resize: 'pad' });
  assert.equal(csv.shard?.alreadyDone, false);
});

test('merge refuses a shard file changed after its shard finished, and leaves no output', async () => {
  const out = join(dir, 'tamper', 'feats.jsonl');
  const common = { data, model, cacheDir: join(dir, 'cache-tamper'), env: { HOME: dir }, cwd: dir, out };
  await embedImages({ ...common, shard: '0/2' });
  await embedImages({ ...common, shard: '1/2' });
  const file = embedShardFile(out, 'jsonl', { index: 1, count: 2 });
  writeFileSync(file, readFileSync(file, 'utf8').replace(/"file":"/, '"file":"x'));
  await assert.rejects(mergeShards(out), (e: unknown) => isGraftError(e) && e.code === 'INTEGRITY');
  assert.throws(() => statSync(out), /ENOENT/);
});

test('graft embed --shard N takes its index from JOB_COMPLETION_INDEX; graft merge joins', async () => {
  const out = join(dir, 'cli', 'feats.csv');
  for (const index of ['1', '0']) {
    const io = memoryIo({ HOME: dir, JOB_COMPLETION_INDEX: index }, dir);
    const code = await runCli(
      ['embed', data, '--out', out, '--model', model, '--cache-dir', join(dir, 'cache-cli'), '--shard', '2', '--json'],
      io,
    );
    assert.equal(code, 0, io.err);
    const r = JSON.parse(io.out) as { shard: { index: number; count: number } };
    assert.deepEqual({ index: r.shard.index, count: r.shard.count }, { index: Number(index), count: 2 });
  }
  const io = memoryIo({ HOME: dir }, dir);
  assert.equal(await runCli(['merge', out], io), 0, io.err);
  assert.match(io.out, /2 shards -> 20 x 96 features/);
  const single = await embedImages({ data, model, cacheDir: join(dir, 'cache-cli'), out: join(dir, 'cli-single.csv') });
  assert.ok(readFileSync(out).equals(readFileSync(single.out)));
});
