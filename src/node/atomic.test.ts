import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GraftError } from '../errors.js';
import { writeFileAtomic, writeFileAtomicAsync } from './atomic.js';

test('sync and async atomic writes: chunks in order, folder created (sync only), dead writers cleaned up', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'graft-atomic-'));
  try {
    const path = join(dir, 'sub/out.bin');
    writeFileAtomic(path, [new Uint8Array([1, 2]), new Uint8Array(0), new Uint8Array([3])]);
    assert.deepEqual([...readFileSync(path)], [1, 2, 3]);
    // no Linux pid exceeds 2^22 = 4194304, so 4194999 is a writer that is gone; our parent process is alive
    const dead = '.out.bin.4194999.deadbeef.tmp';
    const live = `.out.bin.${process.ppid}.cafe.tmp`;
    const other = '.other.bin.4194999.deadbeef.tmp';
    for (const n of [dead, live, other]) writeFileSync(join(dir, 'sub', n), 'half');
    writeFileAtomic(path, new Uint8Array([4]));
    assert.deepEqual(readdirSync(join(dir, 'sub')).sort(), [live, other, 'out.bin'].sort());
    writeFileSync(join(dir, 'sub', dead), 'half');
    await writeFileAtomicAsync(path, new Uint8Array([5, 6]));
    assert.deepEqual([...readFileSync(path)], [5, 6]);
    assert.deepEqual(readdirSync(join(dir, 'sub')).sort(), [live, other, 'out.bin'].sort());
    await assert.rejects(
      writeFileAtomicAsync(join(dir, 'missing/x'), new Uint8Array(1)),
      (e: unknown) => e instanceof GraftError && e.code === 'IO' && e.fields.file === join(dir, 'missing/x'),
    );
    writeFileSync(join(dir, 'file'), '');
    assert.throws(
      () => writeFileAtomic(join(dir, 'file/x'), new Uint8Array(1)),
      (e: unknown) => e instanceof GraftError && e.code === 'IO',
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
