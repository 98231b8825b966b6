import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { crc32 as nodeCrc32 } from 'node:zlib';
import { crc32, zipStore } from './zip.js';

const join8 = (parts: Uint8Array[]) => Buffer.concat(parts.map((p) => Buffer.from(p.buffer, p.byteOffset, p.length)));

/** Reads a stored zip through its central directory, as unzip does, checking every CRC with zlib's. */
function readZip(zip: Buffer): Map<string, Buffer> {
  const end = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  assert.ok(end >= 0, 'no end of central directory record');
  const count = zip.readUInt16LE(end + 10);
  let at = zip.readUInt32LE(end + 16);
  const out = new Map<string, Buffer>();
  for (let i = 0; i < count; i++) {
    assert.equal(zip.readUInt32LE(at), 0x02014b50, 'central directory entry signature');
    assert.equal(zip.readUInt16LE(at + 10), 0, 'stored');
    const crc = zip.readUInt32LE(at + 16);
    const size = zip.readUInt32LE(at + 24);
    const nameLen = zip.readUInt16LE(at + 28);
    const extraLen = zip.readUInt16LE(at + 30);
    const commentLen = zip.readUInt16LE(at + 32);
    const local = zip.readUInt32LE(at + 42);
    const name = zip.subarray(at + 46, at + 46 + nameLen).toString('utf8');
    assert.equal(zip.readUInt32LE(local), 0x04034b50, `local header of ${name}`);
    const dataAt = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    const data = zip.subarray(dataAt, dataAt + size);
    assert.equal(nodeCrc32(data), crc, `CRC of ${name}`);
    out.set(name, data);
    at += 46 + nameLen + extraLen + commentLen;
  }
  return out;
}

test('crc32 agrees with zlib', () => {
  for (const s of ['', 'a', 'The quick brown fox jumps over the lazy dog']) {
    const b = new TextEncoder().encode(s);
    assert.equal(crc32(b), nodeCrc32(b), JSON.stringify(s));
  }
  const big = Uint8Array.from({ length: 100_000 }, (_, i) => (i * 31) & 255);
  assert.equal(crc32(big), nodeCrc32(big));
});

test('a stored zip holds every entry byte for byte, UTF-8 names included', () => {
  const files = new Map<string, Uint8Array>([
    ['config.json', new TextEncoder().encode('{"id2label":{"0":"<b>\\"x\\"</b>"}}\n')],
    ['onnx/model.onnx', Uint8Array.from({ length: 70_000 }, (_, i) => (i * 7) & 255)],
    ['klasse-ü/€.txt', new Uint8Array(0)],
  ]);
  const zip = join8(zipStore([...files].map(([path, bytes]) => ({ path, bytes }))));
  const read = readZip(zip);
  assert.deepEqual([...read.keys()], [...files.keys()]);
  for (const [k, v] of files) assert.deepEqual(new Uint8Array(read.get(k)!), v, k);
  // the same files make the same archive (fixed timestamps)
  assert.deepEqual(join8(zipStore([...files].map(([path, bytes]) => ({ path, bytes })))), zip);
  // and the system's unzip, where there is one, agrees
  const unzip = spawnSync('unzip', ['-v'], { encoding: 'utf8' });
  if (unzip.status === 0) {
    const dir = mkdtempSync(join(tmpdir(), 'graft-zip-'));
    try {
      writeFileSync(join(dir, 'a.zip'), zip);
      const t = spawnSync('unzip', ['-t', join(dir, 'a.zip')], { encoding: 'utf8' });
      assert.equal(t.status, 0, t.stdout + t.stderr);
      assert.match(t.stdout, /No errors detected/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
});

test('entry paths that could climb out of the folder they unpack to are refused', () => {
  for (const path of ['/etc/passwd', '../x', 'a/../../x', 'a//b', '', 'a/./b']) {
    assert.throws(() => zipStore([{ path, bytes: new Uint8Array(1) }]), /relative path/, JSON.stringify(path));
  }
  assert.throws(
    () =>
      zipStore([
        { path: 'a', bytes: new Uint8Array(1) },
        { path: 'a', bytes: new Uint8Array(1) },
      ]),
    /share a path/,
  );
});
