import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, readFileSync, rmSync, truncateSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { GraftError } from '../../../errors.js';
import { GraphBuilder } from '../../../onnx/builder.js';
import { encodeModel } from '../../../onnx/codec.js';
import { loadPulledModel } from '../../node/pull.js';
import type { SourceEvent } from '../events.js';
import { ContentCache } from './cache.js';
import { cachedBlob, sourceContext } from './context.js';

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'graft-cache-'));
  dirs.push(d);
  return d;
}

/** Overwrites one byte in place: same size, new mtime and ctime (what a disk error or an editor leaves). */
function flipByte(path: string, at = 10): void {
  const b = readFileSync(path);
  const fd = openSync(path, 'r+');
  writeSync(fd, Uint8Array.of(b[at]! ^ 0xff), 0, 1, at);
  closeSync(fd);
}

const bytes = () => new Uint8Array(4096).map((_, i) => (i * 7) % 251);

test('cache: a stored blob is verified by its record; a flipped byte or a truncation is found on the next use', async () => {
  const cache = new ContentCache(tempDir());
  const f = await cache.putBytes(bytes());
  assert.ok(existsSync(cache.verificationPath(f.sha256)), 'hashed while written: the record is there at once');
  assert.equal((await cache.check(f.sha256, f.size)).state, 'ok');

  flipByte(f.path);
  const flipped = await cache.check(f.sha256, f.size);
  assert.equal(flipped.state, 'damaged', 'same size, but mtime/ctime changed: hashed again');
  assert.match(flipped.state === 'damaged' ? flipped.found : '', /^sha256 [0-9a-f]{64} \(4096 bytes\)$/);

  const g = await cache.putBytes(bytes().map((v) => v ^ 1));
  truncateSync(g.path, 100);
  const cut = await cache.check(g.sha256, g.size);
  assert.equal(cut.state, 'damaged');
  assert.match(cut.state === 'damaged' ? cut.found : '', /100 bytes where 4096 were stored/);
  const cutUnknownSize = await cache.check(g.sha256);
  assert.equal(cutUnknownSize.state, 'damaged', 'without a recorded size the hash finds it');

  assert.equal(await cache.blob(f.sha256), undefined, 'blob() drops a damaged blob');
  assert.equal(existsSync(f.path), false);
  assert.equal(existsSync(cache.verificationPath(f.sha256)), false);
  assert.equal((await cache.check('0'.repeat(64))).state, 'missing');
});

test('cache: adopting a fresh copy replaces a damaged blob', async () => {
  const cache = new ContentCache(tempDir());
  const f = await cache.putBytes(bytes());
  flipByte(f.path);
  const again = await cache.putBytes(bytes());
  assert.equal(again.path, f.path);
  assert.deepEqual(readFileSync(f.path), Buffer.from(bytes()));
  assert.equal((await cache.check(f.sha256, f.size)).state, 'ok');
});

const repo = fileURLToPath(new URL('../../../../', import.meta.url));

/** Checks a blob in a new process (no in-process memory of earlier hashes): its state and whether it hashed. */
function checkInNewProcess(root: string, sha256: string): { state: string; hashed: boolean } {
  const script = `
    import { ContentCache } from './src/zoo/sources/node/cache.ts';
    import * as fs from 'node:fs';
    const cache = new ContentCache(${JSON.stringify(root)});
    const c = await cache.check(${JSON.stringify(sha256)});
    const st = fs.statSync(cache.verificationPath(${JSON.stringify(sha256)}), { throwIfNoEntry: false });
    process.stdout.write(JSON.stringify({ state: c.state, recordMs: st ? Number(st.mtimeMs) : 0 }));
  `;
  const before = Date.now();
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: repo,
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { state: string; recordMs: number };
  // a full hash that matches rewrites the record; a trusted record is left as it was (touched at most hourly)
  return { state: out.state, hashed: out.recordMs >= before - 1000 };
}

test('cache: on first use in a new process a changed blob is hashed and refused; an unchanged one is not re-read', async () => {
  const root = tempDir();
  const cache = new ContentCache(root);
  const f = await cache.putBytes(bytes());
  // make the record old enough that a rewrite is visible
  const old = new Date(Date.now() - 60_000);
  const { utimesSync } = await import('node:fs');
  utimesSync(cache.verificationPath(f.sha256), old, old);

  assert.deepEqual(checkInNewProcess(root, f.sha256), { state: 'ok', hashed: false }, 'stat unchanged: trusted');
  flipByte(f.path);
  assert.equal(checkInNewProcess(root, f.sha256).state, 'damaged', 'stat changed since the record: hashed, refused');

  rmSync(cache.verificationPath(f.sha256));
  flipByte(f.path); // back to the original bytes, but with no record
  assert.deepEqual(checkInNewProcess(root, f.sha256), { state: 'ok', hashed: true }, 'no record: hashed in full');
});

test('cachedBlob: online a damaged blob is dropped for a fetch; offline it is refused with what to do', async () => {
  const dir = tempDir();
  const events: SourceEvent[] = [];
  const online = sourceContext({ cacheDir: join(dir, 'cache'), cwd: dir, onEvent: (e) => events.push(e) });
  const f = await online.cache.putBytes(bytes());
  flipByte(f.path);
  const offline = { ...online, offline: true, fetchCommand: 'graft zoo pull tiny.model' };
  await assert.rejects(cachedBlob(offline, f.sha256, f.size, 'npm:x@1.0.0/m.onnx'), (e: unknown) => {
    assert.ok(e instanceof GraftError && e.code === 'INTEGRITY', String(e));
    assert.match(e.message, /cached copy of npm:x@1\.0\.0\/m\.onnx is damaged/);
    assert.match(e.message, /`graft zoo pull tiny\.model` once without --offline/);
    assert.match(e.message, /`graft cache verify`[\s\S]*`graft cache clean --damaged`/);
    assert.equal(e.fields.file, f.path);
    return true;
  });
  assert.ok(existsSync(f.path), 'offline, the damaged blob is left for the user to inspect');
  assert.equal(await cachedBlob(online, f.sha256, f.size, 'npm:x@1.0.0/m.onnx'), undefined);
  assert.equal(existsSync(f.path), false, 'online, it is removed so the fetch replaces it');
  assert.deepEqual(
    events.map((e) => e.type === 'cache-damaged' && e.action),
    ['refused', 'refetch'],
  );

  const g = await online.cache.putBytes(bytes().map((v) => v ^ 3));
  flipByte(g.path);
  assert.equal(await cachedBlob(offline, g.sha256, g.size, 'm (converted)', { rebuildable: true }), undefined);
  assert.equal(existsSync(g.path), false, 'a conversion is made again, offline too');
});

test('loadPulledModel hashes the bytes it reads: a blob changed behind a forged record is refused', async () => {
  const b = new GraphBuilder('g');
  const x = b.input('x', 'float32', [1, 4]);
  b.output(b.op('Mul', [x, b.initializer('w', new Float32Array(4).fill(0.25), [4])]), 'float32', [1, 4]);
  const cache = new ContentCache(tempDir());
  const f = await cache.putBytes(encodeModel(b.build()));
  await loadPulledModel({ modelPath: f.path, sha256: f.sha256, externalData: {} });
  flipByte(f.path, f.size - 3);
  // someone rewrites the record to match the new stat: the stat shortcut is fooled, the load is not
  const { statSync, writeFileSync } = await import('node:fs');
  const st = statSync(f.path, { bigint: true });
  const key = `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
  writeFileSync(cache.verificationPath(f.sha256), JSON.stringify({ sha256: f.sha256, stat: key }));
  assert.equal((await new ContentCache(cache.root).check(f.sha256)).state, 'ok', 'the forged record is trusted');
  await assert.rejects(
    loadPulledModel({ modelPath: f.path, sha256: f.sha256, externalData: {} }),
    (e: unknown) => e instanceof GraftError && e.code === 'INTEGRITY' && e.fields.file === f.path,
  );
  assert.equal(existsSync(cache.verificationPath(f.sha256)), false, 'the record is dropped: the next use hashes it');
});
