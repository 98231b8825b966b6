import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { FileFeatureStore } from '../transfer/node/feature-store-file.js';
import { runCli } from '../cli/run.js';
import { memoryIo } from '../cli/io.js';
import { ContentCache } from '../zoo/sources/node/cache.js';
import { cleanCache, listCache, verifyCache } from './cache-admin.js';

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'graft-cache-admin-'));
  dirs.push(d);
  return d;
}

function flipByte(path: string, at = 3): void {
  const b = readFileSync(path);
  const fd = openSync(path, 'r+');
  writeSync(fd, Uint8Array.of(b[at]! ^ 0xff), 0, 1, at);
  closeSync(fd);
}

const daysAgo = (d: number) => new Date(Date.now() - d * 86_400_000);

/** A cache with two blobs (one named by a conversion ref), a feature store and a stale temp file. */
async function filledCache(): Promise<{ root: string; model: string; other: string; sha: string }> {
  const root = join(tempDir(), 'cache');
  const cache = new ContentCache(root);
  const model = await cache.putBytes(new Uint8Array(2000).fill(7), 'm.onnx');
  const other = await cache.putBytes(new Uint8Array(500).fill(9), 'x.bin');
  await cache.writeRef('converted', 'convert|k', {
    sha256: model.sha256,
    size: model.size,
    converter: 'c',
    label: 'tiny.model',
  });
  const store = FileFeatureStore.open(join(root, 'features'), 'ns1', 2);
  store.set('k', Float32Array.of(1, 2));
  await store.flush();
  mkdirSync(join(root, 'tmp'), { recursive: true });
  writeFileSync(join(root, 'tmp', 'download.999999999.0123456789ab'), 'partial bytes');
  return { root, model: model.path, other: other.path, sha: model.sha256 };
}

test('cache ls: blobs with the sources refs name, feature stores, temp files and totals', async () => {
  const { root, sha } = await filledCache();
  const l = listCache(root);
  const blob = l.entries.find((e) => e.sha256 === sha)!;
  assert.deepEqual(blob.names, ['tiny.model (converted)']);
  assert.equal(blob.size, 2000);
  const features = l.entries.find((e) => e.kind === 'features')!;
  assert.deepEqual([features.namespace, features.vectors, features.dim], ['ns1', 1, 2]);
  assert.equal(l.totals.blob.count, 2);
  assert.equal(l.totals.blob.bytes, 2500);
  assert.equal(l.totals.ref.count, 1);
  assert.equal(l.totals.temp.count, 1);
});

test('cache verify finds a flipped byte and a poisoned feature store; the CLI names them and exits 1', async () => {
  const { root, model, sha } = await filledCache();
  assert.deepEqual((await verifyCache(root)).bad, []);
  const io = memoryIo({ GRAFT_CACHE_DIR: root });
  assert.equal(await runCli(['cache', 'verify'], io), 0);
  assert.match(io.out, /checked 2 files[\s\S]*all intact/);

  flipByte(model);
  const storeFile = join(root, 'features', 'ns1.features');
  const b = readFileSync(storeFile);
  b.writeFloatLE(Number.NaN, b.length - 4);
  writeFileSync(storeFile, b);
  const r = await verifyCache(root);
  assert.deepEqual(
    r.bad.map((x) => [x.kind, x.path]),
    [
      ['blob', join('blobs', 'sha256', sha.slice(0, 2), sha)],
      ['features', join('features', 'ns1.features')],
    ],
  );
  assert.match(r.bad[0]!.problem, /does not match its name: sha256 [0-9a-f]{64}/);
  assert.deepEqual(r.bad[0]!.names, ['tiny.model (converted)']);

  const bad = memoryIo({ GRAFT_CACHE_DIR: root });
  assert.equal(await runCli(['cache', 'verify'], bad), 1);
  assert.ok(bad.out.includes(sha), 'names the damaged blob');
  assert.match(bad.out, /tiny\.model \(converted\)/);
  assert.match(bad.err, /2 damaged cache entries[\s\S]*graft cache clean --damaged/);
  const json = memoryIo({ GRAFT_CACHE_DIR: root });
  assert.equal(await runCli(['cache', 'verify', '--json'], json), 1);
  assert.equal((JSON.parse(json.out) as { bad: unknown[] }).bad.length, 2);

  const cleaned = await cleanCache(root, { damaged: true });
  assert.deepEqual(cleaned.removed.map((x) => x.kind).sort(), ['blob', 'features', 'ref']);
  assert.equal(existsSync(model), false);
  assert.deepEqual((await verifyCache(root)).bad, []);
  assert.equal(listCache(root).totals.blob.count, 1, 'the intact blob stays');
});

test('cache clean: --older-than uses the last use, --features only touches features, plain clean empties it', async () => {
  const { root, model, other, sha } = await filledCache();
  const cache = new ContentCache(root);
  // the model was last used 40 days ago; the other blob just now
  utimesSync(model, daysAgo(40), daysAgo(40));
  utimesSync(cache.verificationPath(sha), daysAgo(40), daysAgo(40));
  utimesSync(join(root, 'features', 'ns1.features'), daysAgo(40), daysAgo(40));
  utimesSync(join(root, 'tmp', 'download.999999999.0123456789ab'), daysAgo(40), daysAgo(40));
  writeFileSync(join(root, 'not-graft.txt'), 'keep me');
  mkdirSync(join(root, 'blobs', 'sha256', 'zz'), { recursive: true });
  writeFileSync(join(root, 'blobs', 'sha256', 'zz', 'notes.txt'), 'not a blob name');

  const f = await cleanCache(root, { features: true, olderThanDays: 30 });
  assert.deepEqual(
    f.removed.map((x) => x.path),
    [join('features', 'ns1.features')],
  );
  assert.ok(existsSync(model), '--features leaves models');

  const old = await cleanCache(root, { olderThanDays: 30 });
  assert.deepEqual(
    old.removed.map((x) => x.kind).sort(),
    ['blob', 'ref', 'temp'],
    'the old blob, its ref, the stale temp',
  );
  assert.equal(existsSync(model), false);
  assert.ok(existsSync(other), 'a blob used today stays');
  assert.equal(existsSync(cache.verificationPath(sha)), false, 'its verification record went with it');

  const all = await cleanCache(root);
  assert.ok(all.removed.some((x) => x.path.endsWith(other.slice(-64))));
  assert.equal(listCache(root).entries.length, 0);
  assert.equal(readFileSync(join(root, 'not-graft.txt'), 'utf8'), 'keep me', "only Graft's own files are removed");
  assert.ok(existsSync(join(root, 'blobs', 'sha256', 'zz', 'notes.txt')));
});

test('cache clean keeps what a running process uses', async () => {
  const { root, model, sha } = await filledCache();
  // a child process marks the blob and the feature store in use, then waits
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      '--input-type=module',
      '-e',
      `import { markInUse } from './src/node/in-use.ts';
       markInUse(${JSON.stringify(root)}, 'blob:${sha}');
       markInUse(${JSON.stringify(join(root, 'features'))}, 'features:ns1');
       process.stdout.write('ready\\n');
       setTimeout(() => {}, 30000);`,
    ],
    { cwd: new URL('../../', import.meta.url), stdio: ['ignore', 'pipe', 'inherit'] },
  );
  try {
    await new Promise<void>((res) => child.stdout.once('data', () => res()));
    const r = await cleanCache(root);
    assert.deepEqual(r.kept.map((k) => [k.kind, k.pid]).sort(), [
      ['blob', child.pid],
      ['features', child.pid],
    ]);
    assert.ok(existsSync(model), 'the blob in use is still there');
    assert.ok(existsSync(join(root, 'features', 'ns1.features')));
  } finally {
    child.kill('SIGKILL');
    await new Promise((res) => child.once('close', res));
  }
  // its process is gone: nothing holds the entries any more
  const r = await cleanCache(root);
  assert.ok(r.removed.some((x) => x.kind === 'blob' && x.path.endsWith(sha)));
  assert.equal(r.kept.length, 0);
});
