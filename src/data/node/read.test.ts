import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { GraftError } from '../../errors.js';
import { readBounded, readDataFile, readHead } from './read.js';
import { put, tempDir } from './test-utils/images.js';

let dir: string;
let cleanup: () => void;
before(() => ({ dir, cleanup } = tempDir()));
after(() => cleanup());

// Each of these hangs or exhausts memory without the defence, so each test has a short timeout.
const quick = { timeout: 10_000 };

test('a regular file within the limit is read whole; an empty one is refused as empty', quick, async () => {
  const f = put(join(dir, 'ok.bin'), Buffer.from('hello bytes'));
  const r = await readBounded(f, 100);
  assert.ok('bytes' in r);
  assert.equal(r.bytes.toString(), 'hello bytes');
  assert.deepEqual(await readBounded(put(join(dir, 'empty.bin'), ''), 100), {
    refused: { kind: 'empty-file', detail: '0 bytes' },
  });
  const missing = await readBounded(join(dir, 'nope'), 100);
  assert.deepEqual(missing, { refused: { kind: 'unreadable', detail: 'ENOENT' } });
});

test('a FIFO is refused at once, never opened for a blocking read', quick, async () => {
  const fifo = join(dir, 'x.png');
  execFileSync('mkfifo', [fifo]);
  const r = await readBounded(fifo, 1 << 20);
  assert.ok('refused' in r);
  assert.equal(r.refused.kind, 'not-a-file');
  assert.match(r.refused.detail, /FIFO/);
});

test('a symlink to /dev/zero is refused as a character device', quick, async () => {
  const link = join(dir, 'z.png');
  symlinkSync('/dev/zero', link);
  const r = await readBounded(link, 1 << 20);
  assert.ok('refused' in r);
  assert.equal(r.refused.kind, 'not-a-file');
  assert.match(r.refused.detail, /character device/);
});

test('a file over the limit is refused from its size, without reading it', quick, async () => {
  const big = join(dir, 'big.bin');
  writeFileSync(big, '');
  truncateSync(big, 10 * 1024 ** 3); // sparse: 10 GiB that take no disk
  const r = await readBounded(big, 64 * 1024 * 1024);
  assert.ok('refused' in r);
  assert.equal(r.refused.kind, 'too-large');
  assert.match(r.refused.detail, /^10 GiB, over the 64 MiB limit/);
});

test('a file that holds more than its size says is read only up to the limit', quick, async () => {
  // procfs files are regular files of size 0 whose contents appear as they are read, like a file growing
  // during the read: the reader must stop one byte past the limit, whatever stat said
  const r = await readBounded('/proc/self/maps', 64);
  assert.ok('refused' in r);
  assert.equal(r.refused.kind, 'too-large');
  assert.match(r.refused.detail, /^65 bytes, over the 64 bytes limit/);
  const whole = await readBounded('/proc/self/maps', 1 << 20);
  assert.ok('bytes' in whole && whole.bytes.length > 64);
});

test('readDataFile turns a refusal into a GraftError naming the file and the reason', quick, async () => {
  const fifo = join(dir, 'pipe.jpg');
  execFileSync('mkfifo', [fifo]);
  await assert.rejects(readDataFile(fifo, 1000, 'Image'), (e: unknown) => {
    assert.ok(e instanceof GraftError && e.code === 'BAD_INPUT');
    assert.match(e.message, /^Image not read: a FIFO \(named pipe\), not a regular file \[file .*pipe\.jpg\]/);
    return true;
  });
  const f = put(join(dir, 'five.bin'), '12345');
  await assert.rejects(readDataFile(f, 4), /5 bytes, over the 4 bytes limit[\s\S]*--max-file-mb/);
});

test('readHead reads the start of a regular file of any size and refuses special files', quick, async () => {
  const f = put(join(dir, 'table.csv'), 'path,label\na.png,cat\n');
  const head = await readHead(f, 5);
  assert.ok('bytes' in head && head.bytes.toString() === 'path,');
  const all = await readHead(f, 1000);
  assert.ok('bytes' in all && all.bytes.toString() === 'path,label\na.png,cat\n');
  const fifo = join(dir, 'head.csv');
  execFileSync('mkfifo', [fifo]);
  const r = await readHead(fifo, 100);
  assert.ok('refused' in r && r.refused.kind === 'not-a-file');
  const z = await readHead('/dev/zero', 100);
  assert.ok('refused' in z && /character device/.test(z.refused.detail));
});
